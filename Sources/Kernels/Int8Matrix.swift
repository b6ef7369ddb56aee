import CKernelSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a model's matrix products compute.
public enum MatrixArithmetic: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Weights decoded to float, float activations (`MatrixKernel`): agrees with a float64
    /// reference to about 1e-5 in the logits.
    case float32
    /// Activations quantized to int8 per 32 elements, exact integer dot products (`Int8Matrix`,
    /// on AVX-512 VNNI or AVX2), as llama.cpp does on CPUs: several times faster, logits within a
    /// few tenths of the float64 reference. Matrices of other encodings stay on float.
    case int8

    public var description: String { rawValue }

    /// Whether this CPU runs an int8 kernel (AVX-512 VNNI, or AVX2 with FMA).
    public static var isInt8Available: Bool { Int8Kernel.preferred != nil }

    /// `.int8` where the CPU has the instructions, else `.float32`.
    public static var fastest: MatrixArithmetic { isInt8Available ? .int8 : .float32 }
}

/// The instructions an `Int8Matrix` product runs on. Every kernel gives bitwise the same results
/// (exact integer sums, then one fixed sequence of float steps: `PPDInt8.h`), so the choice is
/// about speed only.
public enum Int8Kernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 256-bit `vpmaddubsw` + `vpmaddwd` (x86-64 since Haswell / Zen).
    case avx2
    /// 512-bit `vpdpbusd` (Ice Lake, Sapphire Rapids, Zen 4 and later).
    case avx512vnni = "avx512-vnni"

    public var description: String { rawValue }

    var cValue: ppd_i8_kernel {
        switch self {
        case .avx2: return PPD_I8_AVX2
        case .avx512vnni: return PPD_I8_AVX512_VNNI
        }
    }

    /// Whether this CPU runs the kernel.
    public var isSupported: Bool { ppd_i8_supported(cValue) != 0 }

    /// The environment variable that forces a kernel (`avx2` or `avx512-vnni`), for side-by-side
    /// measurements and for testing the fallback on a CPU that has the faster one.
    public static let environmentKey = "PPD_INT8_KERNEL"

    /// The kernel products use: `PPD_INT8_KERNEL` when it names a supported kernel, else the
    /// fastest supported one; nil when the CPU has neither (int8 arithmetic is then unavailable).
    public static var preferred: Int8Kernel? {
        if let name = ProcessInfo.processInfo.environment[environmentKey], let forced = Int8Kernel(rawValue: name) {
            return forced.isSupported ? forced : nil
        }
        return [.avx512vnni, .avx2].first(where: \.isSupported)
    }

    /// The kernel products use, as cache keys name it (`avx512-vnni-packed`); nil without int8
    /// kernels. Includes the weight format's version, so measurements made before a format change
    /// are not reused. (Until 2026-12-08, single rows ran on AVX2 on Zen 4 and the name said
    /// `+avx2-single`; VNNI has decoded faster there since its prefetch into L2.)
    public static var configurationName: String? {
        guard let kernel = preferred else { return nil }
        return kernel.rawValue + "-packed"
    }
}

/// A weight matrix repacked for int8 activations (see `PPDInt8.h`): each element an unsigned
/// value of 4, 5, 6 or 8 bits (as many as its GGUF encoding holds; widened to bytes in
/// registers) with a scale and an offset per sub-block, four rows interleaved per 32-bit lane.
///
/// The result of a product does not depend on the batch, the tile or the thread split: integer
/// sums are exact and each output element's float operations form one fixed sequence.
public final class Int8Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// Elements per sub-block with its own scale and offset (32; 16 for Q6_K).
    public let block: Int
    /// The encoding the weights were repacked from.
    public let type: TensorType
    /// The instructions its products run on.
    public let kernel: Int8Kernel
    private let weights: UnsafeMutableRawPointer
    /// Scales per sub-block: IEEE halves for Q8_0, Q4_0 and Q5_0 (their block's own half, exact),
    /// floats for the others (`ppd_i8_half_scales`).
    private let scales: UnsafeMutableRawPointer
    /// Offsets per sub-block; nil for types whose offset is a fixed multiple of the scale
    /// (`ppd_i8_min_factor`: Q8_0, Q4_0, Q5_0, Q6_K), which the kernels derive.
    private let mins: UnsafeMutablePointer<Float>?
    /// The matrix as the C kernels read it.
    private let described: ppd_i8_matrix
    /// The row each packed position holds, once `moveToFront(_:)` reordered the rows (nil: row r
    /// is packed at r). Products over all rows write each row's result at the row's own index.
    private var packedOrder: UnsafeMutablePointer<Int32>?
    /// The rows `moveToFront(_:)` put first, ascending: packed positions 0..<frontRows.count.
    public private(set) var frontRows: [Int32] = []

    /// The repacked form of `matrix` computing on `kernel`, or nil when its encoding or shape has
    /// none (the rows must be a multiple of 4 and the columns of 4 sub-blocks) or the CPU lacks
    /// the kernel's instructions. Rows are repacked in slices; `consumed` is given each slice's
    /// encoded bytes once they have been read (so a caller can release mapped pages as it goes,
    /// and the two forms of a large matrix are never resident at once).
    public init?(
        _ matrix: QuantizedMatrix, kernel: Int8Kernel? = Int8Kernel.preferred,
        consumed: ((UnsafeRawPointer, Int) -> Void)? = nil
    ) {
        let block = Int(ppd_i8_block(matrix.type.rawValue))
        guard let kernel, kernel.isSupported, block > 0, matrix.rows % 4 == 0, matrix.columns % (4 * block) == 0,
              matrix.columns % matrix.type.blockSize == 0
        else { return nil }
        let type = matrix.type.rawValue, subBlocks = matrix.rows * matrix.columns / block
        let weightBytes = ppd_i8_weight_bytes(type, Int32(matrix.rows), Int32(matrix.columns))
        let scaleSize = Self.scaleSize(type)
        let weights = Self.allocate(weightBytes)
        let scales = Self.allocate(subBlocks * scaleSize)
        let mins = ppd_i8_min_factor(type) != 0 ? nil : Self.allocate(subBlocks * 4).assumingMemoryBound(to: Float.self)
        let described = ppd_i8_matrix(
            type: type, columns: Int32(matrix.columns), block: Int32(block),
            weights: UnsafePointer(weights.assumingMemoryBound(to: UInt8.self)), scales: UnsafeRawPointer(scales),
            mins: mins.map { UnsafePointer($0) })
        var status: Int32 = 0
        let sliceRows = 4096, perRow = matrix.columns / block
        for first in stride(from: 0, to: matrix.rows, by: sliceRows) where status == 0 {
            let count = min(sliceRows, matrix.rows - first)
            let source = matrix.data + first * matrix.rowBytes
            var slice = described
            slice.weights = described.weights + weightBytes / matrix.rows * first
            slice.scales = described.scales + first * perRow * scaleSize
            slice.mins = described.mins.map { $0 + first * perRow }
            status = ppd_i8_pack(&slice, source, matrix.rowBytes, Int32(count))
            consumed?(source, count * matrix.rowBytes)
        }
        guard status == 0 else {
            weights.deallocate()
            scales.deallocate()
            mins?.deallocate()
            return nil
        }
        self.rows = matrix.rows
        self.columns = matrix.columns
        self.block = block
        self.type = matrix.type
        self.kernel = kernel
        self.weights = weights
        self.scales = scales
        self.mins = mins
        self.described = described
    }

    /// Bytes of one scale of GGML type `type`: 2 (a half) or 4.
    private static func scaleSize(_ type: UInt32) -> Int { ppd_i8_half_scales(type) != 0 ? 2 : 4 }

    /// Memory for streamed data: large blocks on 2 MiB boundaries, asking Linux for huge pages
    /// (fewer TLB misses while a product streams hundreds of megabytes per token).
    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let huge = 2 << 20
        guard bytes >= huge else { return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: (bytes + huge - 1) / huge * huge, alignment: huge)
        #if canImport(Glibc)
            _ = madvise(pointer, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE)
        #endif
        return pointer
    }

    deinit {
        weights.deallocate()
        scales.deallocate()
        mins?.deallocate()
        packedOrder?.deallocate()
    }

    /// Bits each weight keeps (4, 5, 6 or 8: as many as its GGUF encoding holds).
    public var bitsPerWeight: Int { Int(ppd_i8_bits(type.rawValue)) }

    /// Bytes held by the repacked weights, scales and offsets (when the type has an offset table),
    /// and the row order after `moveToFront(_:)`.
    public var byteCount: Int {
        let subBlocks = rows * columns / block
        return ppd_i8_weight_bytes(type.rawValue, Int32(rows), Int32(columns)) + subBlocks * Self.scaleSize(type.rawValue)
            + (mins == nil ? 0 : subBlocks * MemoryLayout<Float>.size) + (packedOrder == nil ? 0 : rows * MemoryLayout<Int32>.size)
    }

    /// The value element (`row`, `column`) stands for: scale * u - offset.
    public func weight(row: Int, column: Int) -> Float {
        withUnsafePointer(to: described) { ppd_i8_weight($0, Int32(packedPosition(ofRow: row)), Int32(column)) }
    }

    /// The row packed at position `position` (itself unless `moveToFront(_:)` reordered the rows).
    public func row(atPacked position: Int) -> Int { packedOrder.map { Int($0[position]) } ?? position }

    /// Reorders the packed rows so that `rows` (ascending, distinct, each in `0..<self.rows`) come
    /// first, in that order, and all others after them in ascending order: the products of packed
    /// positions `0..<rows.count` (`multiplyPacked`) are then the products of those rows alone,
    /// with nothing copied (a guess head over part of the vocabulary shares the output layer's
    /// weights this way). Products over all rows still write row r's result at index r, bitwise as
    /// before (each output element's arithmetic does not depend on where its row is packed); a
    /// product over part of the rows then computes all of them (slow; nothing uses that).
    ///
    /// Moves the rows in place (one row of scratch) and adds `self.rows` Int32 of row order. A
    /// matrix is reordered once: false when it already was (to other rows); true when reordered or
    /// already ordered so. Not thread-safe: no product may run meanwhile.
    public func moveToFront(_ rows: [Int32]) -> Bool {
        guard packedOrder == nil else { return frontRows == rows }
        precondition(zip(rows, rows.dropFirst()).allSatisfy { $0 < $1 } && (rows.first ?? 0) >= 0 && Int(rows.last ?? 0) < self.rows,
                     "front rows must be ascending, distinct and in range")
        let order = UnsafeMutablePointer<Int32>.allocate(capacity: self.rows)
        var isFront = [Bool](repeating: false, count: self.rows)
        for row in rows { isFront[Int(row)] = true }
        var next = 0
        for row in rows { order[next] = row; next += 1 }
        for row in 0..<self.rows where !isFront[row] { order[next] = Int32(row); next += 1 }
        permute(to: order)
        packedOrder = order
        frontRows = rows
        return true
    }

    /// Packed position p gets the row packed at order[p] (from the identity): cycle by cycle, one
    /// row held in a 4-row scratch.
    private func permute(to order: UnsafeMutablePointer<Int32>) {
        // Scratch of one group of 4 rows: its tiles, scales and offsets.
        let perRow = columns / block, scaleSize = Self.scaleSize(type.rawValue)
        let scratchWeights = UnsafeMutableRawPointer.allocate(
            byteCount: ppd_i8_weight_bytes(type.rawValue, 4, Int32(columns)), alignment: 64)
        let scratchScales = UnsafeMutableRawPointer.allocate(byteCount: 4 * perRow * scaleSize, alignment: 64)
        let scratchMins = mins == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: 4 * perRow)
        defer {
            scratchWeights.deallocate()
            scratchScales.deallocate()
            scratchMins?.deallocate()
        }
        var scratch = described
        scratch.weights = UnsafePointer(scratchWeights.assumingMemoryBound(to: UInt8.self))
        scratch.scales = UnsafeRawPointer(scratchScales)
        scratch.mins = scratchMins.map { UnsafePointer($0) }
        var matrix = described
        var done = [Bool](repeating: false, count: rows)
        for start in 0..<rows where !done[start] && Int(order[start]) != start {
            ppd_i8_copy_row(&matrix, Int32(start), &scratch, 0)
            var position = start
            while true {
                done[position] = true
                let source = Int(order[position])
                if source == start {
                    ppd_i8_copy_row(&scratch, 0, &matrix, Int32(position))
                    break
                }
                ppd_i8_copy_row(&matrix, Int32(source), &matrix, Int32(position))
                position = source
            }
        }
    }

    /// Where row `row` is packed: `row` itself unless the rows were reordered.
    func packedPosition(ofRow row: Int) -> Int {
        guard packedOrder != nil else { return row }
        let front = frontRows
        var low = 0, high = front.count  // first front row >= row
        while low < high {
            let mid = (low + high) / 2
            if Int(front[mid]) < row { low = mid + 1 } else { high = mid }
        }
        if low < front.count && Int(front[low]) == row { return low }
        return front.count + row - low
    }

    /// Input rows quantized for the int8 kernels: made once and given to the products of every
    /// matrix with the same columns and sub-block size (q, k and v; gate and up; and each row
    /// range of a product split across threads), instead of quantizing the same rows again.
    public final class Input: @unchecked Sendable {
        public let count: Int
        public let columns: Int
        public let block: Int
        let bytes: UnsafeMutablePointer<UInt8>

        /// Quantizes `count` rows of `columns` floats for matrices with sub-blocks of `block`,
        /// with `kernel`'s instructions (every kernel writes the same bytes).
        public init(_ x: UnsafePointer<Float>, count: Int, columns: Int, block: Int, kernel: Int8Kernel) {
            self.count = count
            self.columns = columns
            self.block = block
            let rowBytes = ppd_i8_input_bytes(Int32(columns), Int32(block))
            bytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * rowBytes), alignment: 64)
                .assumingMemoryBound(to: UInt8.self)
            if count > 0 { ppd_i8_quantize(kernel.cValue, x, Int32(count), Int32(columns), Int32(block), bytes) }
        }

        deinit { bytes.deallocate() }
    }

    /// The input rows `x` quantized for this matrix (`Input`).
    public func quantize(_ x: UnsafePointer<Float>, count: Int) -> Input {
        Input(x, count: count, columns: columns, block: block, kernel: kernel)
    }

    /// As `QuantizedMatrix.multiply(_:count:into:outputStride:rowRange:pool:)`.
    public func multiply(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, outputStride: Int,
        rowRange: Range<Int>, pool: ThreadPool
    ) {
        guard count > 0, !rowRange.isEmpty else { return }
        multiply(quantize(x, count: count), into: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
    }

    /// The product with input rows already quantized for a matrix of this shape (`quantize`).
    public func multiply(
        _ input: Input, into y: UnsafeMutablePointer<Float>, outputStride: Int, rowRange: Range<Int>, pool: ThreadPool
    ) {
        precondition(input.columns == columns && input.block == block, "input quantized for another matrix shape")
        let count = input.count
        guard count > 0, !rowRange.isEmpty else { return }
        guard let order = packedOrder else {
            multiplyPacked(input, into: y, outputStride: outputStride, packedRows: rowRange, pool: pool)
            return
        }
        let bytes = UnsafePointer(input.bytes)
        if rowRange == 0..<rows {
            pool.parallelFor(count: rows, granularity: 4) { local in
                self.run(bytes, count, y, outputStride, local, map: order)
            }
            return
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * rows)
        defer { scratch.deallocate() }
        multiply(input, into: scratch, outputStride: rows, rowRange: 0..<rows, pool: pool)
        for j in 0..<count {
            (y + j * outputStride).update(from: scratch + j * rows + rowRange.lowerBound, count: rowRange.count)
        }
    }

    /// The products of the rows at packed positions `packedRows` (the rows themselves unless
    /// `moveToFront(_:)` reordered them; then `0..<frontRows.count` are the front rows), written
    /// as `multiply` writes a row range.
    public func multiplyPacked(
        _ input: Input, into y: UnsafeMutablePointer<Float>, outputStride: Int, packedRows rowRange: Range<Int>, pool: ThreadPool
    ) {
        precondition(input.columns == columns && input.block == block, "input quantized for another matrix shape")
        precondition(rowRange.lowerBound >= 0 && rowRange.upperBound <= rows, "packed rows \(rowRange) outside 0..<\(rows)")
        let count = input.count
        guard count > 0, !rowRange.isEmpty else { return }
        let bytes = UnsafePointer(input.bytes)
        // The kernel works on whole groups of 4 rows; a range that cuts a group computes the
        // group into a scratch (same arithmetic) and keeps the rows asked for.
        let lower = rowRange.lowerBound / 4 * 4, upper = (rowRange.upperBound + 3) / 4 * 4
        if lower == rowRange.lowerBound && upper == rowRange.upperBound {
            pool.parallelFor(count: rowRange.count, granularity: 4) { local in
                self.run(bytes, count, y + local.lowerBound, outputStride, (rowRange.lowerBound + local.lowerBound)..<(rowRange.lowerBound + local.upperBound))
            }
            return
        }
        let width = upper - lower
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * width)
        defer { scratch.deallocate() }
        pool.parallelFor(count: width, granularity: 4) { local in
            self.run(bytes, count, scratch + local.lowerBound, width, (lower + local.lowerBound)..<(lower + local.upperBound))
        }
        for j in 0..<count {
            (y + j * outputStride).update(from: scratch + j * width + (rowRange.lowerBound - lower), count: rowRange.count)
        }
    }

    private func run(
        _ input: UnsafePointer<UInt8>, _ count: Int, _ y: UnsafeMutablePointer<Float>, _ stride: Int, _ rows: Range<Int>,
        map: UnsafePointer<Int32>? = nil
    ) {
        withUnsafePointer(to: described) {
            ppd_i8_multiply(kernel.cValue, $0, input, Int32(count), y, stride, Int32(rows.lowerBound), Int32(rows.upperBound), map)
        }
    }

    /// The product computed one element at a time by the portable reference of the arithmetic
    /// (`ppd_i8_multiply_reference`): what every kernel must match bit for bit. Slow; for tests.
    /// `rowRange` counts packed positions.
    public func referenceProduct(_ input: Input, into y: UnsafeMutablePointer<Float>, outputStride: Int, rowRange: Range<Int>) {
        precondition(input.columns == columns && input.block == block, "input quantized for another matrix shape")
        precondition(rowRange.lowerBound % 4 == 0 && rowRange.upperBound % 4 == 0, "reference rows are whole groups of 4")
        withUnsafePointer(to: described) {
            ppd_i8_multiply_reference(
                $0, input.bytes, Int32(input.count), y, outputStride, Int32(rowRange.lowerBound), Int32(rowRange.upperBound), nil)
        }
    }
}
