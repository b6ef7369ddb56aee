import Foundation
import Models

/// One training sequence run once through the frozen model: the keys and values of every
/// position (so the prompt tokens of every cut attend to the prefix without recomputing it) and
/// the teacher logits each cut needs.
///
/// At a cut c the context is tokens[0..<c]; prompt token k (0-based) sits at position c + k and
/// learns the model's distribution of tokens[c + k + 1], which is the full pass's logits row
/// c + k (causal attention: that row saw exactly tokens[0...c + k]). So a cut needs
/// c + n <= tokens.count - 1: at least n + 1 tokens after the cut, as in the paper.
public final class TrainingSequence {
    /// The token ids.
    public let tokens: [Int32]
    /// The cuts this sequence was prepared for.
    public let cuts: [Int]
    /// Number of prompt tokens the teacher rows cover.
    public let promptTokens: Int
    let cache: KVCache
    /// Teacher logits per position (rows c..<c + n of each cut).
    private let teacherRows: [Int: Int]
    private let teacherLogits: Logits

    /// Runs `tokens` through `model` and keeps what the cuts need. Throws for a cut that leaves
    /// fewer than `promptTokens + 1` tokens after it or is before position 1, or a sequence
    /// that does not fit the context with the prompt tokens after it.
    public init(model: LanguageModel, tokens: [Int32], cuts: [Int], promptTokens n: Int, virtualTokens v: Int) throws {
        if let bad = cuts.first(where: { $0 < 1 || $0 + n > tokens.count - 1 }) {
            throw ModelError(
                "cut \(bad) of a \(tokens.count)-token sequence leaves fewer than \(n + 1) tokens after it (or is before position 1)")
        }
        guard tokens.count + n * v <= model.config.contextLength else {
            throw ModelError(
                "a training sequence of \(tokens.count) tokens plus \(n * v) prompt rows does not fit the context of \(model.config.contextLength)")
        }
        // Room for the prompt rows of every cut at once (the model's context caps it; the
        // objective then runs the cuts in several batches).
        let capacity = tokens.count + max(cuts.count, 1) * n * v
        let rows = Array(Set(cuts.flatMap { c in c..<c + n })).sorted()
        let cache = model.makeCache(capacity: capacity)
        teacherLogits = try model.forward(tokens: tokens, cache: cache, logitRows: rows)
        var index: [Int: Int] = [:]
        for (k, row) in rows.enumerated() { index[row] = k }
        teacherRows = index
        self.cache = cache
        self.tokens = tokens
        self.cuts = cuts
        self.promptTokens = n
    }

    /// The teacher logits for prompt token k at cut `cut` (a row of `vocab` floats). Throws for
    /// a cut the sequence was not prepared for.
    func teacher(cut: Int, promptToken k: Int) throws -> ArraySlice<Float> {
        guard cuts.contains(cut), let row = teacherRows[cut + k] else {
            throw ModelError("cut \(cut) is not one of this training sequence's prepared cuts \(cuts)")
        }
        return teacherLogits.row(row)
    }
}
