import CKernelSupport

/// The matrix kernel behind `QuantizedMatrix.multiply`.
///
/// One arithmetic for every output element y = dot(W[r], x[j]): with w_g the 16 decoded weights
/// of group g (exactly `Dequantize`'s floats), `acc = 0; for g in order: acc = fma(w_g, x_g, acc)`,
/// then `y = Dot.horizontalSum(acc)`. Two schedules compute it:
/// - up to `fusedInputLimit` input rows (decoding, verification trees): weights are decoded in
///   registers (block formats of `BlockFormats.swift`) and fed straight into the accumulators of
///   all the inputs of a register tile: one input, 4 rows; 2...6 inputs, a 4 x n tile; 7...12, two
///   2 x n tiles; 13...16, two chunks of inputs (so weights are decoded once per chunk of at most
///   `tileInputLimit` inputs, not once per 4 inputs as before: on the 2-core Xeon, with the
///   machine shared and noisy, the Q8_0 output layer 262144 x 640 took 0.73-0.84 of the time at
///   16 inputs, 0.81-0.91 at 8 and 0.85 at 2, and a 256 x 640 Q8_0 matrix at 4 inputs 1.1);
/// - larger batches (and the other encodings): four weight rows are decoded once into a float
///   scratch, then 4 x 4 register tiles run over the inputs, so decoding is paid once per batch
///   (measured faster than register tiles from 24 inputs on).
/// Both give bitwise the same result, so a token's logits do not depend on its batch.
@usableFromInline
enum MatrixKernel {
    static let rowTile = 4
    /// How many rows ahead of the current tile the decode schedule prefetches (hardware
    /// prefetchers stop at 4 KiB page boundaries; 16 measured better than 8 on this machine).
    static let prefetchRows = 16
    /// Up to this many input rows, weights are decoded in registers (once per chunk of at most
    /// `tileInputLimit` inputs); beyond it, once into a scratch for the whole batch.
    static let fusedInputLimit = 16
    /// Most input rows of one register tile (2 weight rows x 12 inputs = 24 accumulators).
    static let tileInputLimit = 12

    static func run(
        _ m: QuantizedMatrix, x: UnsafePointer<Float>, count: Int, y: UnsafeMutablePointer<Float>,
        outputStride: Int, rowRange: Range<Int>, pool: ThreadPool
    ) {
        guard count > 0, !rowRange.isEmpty else { return }  // nothing to compute (a forward with no logit rows)
        if let packed = m.int8 {
            return packed.multiply(x, count: count, into: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        }
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
        let columns = m.columns, rowBytes = m.rowBytes, streaming = m.isStreamed
        pool.parallelFor(count: rowRange.count, granularity: rowTile) { local in
            var row = rowRange.lowerBound + local.lowerBound
            let end = rowRange.lowerBound + local.upperBound
            if streaming {
                // The tiles prefetch `prefetchRows` rows ahead; start the first ones now.
                let first = m.data + row * rowBytes
                for offset in stride(from: 0, to: min(prefetchRows, end - row) * rowBytes, by: 64) {
                    ppd_prefetch(first + offset)
                }
            }
            if count == 1 {
                while row + rowTile <= end {
                    fusedFourRows(F.self, m, row, x, y + (row - rowRange.lowerBound))
                    row += rowTile
                }
            } else {
                // Input chunks of at most `tileInputLimit`, balanced (16 = 8 + 8, 32 = 11 + 11 + 10).
                let chunks = (count + tileInputLimit - 1) / tileInputLimit
                let chunkInputs = count / chunks, longerChunks = count % chunks
                while row + rowTile <= end {
                    var j = 0
                    for c in 0..<chunks {
                        let inputs = chunkInputs + (c < longerChunks ? 1 : 0)
                        let tile = TileOperands(
                            weights: m.data + row * rowBytes, rowBytes: rowBytes, columns: columns, x: x + j * columns,
                            out: y + (row - rowRange.lowerBound) + j * outputStride, outputStride: outputStride,
                            prefetch: streaming && c == 0)
                        tiles(F.self, tile, inputs)
                        j += inputs
                    }
                    row += rowTile
                }
            }
            while row < end {
                for j in 0..<count {
                    y[j * outputStride + row - rowRange.lowerBound] = fusedOneRow(F.self, m, row, x + j * columns)
                }
                row += 1
            }
        }
    }

    /// The 4 weight rows of `tile` times `inputs` (2...`tileInputLimit`) input rows: one 4 x n
    /// tile up to 6 inputs, else two 2 x n tiles (at most 24 accumulators, so that the decoded
    /// weights, an input vector and the decoding temporaries fit AVX-512's 32 registers beside them).
    @inline(__always)
    static func tiles<F: FusedBlockFormat>(_: F.Type, _ tile: TileOperands, _ inputs: Int) {
        @inline(__always) func two<T: RegisterTile>(_: T.Type) {
            registerTile(F.self, T.self, tile)
            registerTile(F.self, T.self, tile.advanced(rows: 2))
        }
        switch inputs {
        case 2: registerTile(F.self, Tile4x2.self, tile)
        case 3: registerTile(F.self, Tile4x3.self, tile)
        case 4: registerTile(F.self, Tile4x4.self, tile)
        case 5: registerTile(F.self, Tile4x5.self, tile)
        case 6: registerTile(F.self, Tile4x6.self, tile)
        case 7: two(Tile2x7.self)
        case 8: two(Tile2x8.self)
        case 9: two(Tile2x9.self)
        case 10: two(Tile2x10.self)
        case 11: two(Tile2x11.self)
        default: two(Tile2x12.self)
        }
    }

    /// `T.rows` weight rows times `T.inputs` input rows, weights decoded in registers once for
    /// all the inputs: out[k * outputStride + r] = dot(W_r, x_k). With `tile.prefetch`, fetches
    /// the rows `prefetchRows` ahead.
    /// Never inlined: each shape gets its own function and register allocation (inlined into
    /// the dispatch, the accumulators of a 4 x 4 tile were spilled every block).
    @inline(never)
    static func registerTile<F: FusedBlockFormat, T: RegisterTile>(_: F.Type, _: T.Type, _ tile: TileOperands) {
        let groups = F.blockSize / 16
        let rowBytes = tile.rowBytes, columns = tile.columns
        let base = tile.weights, x = tile.x
        let z = RowAccumulators()
        var a = (z, z, z, z, z, z, z, z, z, z, z, z)
        for b in 0..<columns / F.blockSize {
            let o = b * F.blockBytes
            if tile.prefetch { for r in 0..<T.rows { ppd_prefetch(base + (r + prefetchRows) * rowBytes + o) } }
            let s0 = F.scales(base + o)
            let s1 = T.rows > 1 ? F.scales(base + rowBytes + o) : s0
            let s2 = T.rows > 2 ? F.scales(base + 2 * rowBytes + o) : s0
            let s3 = T.rows > 3 ? F.scales(base + 3 * rowBytes + o) : s0
            for g in 0..<groups {
                let e = 16 * (b * groups + g)
                let zero = SIMD16<Float>()
                let w = (
                    F.weights(base + o, s0, g),
                    T.rows > 1 ? F.weights(base + rowBytes + o, s1, g) : zero,
                    T.rows > 2 ? F.weights(base + 2 * rowBytes + o, s2, g) : zero,
                    T.rows > 3 ? F.weights(base + 3 * rowBytes + o, s3, g) : zero)
                @inline(__always) func input(_ k: Int, _ acc: inout RowAccumulators) {
                    if k < T.inputs { acc.add(T.self, w, Dot.load(x + k * columns + e)) }
                }
                input(0, &a.0)
                input(1, &a.1)
                input(2, &a.2)
                input(3, &a.3)
                input(4, &a.4)
                input(5, &a.5)
                input(6, &a.6)
                input(7, &a.7)
                input(8, &a.8)
                input(9, &a.9)
                input(10, &a.10)
                input(11, &a.11)
            }
        }
        let out = tile.out, stride = tile.outputStride
        @inline(__always) func write(_ k: Int, _ acc: RowAccumulators) {
            if k < T.inputs { acc.write(T.self, out + k * stride) }
        }
        write(0, a.0)
        write(1, a.1)
        write(2, a.2)
        write(3, a.3)
        write(4, a.4)
        write(5, a.5)
        write(6, a.6)
        write(7, a.7)
        write(8, a.8)
        write(9, a.9)
        write(10, a.10)
        write(11, a.11)
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

/// What a register tile works on: weight rows from `weights` (`rowBytes` apart, `columns`
/// elements), input rows from `x` (`columns` apart), results to `out` (input k's at
/// `out + k * outputStride`).
struct TileOperands {
    var weights: UnsafeRawPointer
    var rowBytes: Int
    var columns: Int
    var x: UnsafePointer<Float>
    var out: UnsafeMutablePointer<Float>
    var outputStride: Int
    /// Whether to prefetch the rows `MatrixKernel.prefetchRows` ahead.
    var prefetch: Bool

    /// The same operands `rows` weight rows further.
    @inline(__always)
    func advanced(rows: Int) -> TileOperands {
        var next = self
        next.weights += rows * rowBytes
        next.out += rows
        return next
    }
}

/// The shape of a register tile of `MatrixKernel`: `rows` weight rows (1...4) times `inputs`
/// input rows (1...12), one SIMD16 accumulator each. Static, so that each shape compiles to its
/// own loop with every accumulator in a register.
protocol RegisterTile {
    static var rows: Int { get }
    static var inputs: Int { get }
}

enum Tile4x2: RegisterTile { static var rows: Int { 4 }; static var inputs: Int { 2 } }
enum Tile4x3: RegisterTile { static var rows: Int { 4 }; static var inputs: Int { 3 } }
enum Tile4x4: RegisterTile { static var rows: Int { 4 }; static var inputs: Int { 4 } }
enum Tile4x5: RegisterTile { static var rows: Int { 4 }; static var inputs: Int { 5 } }
enum Tile4x6: RegisterTile { static var rows: Int { 4 }; static var inputs: Int { 6 } }
enum Tile2x7: RegisterTile { static var rows: Int { 2 }; static var inputs: Int { 7 } }
enum Tile2x8: RegisterTile { static var rows: Int { 2 }; static var inputs: Int { 8 } }
enum Tile2x9: RegisterTile { static var rows: Int { 2 }; static var inputs: Int { 9 } }
enum Tile2x10: RegisterTile { static var rows: Int { 2 }; static var inputs: Int { 10 } }
enum Tile2x11: RegisterTile { static var rows: Int { 2 }; static var inputs: Int { 11 } }
enum Tile2x12: RegisterTile { static var rows: Int { 2 }; static var inputs: Int { 12 } }

/// The accumulators of one input row against up to four weight rows.
struct RowAccumulators {
    var r0 = SIMD16<Float>(), r1 = SIMD16<Float>(), r2 = SIMD16<Float>(), r3 = SIMD16<Float>()

    /// r_i = fma(w_i, x, r_i) for the tile's rows.
    @inline(__always)
    mutating func add<T: RegisterTile>(
        _: T.Type, _ w: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>), _ x: SIMD16<Float>
    ) {
        r0 = r0.addingProduct(w.0, x)
        if T.rows > 1 { r1 = r1.addingProduct(w.1, x) }
        if T.rows > 2 { r2 = r2.addingProduct(w.2, x) }
        if T.rows > 3 { r3 = r3.addingProduct(w.3, x) }
    }

    /// out[r] = the horizontal sum of row r's accumulator, for the tile's rows (four sums at
    /// once: `Dot.horizontalSums`).
    @inline(__always)
    func write<T: RegisterTile>(_: T.Type, _ out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(out)
        switch T.rows {
        case 4: raw.storeBytes(of: Dot.horizontalSums(r0, r1, r2, r3), as: SIMD4<Float>.self)
        case 2: raw.storeBytes(of: Dot.horizontalSums(r0, r1, r0, r1).lowHalf, as: SIMD2<Float>.self)
        default:
            for (r, sum) in [r0, r1, r2].prefix(T.rows).enumerated() { out[r] = Dot.horizontalSum(sum) }
        }
    }
}
