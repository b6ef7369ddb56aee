import Models

/// Records logits of chosen batch rows, either in full or as their top k, for the decoding
/// loop to drive with plain step numbers, batch slots and float buffers.
///
/// `write(to:)` stores under `/logits`: for top-k, `ids` Int32 [rows, k] and `values` Float
/// [rows, k] (largest first; ties go to the smaller id; when the vocabulary is smaller than k
/// the row is padded with id -1 and value -infinity); for full logits, `values` Float
/// [rows, vocab]. Both add `step` and `slot` Int32 [rows], and attributes `mode` ("top_k" or
/// "full"), `k` (top-k only) and `vocab_size` (once a row was recorded).
public final class LogitsRecorder {
    /// What is kept of each row.
    public enum Mode: Equatable, Sendable {
        /// Every logit.
        case full
        /// The k largest logits and their token ids.
        case topK(Int)
    }

    /// What is kept of each row.
    public let mode: Mode
    /// The vocabulary size of the rows recorded; nil before the first.
    public private(set) var vocabSize: Int?

    private var kept = RecordedRows()
    private var ids: [Int32] = []
    private var problem: String?

    /// A recorder keeping `mode` of each row (top-k with k >= 1).
    public init(mode: Mode) {
        self.mode = mode
    }

    /// The number of rows recorded.
    public var count: Int { kept.count }

    /// The recorded values: full logits, or top-k values, one row each.
    public var rows: RecordedRows { kept }

    /// The top-k token ids, rows x k (empty for full logits).
    public var topKIds: [Int32] { ids }

    /// Records `slots.count` rows of `vocabSize` logits from `logits` at decoding step `step`;
    /// `slots[i]` is the batch index of row i. Inconsistent input (a wrong count, another
    /// vocabulary size) is reported by `write(to:)`.
    public func record(step: Int, slots: [Int], logits: UnsafeBufferPointer<Float>, vocabSize: Int) {
        guard logits.count == slots.count * vocabSize, vocabSize > 0 else {
            note("\(logits.count) logits are not \(slots.count) rows of \(vocabSize)")
            return
        }
        guard self.vocabSize == nil || self.vocabSize == vocabSize else {
            note("rows of vocabulary size \(self.vocabSize ?? 0) and \(vocabSize) were recorded")
            return
        }
        self.vocabSize = vocabSize
        for (index, slot) in slots.enumerated() {
            let row = UnsafeBufferPointer(rebasing: logits[index * vocabSize..<(index + 1) * vocabSize])
            switch mode {
            case .full:
                kept.append(row, step: step, slot: slot)
            case .topK(let k):
                keep(Array(row)[...].topK(k), k: k, step: step, slot: slot)
            }
        }
    }

    /// Records all rows of `logits` (a model's output) at decoding step `step`; a guess row
    /// (the guess head's tokens only) is recorded as its full-vocabulary row would be, the other
    /// tokens at -infinity.
    public func record(_ logits: Logits, step: Int) {
        guard logits.guessHead != nil else {
            logits.values.withUnsafeBufferPointer {
                record(step: step, slots: logits.rows, logits: $0, vocabSize: logits.vocabSize)
            }
            return
        }
        for (k, slot) in logits.rows.enumerated() {
            switch mode {
            case .full:
                logits.fullRow(k).withUnsafeBufferPointer { record(step: step, slots: [slot], logits: $0, vocabSize: logits.vocabSize) }
            case .topK(let count):
                guard self.vocabSize == nil || self.vocabSize == logits.vocabSize else {
                    return note("rows of vocabulary size \(self.vocabSize ?? 0) and \(logits.vocabSize) were recorded")
                }
                self.vocabSize = logits.vocabSize
                keep(logits.topTokens(count, row: k).map { (index: Int($0.token), value: $0.value) }, k: count, step: step, slot: slot)
            }
        }
    }

    /// Appends one row's top-k (`best`, at most k), padded to k with id -1 and -infinity.
    private func keep(_ best: [(index: Int, value: Float)], k: Int, step: Int, slot: Int) {
        let padding = max(0, k - best.count)
        ids += best.map { Int32($0.index) } + [Int32](repeating: -1, count: padding)
        let values = best.map(\.value) + [Float](repeating: -.infinity, count: padding)
        values.withUnsafeBufferPointer { kept.append($0, step: step, slot: slot) }
    }

    /// Forgets everything recorded.
    public func reset() {
        kept = RecordedRows()
        ids = []
        vocabSize = nil
        problem = nil
    }

    /// Writes the recorded rows under `group` (see the type's description), even when none
    /// were recorded.
    public func write(to file: HDF5File, group: String = "/logits") throws {
        if let problem { throw StoreError(path: file.path, object: group, reason: problem) }
        try file.createGroup(group)
        let base = group.hasSuffix("/") ? String(group.dropLast()) : group
        if case .topK(let k) = mode {
            try file.setAttribute("mode", .string("top_k"), on: group)
            try file.setAttribute("k", .int(Int64(k)), on: group)
            try file.writeDataset(base + "/ids", ids, shape: [count, k])
        } else {
            try file.setAttribute("mode", .string("full"), on: group)
        }
        if let vocabSize { try file.setAttribute("vocab_size", .int(Int64(vocabSize)), on: group) }
        var values = kept
        if case .topK(let k) = mode, count == 0 { values = RecordedRows(width: k) }
        try values.write(to: file, values: base + "/values", steps: base + "/step", slots: base + "/slot")
    }

    private func note(_ message: String) {
        if problem == nil { problem = message }
    }
}
