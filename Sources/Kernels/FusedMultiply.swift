import CKernelSupport

/// The matrix kernel for the block formats of `BlockFormats.swift`.
///
/// Work is tiled as 4 weight rows x up to 4 input rows: each weight group is decoded once per
/// tile and used for every input row of the tile. The arithmetic of one output element is
/// fixed: for each span (`groupsPerScale` groups sharing a scale) in order,
/// `t = q_0 * x_0`, then `t = t + q_1 * x_1` (fused) for a second group, then
/// `acc = acc + scale * t` (fused); for formats with offsets `offsets += offset * sum(x_span)` in
/// scalar order; the result is `horizontalSum(acc) + offsets`. Tiles only change which elements
/// are computed together, never how one is computed.
@usableFromInline
enum FusedMultiply {
    static let rowTile = 4
    static let inputTile = 4
    /// How many rows ahead of the current tile the kernels prefetch (hardware prefetchers stop
    /// at 4 KiB page boundaries; 16 measured better than 8 on this machine).
    static let prefetchRows = 16

    /// y[j * outputStride + r - rowRange.lowerBound] = dot(W[r], x[j]) for r in rowRange.
    static func run<F: FusedBlockFormat>(
        _: F.Type, matrix: QuantizedMatrix, x: UnsafePointer<Float>, count: Int,
        y: UnsafeMutablePointer<Float>, outputStride: Int, rowRange: Range<Int>, pool: ThreadPool
    ) {
        let columns = matrix.columns
        // Sums of each span of each input row, for the offset terms.
        let spanWidth = 16 * F.groupsPerScale
        var groupSums = [Float](repeating: 0, count: F.hasOffset ? count * columns / spanWidth : 1)
        if F.hasOffset {
            for j in 0..<count {
                for span in 0..<columns / spanWidth {
                    let p = x + j * columns + span * spanWidth
                    groupSums[j * columns / spanWidth + span] = Dot.horizontalSum(
                        F.groupsPerScale == 2 ? Dot.load(p) + Dot.load(p + 16) : Dot.load(p))
                }
            }
        }
        groupSums.withUnsafeBufferPointer { sumsBuffer in
            let sums = sumsBuffer.baseAddress!
            let sumStride = columns / spanWidth
            pool.parallelFor(count: rowRange.count, granularity: rowTile) { local in
                var row = rowRange.lowerBound + local.lowerBound
                let end = rowRange.lowerBound + local.upperBound
                if matrix.isStreamed {
                    // The tiles prefetch `prefetchRows` rows ahead; start the first ones now.
                    let first = matrix.data + row * matrix.rowBytes
                    for offset in stride(from: 0, to: min(prefetchRows, end - row) * matrix.rowBytes, by: 64) {
                        ppd_prefetch(first + offset)
                    }
                }
                while row < end {
                    let rows = min(rowTile, end - row)
                    var j = 0
                    while j < count {
                        let inputs = min(inputTile, count - j)
                        let out = y + j * outputStride + (row - rowRange.lowerBound)
                        if rows == 4 && inputs == 4 {
                            tile4x4(F.self, matrix, row, x + j * columns, sums + j * sumStride, out, outputStride)
                        } else if rows == 4 {
                            for i in 0..<inputs {
                                tile4x1(F.self, matrix, row, x + (j + i) * columns, sums + (j + i) * sumStride, out + i * outputStride)
                            }
                        } else {
                            for r in 0..<rows {
                                for i in 0..<inputs {
                                    out[i * outputStride + r] = single(
                                        F.self, matrix, row + r, x + (j + i) * columns, sums + (j + i) * sumStride)
                                }
                            }
                        }
                        j += inputs
                    }
                    row += rows
                }
            }
        }
    }

    /// One output element: weight row `row` with input `x`.
    @inline(__always)
    static func single<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>
    ) -> Float {
        let spans = F.blockSize / 16 / F.groupsPerScale
        var acc = SIMD16<Float>()
        var offsets: Float = 0
        let base = m.data + row * m.rowBytes
        for b in 0..<m.columns / F.blockSize {
            for s in 0..<spans {
                let k = b * spans + s
                let (t, scale, offset) = spanProduct(F.self, base + b * F.blockBytes, s, x + 16 * F.groupsPerScale * k)
                acc = acc.addingProduct(SIMD16(repeating: scale), t)
                if F.hasOffset { offsets += offset * sums[k] }
            }
        }
        return Dot.horizontalSum(acc) + offsets
    }

    /// q * x summed over the groups of span `s` of `block` (lane-wise), with the span's scale and offset.
    @inline(__always)
    static func spanProduct<F: FusedBlockFormat>(
        _: F.Type, _ block: UnsafeRawPointer, _ s: Int, _ x: UnsafePointer<Float>
    ) -> (SIMD16<Float>, Float, Float) {
        let first = F.group(block, s * F.groupsPerScale)
        var t = first.q * Dot.load(x)
        if F.groupsPerScale == 2 {
            t = t.addingProduct(F.group(block, s * 2 + 1).q, Dot.load(x + 16))
        }
        return (t, first.scale, first.offset)
    }

    /// Four output elements: weight rows row..<row+4 with one input x, into out[0..<4].
    @inline(__always)
    static func tile4x1<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>
    ) {
        let spans = F.blockSize / 16 / F.groupsPerScale
        var acc0 = SIMD16<Float>(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var offsets = SIMD4<Float>()
        let rowBytes = m.rowBytes
        let streaming = m.isStreamed
        let base0 = m.data + row * rowBytes, base1 = base0 + rowBytes
        let base2 = base1 + rowBytes, base3 = base2 + rowBytes
        for b in 0..<m.columns / F.blockSize {
            let o = b * F.blockBytes
            if streaming {
                // Hardware prefetchers stop at page boundaries: fetch a later tile's blocks now.
                let ahead = prefetchRows * rowBytes + o
                ppd_prefetch(base0 + ahead)
                ppd_prefetch(base1 + ahead)
                ppd_prefetch(base2 + ahead)
                ppd_prefetch(base3 + ahead)
            }
            for s in 0..<spans {
                let k = b * spans + s
                let xs = x + 16 * F.groupsPerScale * k
                let w0 = spanProduct(F.self, base0 + o, s, xs), w1 = spanProduct(F.self, base1 + o, s, xs)
                let w2 = spanProduct(F.self, base2 + o, s, xs), w3 = spanProduct(F.self, base3 + o, s, xs)
                acc0 = acc0.addingProduct(SIMD16(repeating: w0.1), w0.0)
                acc1 = acc1.addingProduct(SIMD16(repeating: w1.1), w1.0)
                acc2 = acc2.addingProduct(SIMD16(repeating: w2.1), w2.0)
                acc3 = acc3.addingProduct(SIMD16(repeating: w3.1), w3.0)
                if F.hasOffset {
                    offsets += SIMD4(w0.2, w1.2, w2.2, w3.2) * SIMD4(repeating: sums[k])
                }
            }
        }
        out[0] = Dot.horizontalSum(acc0) + offsets[0]
        out[1] = Dot.horizontalSum(acc1) + offsets[1]
        out[2] = Dot.horizontalSum(acc2) + offsets[2]
        out[3] = Dot.horizontalSum(acc3) + offsets[3]
    }

    /// Sixteen output elements: weight rows row..<row+4 with inputs x[0..<4] (stride columns);
    /// out[i * stride + r] gets input i with row r.
    @inline(__always)
    static func tile4x4<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, _ stride: Int
    ) {
        typealias Four = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
        let groups = F.groupsPerScale
        let spans = F.blockSize / 16 / groups
        let columns = m.columns
        let sumStride = columns / (16 * groups)
        let zero = SIMD16<Float>()
        var acc: (Four, Four, Four, Four) = ((zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero))
        var offsets = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
        let rowBytes = m.rowBytes
        let base = m.data + row * rowBytes
        for b in 0..<columns / F.blockSize {
            let o = b * F.blockBytes
            if m.isStreamed { for r in 0..<4 { ppd_prefetch(base + (r + prefetchRows) * rowBytes + o) } }
            for s in 0..<spans {
                let k = b * spans + s
                let e = 16 * groups * k
                let sum = F.hasOffset ? SIMD4(sums[k], sums[sumStride + k], sums[2 * sumStride + k], sums[3 * sumStride + k]) : SIMD4()
                @inline(__always) func step(_ r: Int, _ a: inout Four, _ off: inout SIMD4<Float>) {
                    let block = base + r * rowBytes + o
                    let first = F.group(block, s * groups)
                    var t0 = first.q * Dot.load(x + e), t1 = first.q * Dot.load(x + columns + e)
                    var t2 = first.q * Dot.load(x + 2 * columns + e), t3 = first.q * Dot.load(x + 3 * columns + e)
                    if groups == 2 {
                        let q = F.group(block, s * 2 + 1).q
                        t0 = t0.addingProduct(q, Dot.load(x + e + 16))
                        t1 = t1.addingProduct(q, Dot.load(x + columns + e + 16))
                        t2 = t2.addingProduct(q, Dot.load(x + 2 * columns + e + 16))
                        t3 = t3.addingProduct(q, Dot.load(x + 3 * columns + e + 16))
                    }
                    let scale = SIMD16<Float>(repeating: first.scale)
                    a.0 = a.0.addingProduct(scale, t0)
                    a.1 = a.1.addingProduct(scale, t1)
                    a.2 = a.2.addingProduct(scale, t2)
                    a.3 = a.3.addingProduct(scale, t3)
                    if F.hasOffset { off += SIMD4(repeating: first.offset) * sum }
                }
                step(0, &acc.0, &offsets.0)
                step(1, &acc.1, &offsets.1)
                step(2, &acc.2, &offsets.2)
                step(3, &acc.3, &offsets.3)
            }
        }
        @inline(__always) func write(_ r: Int, _ a: Four, _ off: SIMD4<Float>) {
            out[r] = Dot.horizontalSum(a.0) + off[0]
            out[stride + r] = Dot.horizontalSum(a.1) + off[1]
            out[2 * stride + r] = Dot.horizontalSum(a.2) + off[2]
            out[3 * stride + r] = Dot.horizontalSum(a.3) + off[3]
        }
        write(0, acc.0, offsets.0)
        write(1, acc.1, offsets.1)
        write(2, acc.2, offsets.2)
        write(3, acc.3, offsets.3)
    }
}
