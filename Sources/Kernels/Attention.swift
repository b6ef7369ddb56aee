import Foundation

/// Scaled dot-product attention of a batch of queries over stored keys and values.
public enum Attention {
    /// For each query row i and head h: out = sum_s softmax_s(scale * q.k_s) v_s over the slots s
    /// in `0..<slotCount` with `visible(i, s)`, visited in slot order (a fixed order, so a query's
    /// result depends only on the keys it sees, not on the batch around it).
    ///
    /// - q: queries x (heads * headDim); keys, values: slots x (kvHeads * headDim);
    ///   out: queries x (heads * headDim). Head h reads kv head h / (heads / kvHeads).
    ///
    /// When there is enough work, the four query heads that share a kv head run together (each
    /// key and value vector loaded once for the four); each head's operations are the same
    /// sequence either way (`Dot.rowDot`'s order for a score, slot order for the weighted sum), so
    /// the result is bitwise the same for any batch or thread split.
    public static func run(
        queries q: UnsafePointer<Float>, queryCount: Int, heads: Int, kvHeads: Int, headDim: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, slotCount: Int, scale: Float,
        visible: (Int, Int) -> Bool, out: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let group = heads / kvHeads
        // Short jobs (decoding at short context) run on the calling thread: a hand-off costs more.
        let work = queryCount * heads * slotCount * headDim
        let runner = work < 1 << 17 ? ThreadPool.inline : pool
        let shared = group == 4 && headDim % 64 == 0 && queryCount * kvHeads >= 2 * runner.threadCount
        let headsPerTask = shared ? 4 : 1
        let layout = Layout(
            heads: heads, kvHeads: kvHeads, headDim: headDim, keys: keys, values: values, slotCount: slotCount,
            scale: scale)
        runner.parallelFor(count: queryCount * heads / headsPerTask) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: headsPerTask * max(slotCount, 1)) { weights in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: max(slotCount, 1)) { slots in
                    for task in range {
                        let i = task * headsPerTask / heads, h = task * headsPerTask % heads
                        var seen = 0
                        for s in 0..<slotCount where visible(i, s) {
                            slots[seen] = s
                            seen += 1
                        }
                        let qh = q + (i * heads + h) * headDim, o = out + (i * heads + h) * headDim
                        let visibleSlots = UnsafePointer(slots.baseAddress!)
                        if shared {
                            layout.fourHeads(qh, kvHead: h / group, slots: visibleSlots, seen: seen, weights: weights.baseAddress!, out: o)
                        } else {
                            layout.oneHead(qh, kvHead: h / group, slots: visibleSlots, seen: seen, weights: weights.baseAddress!, out: o)
                        }
                    }
                }
            }
        }
    }

    /// The attention weights `run` uses, for reading: per query row and head, the softmax over
    /// `slotCount` slots (`queryCount` x `heads` x `slotCount`, 0 where `visible` says no), with
    /// the same scores and normalization as `run`, so the same values bit for bit.
    public static func weights(
        queries q: UnsafePointer<Float>, queryCount: Int, heads: Int, kvHeads: Int, headDim: Int,
        keys: UnsafePointer<Float>, slotCount: Int, scale: Float, visible: (Int, Int) -> Bool
    ) -> [Float] {
        let group = heads / kvHeads, kvWidth = kvHeads * headDim
        var out = [Float](repeating: 0, count: queryCount * heads * slotCount)
        var slots = [Int](repeating: 0, count: max(slotCount, 1))
        var scores = [Float](repeating: 0, count: max(slotCount, 1))
        out.withUnsafeMutableBufferPointer { out in
            for i in 0..<queryCount {
                var seen = 0
                for s in 0..<slotCount where visible(i, s) {
                    slots[seen] = s
                    seen += 1
                }
                guard seen > 0 else { continue }
                for h in 0..<heads {
                    let qh = q + (i * heads + h) * headDim
                    for k in 0..<seen {
                        scores[k] = scale * Dot.rowDot(qh, keys + slots[k] * kvWidth + (h / group) * headDim, headDim)
                    }
                    scores.withUnsafeMutableBufferPointer { Attention.normalize($0.baseAddress!, count: seen) }
                    let base = out.baseAddress! + (i * heads + h) * slotCount
                    for k in 0..<seen { base[slots[k]] = scores[k] }
                }
            }
        }
        return out
    }

    /// The key and value store of one call.
    struct Layout {
        let heads: Int, kvHeads: Int, headDim: Int
        let keys: UnsafePointer<Float>, values: UnsafePointer<Float>
        let slotCount: Int
        let scale: Float

        var kvWidth: Int { kvHeads * headDim }

        /// One head: scores, softmax, weighted sum of values.
        func oneHead(
            _ q: UnsafePointer<Float>, kvHead: Int, slots: UnsafePointer<Int>, seen: Int,
            weights: UnsafeMutablePointer<Float>, out o: UnsafeMutablePointer<Float>
        ) {
            o.update(repeating: 0, count: headDim)
            guard seen > 0 else { return }
            for k in 0..<seen {
                weights[k] = scale * Dot.rowDot(q, keys + slots[k] * kvWidth + kvHead * headDim, headDim)
            }
            Attention.normalize(weights, count: seen)
            for k in 0..<seen {
                let p = SIMD16<Float>(repeating: weights[k])
                let v = values + slots[k] * kvWidth + kvHead * headDim
                var d = 0
                while d < headDim {
                    let acc = Dot.load(o + d).addingProduct(p, Dot.load(v + d))
                    UnsafeMutableRawPointer(o + d).storeBytes(of: acc, as: SIMD16<Float>.self)
                    d += 16
                }
            }
        }

        /// Four consecutive heads `q` (4 x headDim) that read the same kv head: the same
        /// operations per head as `oneHead`, with each key and value vector loaded once.
        func fourHeads(
            _ q: UnsafePointer<Float>, kvHead: Int, slots: UnsafePointer<Int>, seen: Int,
            weights: UnsafeMutablePointer<Float>, out o: UnsafeMutablePointer<Float>
        ) {
            guard seen > 0 else {
                o.update(repeating: 0, count: 4 * headDim)
                return
            }
            let q1 = q + headDim, q2 = q1 + headDim, q3 = q2 + headDim
            let w1 = weights + seen, w2 = w1 + seen, w3 = w2 + seen
            for k in 0..<seen {
                let key = keys + slots[k] * kvWidth + kvHead * headDim
                var e0 = SIMD16<Float>(), e1 = e0, e2 = e0, e3 = e0, d0 = e0, d1 = e0, d2 = e0, d3 = e0
                var i = 0
                while i < headDim {
                    let ke = Dot.load(key + i), ko = Dot.load(key + i + 16)
                    e0 = e0.addingProduct(Dot.load(q + i), ke)
                    d0 = d0.addingProduct(Dot.load(q + i + 16), ko)
                    e1 = e1.addingProduct(Dot.load(q1 + i), ke)
                    d1 = d1.addingProduct(Dot.load(q1 + i + 16), ko)
                    e2 = e2.addingProduct(Dot.load(q2 + i), ke)
                    d2 = d2.addingProduct(Dot.load(q2 + i + 16), ko)
                    e3 = e3.addingProduct(Dot.load(q3 + i), ke)
                    d3 = d3.addingProduct(Dot.load(q3 + i + 16), ko)
                    i += 32
                }
                let sums = Dot.horizontalSums(e0 + d0, e1 + d1, e2 + d2, e3 + d3)
                weights[k] = scale * sums[0]
                w1[k] = scale * sums[1]
                w2[k] = scale * sums[2]
                w3[k] = scale * sums[3]
            }
            Attention.normalize(weights, count: seen)
            Attention.normalize(w1, count: seen)
            Attention.normalize(w2, count: seen)
            Attention.normalize(w3, count: seen)
            // 4 heads x 64 output lanes in registers over all slots, in slot order.
            var d = 0
            while d < headDim {
                var h0 = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
                var h1 = h0, h2 = h0, h3 = h0
                for k in 0..<seen {
                    let v = values + slots[k] * kvWidth + kvHead * headDim + d
                    let v0 = Dot.load(v), v1 = Dot.load(v + 16), v2 = Dot.load(v + 32), v3 = Dot.load(v + 48)
                    let p0 = SIMD16<Float>(repeating: weights[k]), p1 = SIMD16<Float>(repeating: w1[k])
                    let p2 = SIMD16<Float>(repeating: w2[k]), p3 = SIMD16<Float>(repeating: w3[k])
                    h0 = (h0.0.addingProduct(p0, v0), h0.1.addingProduct(p0, v1), h0.2.addingProduct(p0, v2), h0.3.addingProduct(p0, v3))
                    h1 = (h1.0.addingProduct(p1, v0), h1.1.addingProduct(p1, v1), h1.2.addingProduct(p1, v2), h1.3.addingProduct(p1, v3))
                    h2 = (h2.0.addingProduct(p2, v0), h2.1.addingProduct(p2, v1), h2.2.addingProduct(p2, v2), h2.3.addingProduct(p2, v3))
                    h3 = (h3.0.addingProduct(p3, v0), h3.1.addingProduct(p3, v1), h3.2.addingProduct(p3, v2), h3.3.addingProduct(p3, v3))
                }
                Attention.store(h0, at: o + d)
                Attention.store(h1, at: o + headDim + d)
                Attention.store(h2, at: o + 2 * headDim + d)
                Attention.store(h3, at: o + 3 * headDim + d)
                d += 64
            }
        }
    }

    /// Writes 64 floats.
    @inline(__always)
    static func store(
        _ lanes: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>), at pointer: UnsafeMutablePointer<Float>
    ) {
        let out = UnsafeMutableRawPointer(pointer)
        out.storeBytes(of: lanes.0, as: SIMD16<Float>.self)
        out.storeBytes(of: lanes.1, toByteOffset: 64, as: SIMD16<Float>.self)
        out.storeBytes(of: lanes.2, toByteOffset: 128, as: SIMD16<Float>.self)
        out.storeBytes(of: lanes.3, toByteOffset: 192, as: SIMD16<Float>.self)
    }

    /// Scores to softmax weights in place: exp(score - max) / total, summed in slot order.
    @inline(__always)
    static func normalize(_ weights: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for k in 0..<count { maximum = max(maximum, weights[k]) }
        var total: Float = 0
        for k in 0..<count {
            weights[k] = expf(weights[k] - maximum)
            total += weights[k]
        }
        let inverse = 1 / total
        for k in 0..<count { weights[k] *= inverse }
    }
}
