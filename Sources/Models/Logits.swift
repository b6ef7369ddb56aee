/// Output logits for some rows of a batch: `rows[k]` is the batch index of the k-th row.
public struct Logits: Sendable {
    /// Batch indices the logits belong to, in order.
    public let rows: [Int]
    /// Vocabulary size (row length).
    public let vocabSize: Int
    /// rows.count x vocabSize, row-major.
    public var values: [Float]

    public init(rows: [Int], vocabSize: Int, values: [Float]) {
        self.rows = rows
        self.vocabSize = vocabSize
        self.values = values
    }

    /// The logits of the k-th returned row.
    public func row(_ k: Int) -> ArraySlice<Float> { values[k * vocabSize..<(k + 1) * vocabSize] }

    /// The logits of the last returned row.
    public var last: ArraySlice<Float> { row(rows.count - 1) }
}

extension ArraySlice where Element == Float {
    /// Index of the largest value (the first one on ties), counted from the slice's start.
    public func argmax() -> Int {
        withUnsafeBufferPointer { values in
            var best = 0
            var bestValue = -Float.infinity
            for i in 0..<values.count where values[i] > bestValue || (i == 0) {
                best = i
                bestValue = values[i]
            }
            return best
        }
    }

    /// The `k` largest values with their indices (counted from the slice's start), largest
    /// first; ties go to the smaller index.
    public func topK(_ k: Int) -> [(index: Int, value: Float)] {
        withUnsafeBufferPointer { values in
            var indices: [Int] = []
            var best: [Float] = []
            indices.reserveCapacity(k + 1)
            best.reserveCapacity(k + 1)
            for i in 0..<values.count {
                let v = values[i]
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
            return zip(indices, best).map { (index: $0, value: $1) }
        }
    }
}
