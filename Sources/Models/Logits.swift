/// Output logits for some rows of a batch: `rows[k]` is the batch index of the k-th row.
public struct Logits: Sendable {
    /// Batch indices the logits belong to, in order.
    public let rows: [Int]
    /// Vocabulary size (row length).
    public let vocabSize: Int
    /// rows.count x vocabSize, row-major.
    public var values: [Float]
    /// Keeps the model from reusing `values`' storage while these logits exist.
    let lease: LogitsRecycler.Lease?

    public init(rows: [Int], vocabSize: Int, values: [Float]) {
        self.init(rows: rows, vocabSize: vocabSize, values: values, lease: nil)
    }

    init(rows: [Int], vocabSize: Int, values: [Float], lease: LogitsRecycler.Lease?) {
        self.rows = rows
        self.vocabSize = vocabSize
        self.values = values
        self.lease = lease
    }

    /// The logits of the k-th returned row.
    public func row(_ k: Int) -> ArraySlice<Float> { values[k * vocabSize..<(k + 1) * vocabSize] }

    /// The logits of the last returned row.
    public var last: ArraySlice<Float> { row(rows.count - 1) }
}

extension ArraySlice where Element == Float {
    /// Index of the largest value (the first one on ties), counted from the slice's start.
    /// Chunks of 16 with nothing above the best so far are skipped with one vector compare;
    /// the others run the scalar rule, so the result is the scalar scan's (NaN never wins, except
    /// at index 0, where the scan starts).
    public func argmax() -> Int {
        withUnsafeBufferPointer { values in
            guard let base = values.baseAddress, values.count > 0 else { return 0 }
            var best = 0
            var bestValue = base[0]
            var i = 1
            while i < values.count {
                let end = Swift.min(i + 16, values.count)
                if end - i == 16,
                    !any(UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) .> SIMD16(repeating: bestValue))
                {
                    i = end
                    continue
                }
                while i < end {
                    if base[i] > bestValue {
                        best = i
                        bestValue = base[i]
                    }
                    i += 1
                }
            }
            return best
        }
    }

    /// The `k` largest values with their indices (counted from the slice's start), largest
    /// first; ties go to the smaller index. Once `k` values are held, chunks of 16 with nothing
    /// above the smallest of them are skipped with one vector compare.
    public func topK(_ k: Int) -> [(index: Int, value: Float)] {
        withUnsafeBufferPointer { values in
            var indices: [Int] = []
            var best: [Float] = []
            indices.reserveCapacity(k + 1)
            best.reserveCapacity(k + 1)
            guard let base = values.baseAddress, k > 0 else { return [] }
            var i = 0
            while i < values.count {
                let end = Swift.min(i + 16, values.count)
                if end - i == 16, best.count == k, let worst = best.last,
                    !any(UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) .> SIMD16(repeating: worst))
                {
                    i = end
                    continue
                }
                while i < end {
                    let v = base[i]
                    defer { i += 1 }
                    if best.count == k, let worst = best.last, !(v > worst) { continue }
                    var at = best.count
                    while at > 0 && best[at - 1] < v { at -= 1 }
                    best.insert(v, at: at)
                    indices.insert(i, at: at)
                    if best.count > k {
                        best.removeLast()
                        indices.removeLast()
                    }
                }
            }
            return zip(indices, best).map { (index: $0, value: $1) }
        }
    }
}
