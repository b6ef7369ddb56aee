/// A weight matrix in its stored encoding: `rows` rows of `columns` elements, row-major, each row
/// `rowBytes` bytes. For a GGUF tensor of shape [columns, rows] (GGML order) this is the tensor.
///
/// `multiply` computes y = x W^T for a batch of input rows. Every output element is one dot
/// product of a decoded weight row with one input row, always accumulated in the same order
/// (`Dot.rowDot`), whatever the batch size or thread count: the numerics contract of DESIGN.md.
public struct QuantizedMatrix: @unchecked Sendable {
    /// Start of the encoded data (typically inside a memory-mapped GGUF file).
    public let data: UnsafeRawPointer
    /// Encoding of the elements.
    public let type: TensorType
    /// Number of output features.
    public let rows: Int
    /// Number of input features (the dot-product length); a multiple of 32.
    public let columns: Int

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

    /// Decodes row `row` into `destination` (`columns` floats).
    @inlinable
    public func decodeRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, from: data + row * rowBytes, count: columns, into: destination)
    }

    /// Rows decoded together: their dot products run as independent chains.
    public static let rowGroup = 4

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
        switch type {
        case .q8_0:
            return FusedMultiply.run(Q8_0Format.self, matrix: self, x: x, count: count, y: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        case .q4_0:
            return FusedMultiply.run(Q4_0Format.self, matrix: self, x: x, count: count, y: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        case .q5_0:
            return FusedMultiply.run(Q5_0Format.self, matrix: self, x: x, count: count, y: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        case .q4_K:
            return FusedMultiply.run(Q4_KFormat.self, matrix: self, x: x, count: count, y: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        case .q6_K:
            return FusedMultiply.run(Q6_KFormat.self, matrix: self, x: x, count: count, y: y, outputStride: outputStride, rowRange: rowRange, pool: pool)
        default:
            break
        }
        let group = Self.rowGroup
        let columns = self.columns
        pool.parallelFor(count: rowRange.count, granularity: group) { local in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: group * columns) { scratch in
                let w = scratch.baseAddress!
                var start = local.lowerBound
                while start < local.upperBound {
                    let n = min(group, local.upperBound - start)
                    for r in 0..<n { decodeRow(rowRange.lowerBound + start + r, into: w + r * columns) }
                    for j in 0..<count {
                        let xj = x + j * columns
                        let out = y + j * outputStride + start
                        if n == group {
                            Dot.fourRows(w, columns: columns, xj, out)
                        } else {
                            for r in 0..<n { out[r] = Dot.rowDot(w + r * columns, xj, columns) }
                        }
                    }
                    start += n
                }
            }
        }
    }
}

/// The one dot product of the project: two interleaved SIMD16 accumulators (even and odd chunks
/// of 16), summed, then reduced by halves. `fourRows` runs four of these chains side by side
/// with exactly the same operations per row.
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

    /// Four `rowDot`s of consecutive rows of `w` (stride `columns`) with `x`, into out[0..<4].
    @inlinable
    public static func fourRows(
        _ w: UnsafePointer<Float>, columns: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>
    ) {
        var e0 = SIMD16<Float>(), o0 = SIMD16<Float>(), e1 = SIMD16<Float>(), o1 = SIMD16<Float>()
        var e2 = SIMD16<Float>(), o2 = SIMD16<Float>(), e3 = SIMD16<Float>(), o3 = SIMD16<Float>()
        let w1 = w + columns, w2 = w + 2 * columns, w3 = w + 3 * columns
        var i = 0
        while i < columns {
            let xe = load(x + i), xo = load(x + i + 16)
            e0 = e0.addingProduct(load(w + i), xe)
            o0 = o0.addingProduct(load(w + i + 16), xo)
            e1 = e1.addingProduct(load(w1 + i), xe)
            o1 = o1.addingProduct(load(w1 + i + 16), xo)
            e2 = e2.addingProduct(load(w2 + i), xe)
            o2 = o2.addingProduct(load(w2 + i + 16), xo)
            e3 = e3.addingProduct(load(w3 + i), xe)
            o3 = o3.addingProduct(load(w3 + i + 16), xo)
            i += 32
        }
        out[0] = horizontalSum(e0 + o0)
        out[1] = horizontalSum(e1 + o1)
        out[2] = horizontalSum(e2 + o2)
        out[3] = horizontalSum(e3 + o3)
    }
}

extension QuantizedMatrix {
    /// Several products of the same input rows as one parallel job (fewer synchronisations
    /// than one job per matrix): `outputs[i]` receives `matrices[i]`'s product, count x rows.
    public static func multiply(
        _ matrices: [QuantizedMatrix], _ x: UnsafePointer<Float>, count: Int,
        into outputs: [UnsafeMutablePointer<Float>], pool: ThreadPool
    ) {
        precondition(matrices.count == outputs.count)
        var starts = [0]
        for m in matrices { starts.append(starts.last! + m.rows) }
        pool.parallelFor(count: starts.last!, granularity: rowGroup) { range in
            for (i, m) in matrices.enumerated() {
                let lower = max(range.lowerBound, starts[i]), upper = min(range.upperBound, starts[i + 1])
                guard lower < upper else { continue }
                let local = (lower - starts[i])..<(upper - starts[i])
                m.multiply(x, count: count, into: outputs[i] + local.lowerBound, outputStride: m.rows, rowRange: local, pool: .inline)
            }
        }
    }
}
