/// A weight matrix in its stored encoding: `rows` rows of `columns` elements, row-major, each row
/// `rowBytes` bytes. For a GGUF tensor of shape [columns, rows] (GGML order) this is the tensor.
///
/// `multiply` computes y = x W^T for a batch of input rows. Every output element is one dot
/// product of a decoded weight row with one input row, always accumulated in the same order
/// (see `MatrixKernel`), whatever the batch size or thread count: the numerics contract of
/// ARCHITECTURE.md.
public struct QuantizedMatrix: @unchecked Sendable {
    /// Start of the encoded data (typically inside a memory-mapped GGUF file).
    public let data: UnsafeRawPointer
    /// Encoding of the elements.
    public let type: TensorType
    /// Number of output features.
    public let rows: Int
    /// Number of input features (the dot-product length); a multiple of 32.
    public let columns: Int
    /// The repacked form for int8 activations: when set, every product of this matrix runs on
    /// it (`MatrixArithmetic.int8`), so a row's result never depends on which path computed it.
    public private(set) var int8: Int8Matrix?

    /// Whether the kernels prefetch ahead: for all but tiny matrices, since in a forward pass the
    /// layers' weights are evicted by the output layer's 178 MB stream and come from memory.
    public var isStreamed: Bool { rows * rowBytes > 64 << 10 }

    /// Bytes per encoded row.
    public var rowBytes: Int { type.byteCount(elements: columns) }

    public init(data: UnsafeRawPointer, type: TensorType, rows: Int, columns: Int) {
        precondition(columns % 32 == 0 && columns % type.blockSize == 0, "matrix rows must be whole blocks of 32")
        self.data = data
        self.type = type
        self.rows = rows
        self.columns = columns
    }

    /// This matrix computing with `arithmetic`: for `.int8`, repacked where its encoding and
    /// shape allow (otherwise unchanged, on float kernels). `consumed` gets the encoded bytes
    /// read by the repacking, slice by slice (`Int8Matrix.init(_:kernel:consumed:)`).
    public func computing(
        with arithmetic: MatrixArithmetic, consumed: ((UnsafeRawPointer, Int) -> Void)? = nil
    ) -> QuantizedMatrix {
        var copy = self
        copy.int8 = arithmetic == .int8 ? Int8Matrix(self, consumed: consumed) : nil
        return copy
    }

    /// Decodes row `row` into `destination` (`columns` floats).
    @inlinable
    public func decodeRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, from: data + row * rowBytes, count: columns, into: destination)
    }

    /// Rows decoded together: their dot products run as independent chains.
    public static let rowGroup = MatrixKernel.rowTile

    /// y[i, r] = dot(W[r], x[i]) for `count` input rows `x` (count x columns, row-major), writing
    /// `y` (count x rows, row-major). Output rows are split across the pool's threads.
    public func multiply(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        multiply(x, count: count, into: y, outputStride: rows, rowRange: 0..<rows, pool: pool)
    }

    /// As `multiply(_:count:into:pool:)` for the output rows in `rowRange` only; output row i
    /// of input row j goes to `y[j * outputStride + (i - rowRange.lowerBound)]`.
    public func multiply(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, outputStride: Int,
        rowRange: Range<Int>, pool: ThreadPool
    ) {
        MatrixKernel.run(self, x: x, count: count, y: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
    }
}

/// Shared pieces of the dot products: loads, the fixed-order horizontal sum, and `rowDot` (two
/// interleaved accumulators) used by attention.
public enum Dot {
    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Sums the lanes of `v` by halves: a fixed order.
    @inlinable @inline(__always)
    public static func horizontalSum(_ v: SIMD16<Float>) -> Float {
        let v8 = v.lowHalf + v.highHalf
        let v4 = v8.lowHalf + v8.highHalf
        let v2 = v4.lowHalf + v4.highHalf
        return v2[0] + v2[1]
    }

    /// `[horizontalSum(a), horizontalSum(b), horizontalSum(c), horizontalSum(d)]`, bitwise: the
    /// same additions of the same lanes, four vectors at a time (one shuffle-and-add per level of
    /// the halving tree instead of four; the register tiles' epilogue).
    @inlinable @inline(__always)
    public static func horizontalSums(
        _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>, _ d: SIMD16<Float>
    ) -> SIMD4<Float> {
        // [a8 | b8], [c8 | d8]: lane j of v8 is v[j] + v[j + 8].
        let ab = SIMD16(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD16(lowHalf: a.highHalf, highHalf: b.highHalf)
        let cd = SIMD16(lowHalf: c.lowHalf, highHalf: d.lowHalf) + SIMD16(lowHalf: c.highHalf, highHalf: d.highHalf)
        // [a4 | b4 | c4 | d4]: lane j of v4 is v8[j] + v8[j + 4].
        let low4 = SIMD16(
            lowHalf: SIMD8(lowHalf: ab.lowHalf.lowHalf, highHalf: ab.highHalf.lowHalf),
            highHalf: SIMD8(lowHalf: cd.lowHalf.lowHalf, highHalf: cd.highHalf.lowHalf))
        let high4 = SIMD16(
            lowHalf: SIMD8(lowHalf: ab.lowHalf.highHalf, highHalf: ab.highHalf.highHalf),
            highHalf: SIMD8(lowHalf: cd.lowHalf.highHalf, highHalf: cd.highHalf.highHalf))
        let v4 = low4 + high4
        // [a2 | b2 | c2 | d2]: lane j of v2 is v4[j] + v4[j + 2].
        let v2 = SIMD8(v4[0], v4[1], v4[4], v4[5], v4[8], v4[9], v4[12], v4[13])
            + SIMD8(v4[2], v4[3], v4[6], v4[7], v4[10], v4[11], v4[14], v4[15])
        return SIMD4(v2[0], v2[2], v2[4], v2[6]) + SIMD4(v2[1], v2[3], v2[5], v2[7])
    }

    /// dot(a, b) over `count` floats (a multiple of 32).
    @inlinable
    public static func rowDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var even = SIMD16<Float>(), odd = SIMD16<Float>()
        var i = 0
        while i < count {
            even = even.addingProduct(load(a + i), load(b + i))
            odd = odd.addingProduct(load(a + i + 16), load(b + i + 16))
            i += 32
        }
        return horizontalSum(even + odd)
    }
}

/// Input rows prepared once for several products with the same rows: for matrices on the int8
/// kernels, the rows quantized once per shape (`Int8Matrix.Input`) instead of once per product
/// and per thread's share of the rows. `x` must stay valid while the value is used.
public struct PreparedInput {
    public let x: UnsafePointer<Float>
    public let count: Int
    let quantized: [Int8Matrix.Input]

    /// Prepares `count` rows `x` for products with `matrices`.
    public init(_ x: UnsafePointer<Float>, count: Int, for matrices: [QuantizedMatrix]) {
        self.x = x
        self.count = count
        var quantized: [Int8Matrix.Input] = []
        for packed in matrices.compactMap(\.int8)
        where !quantized.contains(where: { $0.columns == packed.columns && $0.block == packed.block }) {
            quantized.append(packed.quantize(x, count: count))
        }
        self.quantized = quantized
    }
}

extension QuantizedMatrix {
    /// As `multiply(_:count:into:outputStride:rowRange:pool:)` with prepared input rows.
    public func multiply(
        _ input: PreparedInput, into y: UnsafeMutablePointer<Float>, outputStride: Int, rowRange: Range<Int>,
        pool: ThreadPool
    ) {
        if let packed = int8, let rows = input.quantized.first(where: { $0.columns == packed.columns && $0.block == packed.block }) {
            return packed.multiply(rows, into: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        }
        multiply(input.x, count: input.count, into: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
    }

    /// Several products of the same input rows as one parallel job (fewer synchronisations
    /// than one job per matrix): `outputs[i]` receives `matrices[i]`'s product, count x rows.
    public static func multiply(
        _ matrices: [QuantizedMatrix], _ x: UnsafePointer<Float>, count: Int,
        into outputs: [UnsafeMutablePointer<Float>], pool: ThreadPool
    ) {
        precondition(matrices.count == outputs.count)
        let input = PreparedInput(x, count: count, for: matrices)
        var starts = [0]
        for m in matrices { starts.append(starts.last! + m.rows) }
        pool.parallelFor(count: starts.last!, granularity: rowGroup) { range in
            for (i, m) in matrices.enumerated() {
                let lower = max(range.lowerBound, starts[i]), upper = min(range.upperBound, starts[i + 1])
                guard lower < upper else { continue }
                let local = (lower - starts[i])..<(upper - starts[i])
                m.multiply(input, into: outputs[i] + local.lowerBound, outputStride: m.rows, rowRange: local, pool: .inline)
            }
        }
    }
}
