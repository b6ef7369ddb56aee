import Foundation
import Models

/// One training sequence run once through the frozen model for Medusa-style heads: at each cut c
/// the final hidden state of row c - 1 (the row that chose token c, after the final norm) is
/// what the heads read, and the teacher rows c ... c + K - 1 (the model's distributions of
/// tokens c + 1 ... c + K) are what head 0 ... K - 1 learn: the same cuts and targets as
/// prompt tokens at that cut (`TrainingSequence`).
public struct MedusaSequence: Sendable {
    /// The token ids.
    public let tokens: [Int32]
    /// The cuts, in order.
    public let cuts: [Int]
    /// Number of heads the teacher rows cover.
    public let heads: Int
    /// Per cut: the normalised hidden state of row cut - 1 (cuts.count x hidden).
    public let hidden: [Float]
    /// Per cut, per head: the teacher's logits (the whole vocabulary, or the guess head's tokens
    /// in its order), cuts.count x heads x width.
    public let teacher: [Float]
    /// Width of a teacher row.
    public let width: Int
    /// Per cut, per head: the sequence's own token at that distance (on self-distilled sequences
    /// the model's greedy token there).
    public let targets: [[Int32]]

    /// Runs `tokens` through `model` (one pass, no cache kept) and keeps what the cuts need;
    /// with `head` the teacher rows hold the head's tokens only (the rows a `GuessHead` computes
    /// bitwise as the full layer does). Throws for a cut that leaves fewer than `heads + 1`
    /// tokens after it or is before position 1.
    public init(model: LanguageModel, tokens: [Int32], cuts: [Int], heads k: Int, head: GuessHead?) throws {
        if let bad = cuts.first(where: { $0 < 1 || $0 + k > tokens.count - 1 }) {
            throw ModelError(
                "cut \(bad) of a \(tokens.count)-token sequence leaves fewer than \(k + 1) tokens after it (or is before position 1)")
        }
        let rows = Array(Set(cuts.flatMap { c in c..<c + k })).sorted()
        let recorder = FinalHiddenRecorder(layerCount: model.config.layerCount)
        recorder.prepare(rows: cuts.map { $0 - 1 })
        let cache = model.makeCache(capacity: tokens.count)
        let logits = try model.forward(
            tokens: tokens, cache: cache, logitRows: rows, guesses: head.map { GuessRows(head: $0, rows: rows) }, hook: recorder)
        var index: [Int: Int] = [:]
        for (k, row) in rows.enumerated() { index[row] = k }
        let hiddenSize = model.config.hiddenSize
        var residual: [Float] = []
        residual.reserveCapacity(cuts.count * hiddenSize)
        for cut in cuts {
            guard let row = recorder.kept[cut - 1] else { throw ModelError("Medusa sequence: the pass kept no hidden state for row \(cut - 1)") }
            residual += row
        }
        hidden = model.finalNorm(residual, rows: cuts.count)
        width = head?.tokens.count ?? model.config.vocabSize
        var teacher: [Float] = []
        teacher.reserveCapacity(cuts.count * k * width)
        for cut in cuts {
            for j in 0..<k { teacher += logits.row(index[cut + j]!) }
        }
        self.teacher = teacher
        targets = cuts.map { c in (0..<k).map { tokens[c + $0 + 1] } }
        self.tokens = tokens
        self.cuts = cuts
        heads = k
    }
}
