import Foundation

/// Scaled dot-product attention of a batch of queries over stored keys and values.
public enum Attention {
    /// For each query row i and head h: out = sum_s softmax_s(scale * q.k_s) v_s over the slots s
    /// in `0..<slotCount` with `visible(i, s)`, visited in slot order (a fixed order, so a query's
    /// result depends only on the keys it sees, not on the batch around it).
    ///
    /// - q: queries x (heads * headDim); keys, values: slots x (kvHeads * headDim);
    ///   out: queries x (heads * headDim). Head h reads kv head h / (heads / kvHeads).
    public static func run(
        queries q: UnsafePointer<Float>, queryCount: Int, heads: Int, kvHeads: Int, headDim: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, slotCount: Int, scale: Float,
        visible: (Int, Int) -> Bool, out: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let group = heads / kvHeads
        let kvWidth = kvHeads * headDim
        // Short jobs (decoding at short context) run on the calling thread: a hand-off costs more.
        let work = queryCount * heads * slotCount * headDim
        let runner = work < 1 << 17 ? ThreadPool.inline : pool
        runner.parallelFor(count: queryCount * heads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(slotCount, 1)) { weights in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: max(slotCount, 1)) { slots in
                    for task in range {
                        let i = task / heads, h = task % heads
                        let kvHead = h / group
                        let qh = q + i * heads * headDim + h * headDim
                        var seen = 0
                        var maximum = -Float.infinity
                        for s in 0..<slotCount where visible(i, s) {
                            let score = scale * Dot.rowDot(qh, keys + s * kvWidth + kvHead * headDim, headDim)
                            weights[seen] = score
                            slots[seen] = s
                            maximum = max(maximum, score)
                            seen += 1
                        }
                        let o = out + i * heads * headDim + h * headDim
                        o.update(repeating: 0, count: headDim)
                        if seen == 0 { continue }
                        var total: Float = 0
                        for k in 0..<seen {
                            weights[k] = expf(weights[k] - maximum)
                            total += weights[k]
                        }
                        let inverse = 1 / total
                        for k in 0..<seen {
                            let p = SIMD16<Float>(repeating: weights[k] * inverse)
                            let v = values + slots[k] * kvWidth + kvHead * headDim
                            var d = 0
                            while d < headDim {
                                let acc = Dot.load(o + d).addingProduct(p, Dot.load(v + d))
                                UnsafeMutableRawPointer(o + d).storeBytes(of: acc, as: SIMD16<Float>.self)
                                d += 16
                            }
                        }
                    }
                }
            }
        }
    }
}
