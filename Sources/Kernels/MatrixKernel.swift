import CKernelSupport

/// The matrix kernel behind `QuantizedMatrix.multiply`.
///
/// One arithmetic for every output element y = dot(W[r], x[j]): with w_g the 16 decoded weights
/// of group g (exactly `Dequantize`'s floats), `acc = 0; for g in order: acc = fma(w_g, x_g, acc)`,
/// then `y = Dot.horizontalSum(acc)`. Two schedules compute it:
/// - up to `fusedInputLimit` input rows (decoding, small trees): four weight rows at a time are
///   decoded in registers and fed straight into the accumulators of up to four inputs (block
///   formats of `BlockFormats.swift`);
/// - larger batches (and the other encodings): four weight rows are decoded once into a float
///   scratch, then 4 x 4 register tiles run over the inputs, so decoding is paid once per batch.
/// Both give bitwise the same result, so a token's logits do not depend on its batch.
@usableFromInline
enum MatrixKernel {
    static let rowTile = 4
    /// How many rows ahead of the current tile the decode schedule prefetches (hardware
    /// prefetchers stop at 4 KiB page boundaries; 16 measured better than 8 on this machine).
    static let prefetchRows = 16
    /// Up to this many input rows, weights are decoded in registers (once per 4 inputs); beyond
    /// it, once into a scratch for the whole batch.
    static let fusedInputLimit = 8

    static func run(
        _ m: QuantizedMatrix, x: UnsafePointer<Float>, count: Int, y: UnsafeMutablePointer<Float>,
        outputStride: Int, rowRange: Range<Int>, pool: ThreadPool
    ) {
        if count <= fusedInputLimit {
            switch m.type {
            case .q8_0: return decodeSchedule(Q8_0Format.self, m, x, count, y, outputStride, rowRange, pool)
            case .q4_0: return decodeSchedule(Q4_0Format.self, m, x, count, y, outputStride, rowRange, pool)
            case .q5_0: return decodeSchedule(Q5_0Format.self, m, x, count, y, outputStride, rowRange, pool)
            case .q4_K: return decodeSchedule(Q4_KFormat.self, m, x, count, y, outputStride, rowRange, pool)
            case .q6_K: return decodeSchedule(Q6_KFormat.self, m, x, count, y, outputStride, rowRange, pool)
            default: break
            }
        }
        batchSchedule(m, x, count, y, outputStride, rowRange, pool)
    }

    // MARK: Few inputs: decode in registers

    static func decodeSchedule<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ count: Int, _ y: UnsafeMutablePointer<Float>,
        _ outputStride: Int, _ rowRange: Range<Int>, _ pool: ThreadPool
    ) {
        let columns = m.columns
        pool.parallelFor(count: rowRange.count, granularity: rowTile) { local in
            var row = rowRange.lowerBound + local.lowerBound
            let end = rowRange.lowerBound + local.upperBound
            if m.isStreamed {
                // The tiles prefetch `prefetchRows` rows ahead; start the first ones now.
                let first = m.data + row * m.rowBytes
                for offset in stride(from: 0, to: min(prefetchRows, end - row) * m.rowBytes, by: 64) {
                    ppd_prefetch(first + offset)
                }
            }
            while row + rowTile <= end {
                let out = y + (row - rowRange.lowerBound)
                var j = 0
                while j < count {
                    let inputs = min(4, count - j)
                    if inputs == 1 {
                        fusedFourRows(F.self, m, row, x + j * columns, out + j * outputStride)
                    } else {
                        fusedFourByFour(F.self, m, row, x + j * columns, inputs, out + j * outputStride, outputStride)
                    }
                    j += inputs
                }
                row += rowTile
            }
            while row < end {
                for j in 0..<count {
                    y[j * outputStride + row - rowRange.lowerBound] = fusedOneRow(F.self, m, row, x + j * columns)
                }
                row += 1
            }
        }
    }

    /// Four weight rows with `inputs` (2...4) input rows, weights decoded once. Missing inputs
    /// repeat the last one and their results are dropped.
    @inline(__always)
    static func fusedFourByFour<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>, _ inputs: Int,
        _ out: UnsafeMutablePointer<Float>, _ stride: Int
    ) {
        typealias Four = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
        let groups = F.blockSize / 16
        let rowBytes = m.rowBytes
        let columns = m.columns
        let streaming = m.isStreamed
        let base = m.data + row * rowBytes
        let x0 = x, x1 = x + min(1, inputs - 1) * columns
        let x2 = x + min(2, inputs - 1) * columns, x3 = x + min(3, inputs - 1) * columns
        let zero = SIMD16<Float>()
        var a: (Four, Four, Four, Four) = ((zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero))
        for b in 0..<columns / F.blockSize {
            let o = b * F.blockBytes
            if streaming { for r in 0..<4 { ppd_prefetch(base + (r + prefetchRows) * rowBytes + o) } }
            let s0 = F.scales(base + o), s1 = F.scales(base + rowBytes + o)
            let s2 = F.scales(base + 2 * rowBytes + o), s3 = F.scales(base + 3 * rowBytes + o)
            for g in 0..<groups {
                let e = 16 * (b * groups + g)
                let v0 = Dot.load(x0 + e), v1 = Dot.load(x1 + e), v2 = Dot.load(x2 + e), v3 = Dot.load(x3 + e)
                @inline(__always) func step(_ w: SIMD16<Float>, _ acc: inout Four) {
                    acc.0 = acc.0.addingProduct(w, v0)
                    acc.1 = acc.1.addingProduct(w, v1)
                    acc.2 = acc.2.addingProduct(w, v2)
                    acc.3 = acc.3.addingProduct(w, v3)
                }
                step(F.weights(base + o, s0, g), &a.0)
                step(F.weights(base + rowBytes + o, s1, g), &a.1)
                step(F.weights(base + 2 * rowBytes + o, s2, g), &a.2)
                step(F.weights(base + 3 * rowBytes + o, s3, g), &a.3)
            }
        }
        @inline(__always) func write(_ r: Int, _ acc: Four) {
            out[r] = Dot.horizontalSum(acc.0)
            out[stride + r] = Dot.horizontalSum(acc.1)
            if inputs > 2 { out[2 * stride + r] = Dot.horizontalSum(acc.2) }
            if inputs > 3 { out[3 * stride + r] = Dot.horizontalSum(acc.3) }
        }
        write(0, a.0)
        write(1, a.1)
        write(2, a.2)
        write(3, a.3)
    }

    /// Four weight rows with one input row, weights decoded in registers.
    @inline(__always)
    static func fusedFourRows<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>
    ) {
        let groups = F.blockSize / 16
        let rowBytes = m.rowBytes
        let streaming = m.isStreamed
        let base0 = m.data + row * rowBytes, base1 = base0 + rowBytes
        let base2 = base1 + rowBytes, base3 = base2 + rowBytes
        var acc0 = SIMD16<Float>(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        for b in 0..<m.columns / F.blockSize {
            let o = b * F.blockBytes
            if streaming {
                let ahead = prefetchRows * rowBytes + o
                ppd_prefetch(base0 + ahead)
                ppd_prefetch(base1 + ahead)
                ppd_prefetch(base2 + ahead)
                ppd_prefetch(base3 + ahead)
            }
            let s0 = F.scales(base0 + o), s1 = F.scales(base1 + o)
            let s2 = F.scales(base2 + o), s3 = F.scales(base3 + o)
            for g in 0..<groups {
                let xg = Dot.load(x + 16 * (b * groups + g))
                acc0 = acc0.addingProduct(F.weights(base0 + o, s0, g), xg)
                acc1 = acc1.addingProduct(F.weights(base1 + o, s1, g), xg)
                acc2 = acc2.addingProduct(F.weights(base2 + o, s2, g), xg)
                acc3 = acc3.addingProduct(F.weights(base3 + o, s3, g), xg)
            }
        }
        out[0] = Dot.horizontalSum(acc0)
        out[1] = Dot.horizontalSum(acc1)
        out[2] = Dot.horizontalSum(acc2)
        out[3] = Dot.horizontalSum(acc3)
    }

    @inline(__always)
    static func fusedOneRow<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ row: Int, _ x: UnsafePointer<Float>
    ) -> Float {
        let groups = F.blockSize / 16
        let base = m.data + row * m.rowBytes
        var acc = SIMD16<Float>()
        for b in 0..<m.columns / F.blockSize {
            let block = base + b * F.blockBytes
            let scales = F.scales(block)
            for g in 0..<groups {
                acc = acc.addingProduct(F.weights(block, scales, g), Dot.load(x + 16 * (b * groups + g)))
            }
        }
        return Dot.horizontalSum(acc)
    }

    // MARK: Batches: decode once into a scratch, then register tiles

    static func batchSchedule(
        _ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ count: Int, _ y: UnsafeMutablePointer<Float>,
        _ outputStride: Int, _ rowRange: Range<Int>, _ pool: ThreadPool
    ) {
        let columns = m.columns
        pool.parallelFor(count: rowRange.count, granularity: rowTile) { local in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowTile * columns) { scratch in
                let w = scratch.baseAddress!
                var start = local.lowerBound
                while start < local.upperBound {
                    let rows = min(rowTile, local.upperBound - start)
                    if m.isStreamed {
                        // Fetch the tile `prefetchRows` rows ahead while this one is decoded and used.
                        let ahead = m.data + (rowRange.lowerBound + start + prefetchRows) * m.rowBytes
                        let end = m.data + rowRange.upperBound * m.rowBytes
                        var line = ahead
                        while line < min(ahead + rowTile * m.rowBytes, end) {
                            ppd_prefetch(line)
                            line += 64
                        }
                    }
                    for r in 0..<rows { m.decodeRow(rowRange.lowerBound + start + r, into: w + r * columns) }
                    let out = y + start
                    if rows == rowTile {
                        var j = 0
                        while j + 4 <= count {
                            fourByFour(w, x + j * columns, columns, out + j * outputStride, outputStride)
                            j += 4
                        }
                        while j < count {
                            fourByOne(w, x + j * columns, columns, out + j * outputStride)
                            j += 1
                        }
                    } else {
                        for r in 0..<rows {
                            for j in 0..<count {
                                out[j * outputStride + r] = oneByOne(w + r * columns, x + j * columns, columns)
                            }
                        }
                    }
                    start += rows
                }
            }
        }
    }

    /// out[i * stride + r] = dot(w_r, x_i) for 4 rows of `w` and 4 inputs of `x` (both stride `columns`).
    @inline(__always)
    static func fourByFour(
        _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ columns: Int, _ out: UnsafeMutablePointer<Float>,
        _ stride: Int
    ) {
        typealias Four = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
        let zero = SIMD16<Float>()
        var a: (Four, Four, Four, Four) = ((zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero), (zero, zero, zero, zero))
        var e = 0
        while e < columns {
            let x0 = Dot.load(x + e), x1 = Dot.load(x + columns + e)
            let x2 = Dot.load(x + 2 * columns + e), x3 = Dot.load(x + 3 * columns + e)
            @inline(__always) func row(_ r: Int, _ acc: inout Four) {
                let wr = Dot.load(w + r * columns + e)
                acc.0 = acc.0.addingProduct(wr, x0)
                acc.1 = acc.1.addingProduct(wr, x1)
                acc.2 = acc.2.addingProduct(wr, x2)
                acc.3 = acc.3.addingProduct(wr, x3)
            }
            row(0, &a.0)
            row(1, &a.1)
            row(2, &a.2)
            row(3, &a.3)
            e += 16
        }
        @inline(__always) func write(_ r: Int, _ acc: Four) {
            out[r] = Dot.horizontalSum(acc.0)
            out[stride + r] = Dot.horizontalSum(acc.1)
            out[2 * stride + r] = Dot.horizontalSum(acc.2)
            out[3 * stride + r] = Dot.horizontalSum(acc.3)
        }
        write(0, a.0)
        write(1, a.1)
        write(2, a.2)
        write(3, a.3)
    }

    /// out[r] = dot(w_r, x) for 4 rows of `w` (stride `columns`).
    @inline(__always)
    static func fourByOne(
        _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ columns: Int, _ out: UnsafeMutablePointer<Float>
    ) {
        var acc0 = SIMD16<Float>(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var e = 0
        while e < columns {
            let xe = Dot.load(x + e)
            acc0 = acc0.addingProduct(Dot.load(w + e), xe)
            acc1 = acc1.addingProduct(Dot.load(w + columns + e), xe)
            acc2 = acc2.addingProduct(Dot.load(w + 2 * columns + e), xe)
            acc3 = acc3.addingProduct(Dot.load(w + 3 * columns + e), xe)
            e += 16
        }
        out[0] = Dot.horizontalSum(acc0)
        out[1] = Dot.horizontalSum(acc1)
        out[2] = Dot.horizontalSum(acc2)
        out[3] = Dot.horizontalSum(acc3)
    }

    @inline(__always)
    static func oneByOne(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD16<Float>()
        var e = 0
        while e < columns {
            acc = acc.addingProduct(Dot.load(w + e), Dot.load(x + e))
            e += 16
        }
        return Dot.horizontalSum(acc)
    }
}
