import Decoding
import Foundation
import Models

/// The loss of prompt tokens at one cut of a `TrainingSequence`, and its gradient with respect to
/// the prompt-token embeddings: the prompt rows run over the cached prefix (only the first `cut`
/// slots visible, the virtual tokens masked as at inference), the loss compares their logits with
/// the teacher rows, and the backward pass carries the gradient to their input embeddings.
public struct PromptTokenObjective {
    /// The frozen model.
    public let model: Transformer
    /// The objective.
    public var loss: DistillationLoss

    /// An objective over `model`.
    public init(model: Transformer, loss: DistillationLoss = DistillationLoss()) {
        self.model = model
        self.loss = loss
    }

    /// What one cut gives.
    public struct Evaluation {
        /// The loss at this cut.
        public var loss: Double
        /// d loss / d embeddings, laid out as `PromptTokens.embeddings`.
        public var gradient: [Float]
        /// Per prompt token: the rank of the teacher's argmax among the student's logits
        /// (0 = the student's top-1 guess is the teacher's greedy token).
        public var ranks: [Int]
    }

    /// Loss and gradient at `cut` of `sequence` for `promptTokens` (the first `sequence.promptTokens`
    /// of them; all virtual tokens). With `backward: false` only the loss and ranks are computed.
    /// `rankedAmong`, when given (one flag per vocabulary id), ranks guesses among the flagged
    /// tokens only, as a `GuessHead` does; a target outside them gets rank `Int.max`.
    public func evaluate(
        _ sequence: TrainingSequence, cut: Int, promptTokens tokens: PromptTokens, backward: Bool = true,
        rankedAmong allowed: [Bool]? = nil
    ) throws -> Evaluation {
        let n = sequence.promptTokens, v = tokens.virtualTokens
        var teacher: [Float] = []
        for k in 0..<n { teacher += try sequence.teacher(cut: cut, promptToken: k) }
        let hidden = model.config.hiddenSize, vocab = model.config.vocabSize
        guard tokens.hiddenSize == hidden else {
            throw PromptTokensError(.hiddenSizeMismatch(promptTokens: tokens.hiddenSize, model: hidden))
        }
        guard tokens.count >= n else {
            throw ModelError("the training sequence was prepared for \(n) prompt tokens but only \(tokens.count) are given")
        }
        let rows = n * v
        let embeddings = Array(tokens.embeddings.prefix(rows * hidden))
        let positions = (0..<rows).map { Int32(cut + $0 / v) }
        var mask = VerificationLayout.prefillMask(inputCount: 0, promptTokens: n, virtualTokens: v, attention: tokens.attention)
        mask.visibleCacheSlots = cut
        let cache = sequence.cache
        let length = sequence.tokens.count
        defer { cache.truncate(to: length) }

        let tape = ForwardTape()
        let logits = try model.forward(
            embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, recordingInto: tape)
        let (value, gradLogits) = loss.evaluate(student: logits.values, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab)

        var ranks: [Int] = []
        for k in 0..<n {
            let target = teacher[(k * vocab)..<((k + 1) * vocab)].argmax()
            var mean = [Float](repeating: 0, count: vocab)
            for r in 0..<v {
                let row = logits.row(k * v + r)
                for (i, x) in row.enumerated() { mean[i] += x }
            }
            let score = mean[target]
            if let allowed {
                ranks.append(allowed[target] ? zip(mean, allowed).reduce(0) { $1.1 && $1.0 > score ? $0 + 1 : $0 } : Int.max)
            } else {
                ranks.append(mean.reduce(0) { $1 > score ? $0 + 1 : $0 })
            }
        }

        var gradient = [Float](repeating: 0, count: tokens.embeddings.count)
        if backward {
            let gradRows = try model.backward(tape, gradLogits: gradLogits)
            for i in 0..<gradRows.count { gradient[i] = gradRows[i] }
        }
        return Evaluation(loss: value, gradient: gradient, ranks: ranks)
    }

    /// Guess accuracy on `sequences`: `accuracy[d][r]` is the fraction of cuts at which prompt
    /// token d's rank-r guess is the teacher's greedy token at distance d + 1 (per rank, not
    /// cumulative; ranks from 0 to `topK - 1`), with the mean loss over the cuts. On
    /// self-distilled sequences the teacher's greedy token is the sequence's own next token.
    public func accuracy(
        on sequences: [TrainingSequence], promptTokens tokens: PromptTokens, topK: Int = 10, rankedAmong allowed: [Bool]? = nil
    ) throws -> (accuracy: [[Double]], loss: Double) {
        let n = sequences.first?.promptTokens ?? 0
        var counts = [[Int]](repeating: [Int](repeating: 0, count: topK), count: n)
        var total = 0
        var loss = 0.0
        for sequence in sequences {
            for cut in sequence.cuts {
                let e = try evaluate(sequence, cut: cut, promptTokens: tokens, backward: false, rankedAmong: allowed)
                loss += e.loss
                total += 1
                for (k, rank) in e.ranks.enumerated() where rank < topK { counts[k][rank] += 1 }
            }
        }
        let accuracy = counts.map { row in row.map { Double($0) / Double(max(total, 1)) } }
        return (accuracy, loss / Double(max(total, 1)))
    }
}
