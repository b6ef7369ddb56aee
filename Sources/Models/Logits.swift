import Kernels

/// Output logits for some rows of a batch: `rows[k]` is the batch index of the k-th row.
///
/// A row that decides a token holds the whole vocabulary (`vocabSize` logits, index = token id).
/// A guess row of a forward pass with a guess head (`GuessRows`) holds only the head's tokens
/// (`guessHead.tokens.count` logits, in the head's order: `token(at:inRow:)` names them); every
/// other token's logit is -infinity there, and nothing stores it (a 262,144-token row is 1 MiB).
/// A best-token row (a forward's `bestTokenRows`, for greedy verification) holds no logits at
/// all, only its best token and that token's logit (`bestToken(ofRow:)`).
public struct Logits: Sendable {
    /// Batch indices the logits belong to, in order.
    public let rows: [Int]
    /// Vocabulary size (the length of a full row).
    public let vocabSize: Int
    /// The rows' logits, each row contiguous (`row(_:)` finds it).
    public var values: [Float]
    /// The head whose tokens the guess rows hold; nil when every row is full.
    public let guessHead: GuessHead?
    /// Per returned row: whether it holds the guess head's tokens only.
    public let isGuessRow: [Bool]
    /// Where each returned row starts in `values`.
    private let starts: [Int]
    /// Per returned row: its best token and logit when that is all it holds (nil: it has values).
    private let best: [BestProduct?]
    /// Keeps the model from reusing `values`' storage while these logits exist.
    let lease: LogitsRecycler.Lease?

    /// Full rows of `vocabSize` logits each, in order; throws unless `values` holds exactly
    /// `rows.count` x `vocabSize` floats.
    public init(rows: [Int], vocabSize: Int, values: [Float]) throws {
        guard vocabSize >= 0, values.count == rows.count * vocabSize else {
            throw ModelError("Logits: \(values.count) values for \(rows.count) rows of \(vocabSize) (need \(rows.count * vocabSize))")
        }
        self.init(rows: rows, vocabSize: vocabSize, values: values, lease: nil)
    }

    init(rows: [Int], vocabSize: Int, values: [Float], lease: LogitsRecycler.Lease?) {
        self.init(
            rows: rows, vocabSize: vocabSize, values: values, guessHead: nil, isGuessRow: rows.map { _ in false },
            starts: rows.indices.map { $0 * vocabSize }, lease: lease)
    }

    init(
        rows: [Int], vocabSize: Int, values: [Float], guessHead: GuessHead?, isGuessRow: [Bool], starts: [Int],
        best: [BestProduct?]? = nil, lease: LogitsRecycler.Lease?
    ) {
        self.rows = rows
        self.vocabSize = vocabSize
        self.values = values
        self.guessHead = guessHead
        self.isGuessRow = isGuessRow
        self.starts = starts
        self.best = best ?? rows.map { _ in nil }
        self.lease = lease
    }

    /// The number of logits the k-th returned row holds (0 for a best-token row).
    public func width(ofRow k: Int) -> Int {
        if best[k] != nil { return 0 }
        return isGuessRow[k] ? guessHead?.tokens.count ?? 0 : vocabSize
    }

    /// Whether the k-th returned row holds only its best token (`bestToken(ofRow:)`), no logits.
    public func isBestTokenRow(_ k: Int) -> Bool { best[k] != nil }

    /// The logits of the k-th returned row: the whole vocabulary, or for a guess row the head's
    /// tokens in the head's order. A best-token row has none (asking is a programming error).
    public func row(_ k: Int) -> ArraySlice<Float> {
        precondition(best[k] == nil, "logits row \(k) holds only its best token (a forward's bestTokenRows): use bestToken(ofRow:)")
        return values[starts[k]..<starts[k] + width(ofRow: k)]
    }

    /// The best token of the k-th returned row and its logit: `argmax()` of a full row (the
    /// first of equal largest logits), the head token at the largest logit of a guess row, or
    /// what a best-token row holds (the same token its full row's `argmax()` gives).
    public func bestToken(ofRow k: Int) -> (token: Int32, value: Float) {
        if let found = best[k] { return (Int32(found.row), found.value) }
        let values = row(k)
        guard !values.isEmpty else { return (0, -.infinity) }
        let index = values.argmax()
        return (token(at: index, inRow: k), values[values.startIndex + index])
    }

    /// The logits of the last returned row.
    public var last: ArraySlice<Float> { row(rows.count - 1) }

    /// The token whose logit is at `index` of the k-th returned row.
    public func token(at index: Int, inRow k: Int) -> Int32 {
        guard isGuessRow[k], let head = guessHead else { return Int32(index) }
        return head.tokens[index]
    }

    /// The k-th returned row over the whole vocabulary (a guess row's other tokens at
    /// -infinity): a new array, for code that wants every row alike.
    public func fullRow(_ k: Int) -> [Float] {
        precondition(best[k] == nil, "logits row \(k) holds only its best token: it has no full row")
        guard isGuessRow[k], let head = guessHead else { return Array(row(k)) }
        var full = [Float](repeating: -.infinity, count: vocabSize)
        for (value, token) in zip(row(k), head.tokens) { full[Int(token)] = value }
        return full
    }

    /// The `count` best tokens of the k-th returned row with their logits, best first, ties to
    /// the smaller token id: what `topK` of the full row gives, also for a guess row (whose
    /// tokens outside the head come last, at -infinity, smallest ids first).
    public func topTokens(_ count: Int, row k: Int) -> [(token: Int32, value: Float)] {
        Self.topTokens(count, of: row(k), tokens: isGuessRow[k] ? guessHead?.tokens : nil, vocabSize: vocabSize)
    }

    /// The best `count` of `values`, whose i-th entry is the logit of `tokens[i]` (ascending;
    /// nil: of token i), the vocabulary's other tokens at -infinity.
    public static func topTokens(
        _ count: Int, of values: ArraySlice<Float>, tokens: [Int32]?, vocabSize: Int
    ) -> [(token: Int32, value: Float)] {
        guard let tokens else { return values.topK(count).map { (token: Int32($0.index), value: $0.value) } }
        var best = values.topK(count).map { (token: tokens[$0.index], value: $0.value) }
        guard best.count < count || best.last?.value == -.infinity else { return best }
        // Fewer finite logits than asked for (a small head): the full row's order among the
        // -infinity ones is by id, whether the head holds them or not.
        best.removeAll { $0.value == -.infinity }
        let held = Dictionary(uniqueKeysWithValues: zip(tokens, values))
        for id in 0..<Int32(vocabSize) where best.count < count && (held[id] ?? -.infinity) == -.infinity {
            best.append((token: id, value: -.infinity))
        }
        return best
    }
}

extension ArraySlice where Element == Float {
    /// Index of the largest value (the first one on ties), counted from the slice's start: the
    /// scalar scan's answer (NaN never wins, except at index 0, where the scan starts), found
    /// with vector scans (`FloatScan.argmax`).
    public func argmax() -> Int {
        withUnsafeBufferPointer { values in
            guard let base = values.baseAddress else { return 0 }
            return FloatScan.argmax(base, count: values.count)
        }
    }

    /// The `k` largest values with their indices (counted from the slice's start), largest
    /// first; ties go to the smaller index. Once `k` values are held, the scan jumps to the next
    /// value above the smallest of them (`FloatScan.firstIndex(above:)`).
    public func topK(_ k: Int) -> [(index: Int, value: Float)] {
        withUnsafeBufferPointer { values in
            var indices: [Int] = []
            var best: [Float] = []
            indices.reserveCapacity(k + 1)
            best.reserveCapacity(k + 1)
            guard let base = values.baseAddress, k > 0 else { return [] }
            var i = 0
            while i < values.count {
                if best.count == k, let worst = best.last {
                    i = FloatScan.firstIndex(above: worst, in: base, from: i, count: values.count)
                    if i == values.count { break }
                }
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
            return zip(indices, best).map { (index: $0, value: $1) }
        }
    }
}
