/// The output row with the largest product for one input row, and that product.
public struct BestProduct: Sendable, Equatable {
    /// The output row (of the matrix: a token id for an output layer).
    public var row: Int
    /// Its product.
    public var value: Float

    /// Nothing seen yet: any finite or infinite product replaces it.
    static let none = BestProduct(row: Int.max, value: -.infinity)

    /// Keeps `other` when it is larger, or equal and at a smaller row: the first largest of a
    /// scan in row order, whatever order the candidates come in.
    mutating func keep(_ other: BestProduct) {
        if other.value > value || (other.value == value && other.row < row) { self = other }
    }
}

extension QuantizedMatrix {
    /// For each of the `count` input rows `x` (count x columns, row-major), the output row with
    /// the largest product: what `multiply` followed by `ArraySlice.argmax()` of each result row
    /// gives (for results without NaN; ties to the smaller row), bitwise the same products,
    /// without a count x rows result. The products are made a slice of rows at a time into a
    /// scratch that stays in cache and reduced there (a 262,144-token output layer's row is 1 MiB).
    public func bestProducts(_ x: UnsafePointer<Float>, count: Int, pool: ThreadPool) -> [BestProduct] {
        bestProducts(x, count: count, pool: pool, sliceRows: BestProductSlices.rows(for: count))
    }

    /// `bestProducts` in slices of `slice` rows (a multiple of 4; tests choose small ones).
    func bestProducts(_ x: UnsafePointer<Float>, count: Int, pool: ThreadPool, sliceRows slice: Int) -> [BestProduct] {
        guard count > 0 else { return [] }
        if let packed = int8 { return packed.bestProducts(packed.quantize(x, count: count), pool: pool, sliceRows: slice) }
        // Float arithmetic: each slice's product is split across the pool, reduced here.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * slice)
        defer { scratch.deallocate() }
        var best = [BestProduct](repeating: .none, count: count)
        for first in stride(from: 0, to: rows, by: slice) {
            let range = first..<min(first + slice, rows)
            multiply(x, count: count, into: scratch, outputStride: slice, rowRange: range, pool: pool)
            for j in 0..<count {
                best[j].keep(BestProductSlices.best(of: scratch + j * slice, count: range.count) { first + $0 })
            }
        }
        return best.map(BestProductSlices.resolved)
    }
}

extension Int8Matrix {
    /// `QuantizedMatrix.bestProducts` for input rows already quantized for this matrix: the
    /// packed rows split across the pool's threads, each thread reducing its slices in its own
    /// scratch; a reordered matrix (`moveToFront(_:)`) reports rows by their own index.
    public func bestProducts(_ input: Input, pool: ThreadPool) -> [BestProduct] {
        bestProducts(input, pool: pool, sliceRows: BestProductSlices.rows(for: input.count))
    }

    /// `bestProducts` in slices of `slice` rows (a multiple of 4; tests choose small ones).
    func bestProducts(_ input: Input, pool: ThreadPool, sliceRows slice: Int) -> [BestProduct] {
        precondition(input.columns == columns && input.block == block, "input quantized for another matrix shape")
        precondition(slice > 0 && slice % 4 == 0, "slices are whole groups of 4 rows")
        let count = input.count
        guard count > 0 else { return [] }
        let parts = max(1, min(pool.threadCount * 4, rows / slice))
        let partial = UnsafeMutableBufferPointer<BestProduct>.allocate(capacity: parts * count)
        partial.initialize(repeating: .none)
        defer { partial.deallocate() }
        let groups = rows / 4
        pool.run(tasks: parts) { part in
            let first = groups * part / parts * 4, end = groups * (part + 1) / parts * 4
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * slice)
            defer { scratch.deallocate() }
            for start in stride(from: first, to: end, by: slice) {
                let range = start..<min(start + slice, end)
                multiplyPacked(input, into: scratch, outputStride: slice, packedRows: range, pool: .inline)
                for j in 0..<count {
                    let found = BestProductSlices.best(of: scratch + j * slice, count: range.count) { self.row(atPacked: start + $0) }
                    partial[part * count + j].keep(found)
                }
            }
        }
        var best = [BestProduct](repeating: .none, count: count)
        for part in 0..<parts {
            for j in 0..<count { best[j].keep(partial[part * count + j]) }
        }
        return best.map(BestProductSlices.resolved)
    }
}

/// The slicing and the reduction shared by the float and the int8 paths.
enum BestProductSlices {
    /// Rows per slice for `count` input rows: about 256 KiB of scratch, whole groups of 4 rows.
    static func rows(for count: Int) -> Int { max(64, 65_536 / count / 4 * 4) }

    /// The largest of `count` products at `values` (NaN never wins) at the smallest row
    /// `row(i)` among equal ones; `.none` when every product is NaN.
    static func best(of values: UnsafePointer<Float>, count: Int, row: (Int) -> Int) -> BestProduct {
        let largest = FloatScan.max(values, count: count)
        var found = BestProduct.none
        var k = FloatScan.firstIndex(of: largest, in: values, count: count)
        while k < count {
            found.keep(BestProduct(row: row(k), value: values[k]))
            k = FloatScan.firstIndex(of: largest, in: values, from: k + 1, count: count)
        }
        return found
    }

    /// A result with no winner (every product NaN) reads as row 0, as `argmax()` of such a row.
    static func resolved(_ best: BestProduct) -> BestProduct {
        best.row == Int.max ? BestProduct(row: 0, value: .nan) : best
    }
}
