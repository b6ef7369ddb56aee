import CKernelSupport

/// The matrix kernel for the block formats of `BlockFormats.swift`.
///
/// Work is tiled as 4 weight rows x up to 4 input rows: each weight group is decoded once per
/// tile and used for every input row of the tile. The arithmetic of one output element is
/// fixed: for each 16-group g in order, `acc = acc + scale_g * (q_g * x_g)` (a rounded product,
/// then a fused multiply-add), and for formats with offsets `offsets += offset_g * sum(x_g)` in
/// scalar order; the result is `horizontalSum(acc) + offsets`. Tiles only change which
/// elements are computed together, never how one is computed.
@usableFromInline
enum FusedMultiply {
    static let rowTile = 4
    static let inputTile = 4
    /// How many rows ahead of the current tile the kernels prefetch (hardware prefetchers stop
    /// at 4 KiB page boundaries; measured best of 8 and 16 on this machine).
    static let prefetchRows = 16

    /// y[j * outputStride + r - rowRange.lowerBound] = dot(W[r], x[j]) for r in rowRange.
    static func run<F: FusedBlockFormat>(
        _: F.Type, matrix: QuantizedMatrix, x: UnsafePointer<Float>, count: Int,
        y: UnsafeMutablePointer<Float>, outputStride: Int, rowRange: Range<Int>, pool: ThreadPool
    ) {
        let columns = matrix.columns
        // Sums of each 16-group of each input row, for the offset terms.
        var groupSums = [Float](repeating: 0, count: F.hasOffset ? count * columns / 16 : 1)
        if F.hasOffset {
            for j in 0..<count {
                for g in 0..<columns / 16 {
                    groupSums[j * columns / 16 + g] = Dot.horizontalSum(Dot.load(x + j * columns + g * 16))
                }
            }
        }
        groupSums.withUnsafeBufferPointer { sumsBuffer in
            let sums = sumsBuffer.baseAddress!
            let sumStride = columns / 16
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
        let groups = F.blockSize / 16
        var acc = SIMD16<Float>()
        var offsets: Float = 0
        let base = m.data + row * m.rowBytes
        for b in 0..<m.columns / F.blockSize {
            for g in 0..<groups {
                let k = b * groups + g
                let (q, scale, offset) = F.group(base + b * F.blockBytes, g)
                acc = acc.addingProduct(SIMD16(repeating: scale), q * Dot.load(x + 16 * k))
                if F.hasOffset { offsets += offset * sums[k] }
            }
        }
        return Dot.horizontalSum(acc) + offsets
    }

    /// Four output elements: weight rows row..<row+4 with one input x, into out[0..<4].
    @inline(__always)
    static func tile4x1<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>
    ) {
        let groups = F.blockSize / 16
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
            for g in 0..<groups {
                let k = b * groups + g
                let xg = Dot.load(x + 16 * k)
                let w0 = F.group(base0 + o, g), w1 = F.group(base1 + o, g)
                let w2 = F.group(base2 + o, g), w3 = F.group(base3 + o, g)
                acc0 = acc0.addingProduct(SIMD16(repeating: w0.scale), w0.q * xg)
                acc1 = acc1.addingProduct(SIMD16(repeating: w1.scale), w1.q * xg)
                acc2 = acc2.addingProduct(SIMD16(repeating: w2.scale), w2.q * xg)
                acc3 = acc3.addingProduct(SIMD16(repeating: w3.scale), w3.q * xg)
                if F.hasOffset {
                    offsets += SIMD4(w0.offset, w1.offset, w2.offset, w3.offset) * SIMD4(repeating: sums[k])
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
        let groups = F.blockSize / 16
        let columns = m.columns
        let sumStride = columns / 16
        let zero = SIMD16<Float>()
        var acc: (Four, Four, Four, Four) = ((zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero))
        var offsets = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
        let rowBytes = m.rowBytes
        let base = m.data + row * rowBytes
        for b in 0..<columns / F.blockSize {
            let o = b * F.blockBytes
            if m.isStreamed { for r in 0..<4 { ppd_prefetch(base + (r + prefetchRows) * rowBytes + o) } }
            for g in 0..<groups {
                let k = b * groups + g
                let e = 16 * k
                let x0 = Dot.load(x + e), x1 = Dot.load(x + columns + e)
                let x2 = Dot.load(x + 2 * columns + e), x3 = Dot.load(x + 3 * columns + e)
                let s = F.hasOffset ? SIMD4(sums[k], sums[sumStride + k], sums[2 * sumStride + k], sums[3 * sumStride + k]) : SIMD4()
                @inline(__always) func step(_ r: Int, _ a: inout Four, _ off: inout SIMD4<Float>) {
                    let w = F.group(base + r * rowBytes + o, g)
                    let scale = SIMD16<Float>(repeating: w.scale)
                    a.0 = a.0.addingProduct(scale, w.q * x0)
                    a.1 = a.1.addingProduct(scale, w.q * x1)
                    a.2 = a.2.addingProduct(scale, w.q * x2)
                    a.3 = a.3.addingProduct(scale, w.q * x3)
                    if F.hasOffset { off += SIMD4(repeating: w.offset) * s }
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
