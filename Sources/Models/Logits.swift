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

extension Collection where Element == Float, Index == Int {
    /// Index of the largest value (the first one on ties), relative to `startIndex`.
    public func argmax() -> Int {
        var best = startIndex
        for i in indices where self[i] > self[best] { best = i }
        return best - startIndex
    }

    /// The `k` largest values with their indices (relative to `startIndex`), largest first;
    /// ties go to the smaller index.
    public func topK(_ k: Int) -> [(index: Int, value: Float)] {
        var best: [(index: Int, value: Float)] = []
        best.reserveCapacity(k + 1)
        for i in indices {
            let v = self[i]
            if best.count == k, let worst = best.last, v <= worst.value { continue }
            var at = best.count
            while at > 0 && best[at - 1].value < v { at -= 1 }
            best.insert((i - startIndex, v), at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
