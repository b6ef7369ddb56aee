import CKernelSupport

/// A streaming schedule for the input gradient of `QuantizedMatrix.multiply`:
/// gradInput[j, c] = sum_r W[r, c] * gradOutput[j, r] (gradOutput: count x rows, gradInput:
/// count x columns, overwritten), proposed as the body of `multiplyTransposed` (Gradients.swift).
///
/// The weights are read once for all `count` gradient rows, in row order, as the forward kernel
/// reads them (prefetching ahead). The rows are split into `chunkCount` contiguous chunks, a
/// number that depends on the shape only (never on the pool); a chunk accumulates into its own
/// count x columns partial sums in Float, element by element one fused multiply-add per weight
/// row in row order, and the partial sums are then added in chunk order. So the result does not
/// depend on the thread count, and the register-decoding path (block formats of
/// `BlockFormats.swift`) and the decodeRow path give bitwise the same floats.
@usableFromInline
enum TransposedKernel {
    /// Weight rows decoded together (each gradient accumulator is loaded and stored once per tile).
    static let rowTile = 4
    /// How many rows ahead the streamed matrices prefetch (as `MatrixKernel.prefetchRows`).
    static let prefetchRows = 16
    /// At most this many floats of partial sums over all chunks.
    static let partialBudget = 1 << 22

    /// Number of row chunks: about one per 128 rows, at most 64, and no more than the partial-sum
    /// budget allows. A function of the shape only.
    static func chunkCount(rows: Int, count: Int, columns: Int) -> Int {
        max(1, min(64, rows / 128, partialBudget / max(1, count * columns)))
    }

    static func run(
        _ m: QuantizedMatrix, _ gradOutput: UnsafePointer<Float>, _ count: Int, _ gradInput: UnsafeMutablePointer<Float>,
        _ pool: ThreadPool, decodeInRegisters: Bool = true
    ) {
        let width = count * m.columns
        guard width > 0 else { return }
        guard m.rows > 0 else {
            gradInput.update(repeating: 0, count: width)
            return
        }
        let chunks = chunkCount(rows: m.rows, count: count, columns: m.columns)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * width)
        defer { partial.deallocate() }
        pool.parallelFor(count: chunks) { range in
            for chunk in range {
                let sums = partial + chunk * width
                sums.update(repeating: 0, count: width)
                let rows = (chunk * m.rows / chunks)..<((chunk + 1) * m.rows / chunks)
                switch m.type {
                case .q8_0 where decodeInRegisters: fused(Q8_0Format.self, m, gradOutput, count, rows, sums)
                case .q4_0 where decodeInRegisters: fused(Q4_0Format.self, m, gradOutput, count, rows, sums)
                case .q5_0 where decodeInRegisters: fused(Q5_0Format.self, m, gradOutput, count, rows, sums)
                case .q4_K where decodeInRegisters: fused(Q4_KFormat.self, m, gradOutput, count, rows, sums)
                case .q6_K where decodeInRegisters: fused(Q6_KFormat.self, m, gradOutput, count, rows, sums)
                default: decoded(m, gradOutput, count, rows, sums)
                }
            }
        }
        // Chunk 0's sums are the start; the others are added in chunk order.
        gradInput.update(from: partial, count: width)
        for chunk in 1..<chunks {
            let sums = partial + chunk * width
            var i = 0
            while i + 16 <= width {
                let v = Dot.load(gradInput + i) + Dot.load(sums + i)
                UnsafeMutableRawPointer(gradInput + i).storeBytes(of: v, as: SIMD16<Float>.self)
                i += 16
            }
            while i < width {
                gradInput[i] += sums[i]
                i += 1
            }
        }
    }

    /// Starts loading the weight rows `prefetchRows` ahead of `row` (for rowTile rows).
    @inline(__always)
    static func prefetch(_ m: QuantizedMatrix, row: Int, end: Int) {
        guard m.isStreamed else { return }
        let ahead = min(row + prefetchRows, end)
        let last = min(ahead + rowTile, end)
        guard ahead < last else { return }
        var line = m.data + ahead * m.rowBytes
        let stop = m.data + last * m.rowBytes
        while line < stop {
            ppd_prefetch(line)
            line += 64
        }
    }

    /// Rows of the chunk in tiles of four, each weight group decoded in registers once and added,
    /// weighted by the four rows' gradients, into every gradient row's partial sums.
    static func fused<F: FusedBlockFormat>(
        _: F.Type, _ m: QuantizedMatrix, _ gradOutput: UnsafePointer<Float>, _ count: Int, _ rows: Range<Int>,
        _ sums: UnsafeMutablePointer<Float>
    ) {
        let groups = F.blockSize / 16
        let columns = m.columns, rowBytes = m.rowBytes, total = m.rows
        var row = rows.lowerBound
        while row + rowTile <= rows.upperBound {
            prefetch(m, row: row, end: rows.upperBound)
            let base0 = m.data + row * rowBytes, base1 = base0 + rowBytes
            let base2 = base1 + rowBytes, base3 = base2 + rowBytes
            for b in 0..<columns / F.blockSize {
                let o = b * F.blockBytes
                let s0 = F.scales(base0 + o), s1 = F.scales(base1 + o)
                let s2 = F.scales(base2 + o), s3 = F.scales(base3 + o)
                for g in 0..<groups {
                    let w0 = F.weights(base0 + o, s0, g), w1 = F.weights(base1 + o, s1, g)
                    let w2 = F.weights(base2 + o, s2, g), w3 = F.weights(base3 + o, s3, g)
                    let e = 16 * (b * groups + g)
                    for j in 0..<count {
                        let d = gradOutput + j * total + row
                        let target = sums + j * columns + e
                        var acc = Dot.load(target)
                        acc = acc.addingProduct(SIMD16(repeating: d[0]), w0)
                        acc = acc.addingProduct(SIMD16(repeating: d[1]), w1)
                        acc = acc.addingProduct(SIMD16(repeating: d[2]), w2)
                        acc = acc.addingProduct(SIMD16(repeating: d[3]), w3)
                        UnsafeMutableRawPointer(target).storeBytes(of: acc, as: SIMD16<Float>.self)
                    }
                }
            }
            row += rowTile
        }
        while row < rows.upperBound {
            let base = m.data + row * rowBytes
            for b in 0..<columns / F.blockSize {
                let block = base + b * F.blockBytes
                let scales = F.scales(block)
                for g in 0..<groups {
                    let w = F.weights(block, scales, g)
                    let e = 16 * (b * groups + g)
                    for j in 0..<count {
                        let target = sums + j * columns + e
                        let acc = Dot.load(target).addingProduct(SIMD16(repeating: gradOutput[j * total + row]), w)
                        UnsafeMutableRawPointer(target).storeBytes(of: acc, as: SIMD16<Float>.self)
                    }
                }
            }
            row += 1
        }
    }

    /// Any encoding: each row decoded with `decodeRow`, then the same sums as `fused` in the same order.
    static func decoded(
        _ m: QuantizedMatrix, _ gradOutput: UnsafePointer<Float>, _ count: Int, _ rows: Range<Int>,
        _ sums: UnsafeMutablePointer<Float>
    ) {
        let columns = m.columns, total = m.rows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { scratch in
            let w = scratch.baseAddress!
            for row in rows {
                if row % rowTile == 0 { prefetch(m, row: row, end: rows.upperBound) }
                m.decodeRow(row, into: w)
                for j in 0..<count {
                    let d = SIMD16(repeating: gradOutput[j * total + row])
                    let target = sums + j * columns
                    var e = 0
                    while e < columns {  // columns is a multiple of 32
                        let acc = Dot.load(target + e).addingProduct(d, Dot.load(w + e))
                        UnsafeMutableRawPointer(target + e).storeBytes(of: acc, as: SIMD16<Float>.self)
                        e += 16
                    }
                }
            }
        }
    }
}
