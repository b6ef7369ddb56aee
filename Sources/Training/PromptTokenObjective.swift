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

    /// When set, the prompt rows' logits are the head's (compact, see
    /// `Transformer.forward(...head:recordingInto:)`): the loss compares them with the teacher's
    /// logits for the same tokens (its distribution renormalised over the head), and a guess's
    /// rank counts among the head's tokens, as `ppd generate --ppd` ranks guesses with that head.
    /// A greedy token outside the head is a miss (rank `Int.max`).
    public var head: GuessHead?

    /// An objective over `model`, optionally restricted to the guess head `head`.
    public init(model: Transformer, loss: DistillationLoss = DistillationLoss(), head: GuessHead? = nil) {
        self.model = model
        self.loss = loss
        self.head = head
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

    /// What several cuts of one sequence give, run as one batch.
    public struct BatchEvaluation {
        /// The loss at each cut, in the order of the cuts asked for.
        public var losses: [Double]
        /// The sum over the cuts of d loss / d embeddings (added in the order of the cuts),
        /// laid out as `PromptTokens.embeddings`; zeros without a backward pass.
        public var gradient: [Float]
        /// Per cut, per prompt token: the rank of the teacher's argmax among the student's logits.
        public var ranks: [[Int]]
    }

    /// Loss and gradient at `cut` of `sequence` for `promptTokens` (the first `sequence.promptTokens`
    /// of them; all virtual tokens). With `backward: false` only the loss and ranks are computed.
    /// `rankedAmong`, when given (one flag per vocabulary id), ranks guesses among the flagged
    /// tokens only, as a `GuessHead` does; a target outside them gets rank `Int.max`.
    public func evaluate(
        _ sequence: TrainingSequence, cut: Int, promptTokens tokens: PromptTokens, backward: Bool = true,
        rankedAmong allowed: [Bool]? = nil
    ) throws -> Evaluation {
        let batch = try evaluate(sequence, cuts: [cut], promptTokens: tokens, backward: backward, rankedAmong: allowed)
        return Evaluation(loss: batch.losses[0], gradient: batch.gradient, ranks: batch.ranks[0])
    }

    /// `evaluate(_:cut:...)` for several cuts at once: the prompt rows of every cut run as one
    /// batch over the cached prefix (each cut's rows see the slots before their cut and each
    /// other as at inference, never another cut's rows), so the weights are read once for all
    /// cuts. Each cut's loss, ranks and gradient rows are those of running it alone (the kernels
    /// are batch invariant); the gradient is their sum.
    public func evaluate(
        _ sequence: TrainingSequence, cuts: [Int], promptTokens tokens: PromptTokens, backward: Bool = true,
        rankedAmong allowed: [Bool]? = nil
    ) throws -> BatchEvaluation {
        let n = sequence.promptTokens, hidden = model.config.hiddenSize
        guard tokens.hiddenSize == hidden else {
            throw PromptTokensError(.hiddenSizeMismatch(promptTokens: tokens.hiddenSize, model: hidden))
        }
        guard tokens.count >= n else {
            throw ModelError("the training sequence was prepared for \(n) prompt tokens but only \(tokens.count) are given")
        }
        if head != nil && allowed != nil {
            throw ModelError("evaluate: rank among a guess head or among flagged tokens, not both")
        }
        // As many cuts per batch as the cache holds after the sequence (all of them unless the
        // model's context is short).
        let rows = n * tokens.virtualTokens
        let perBatch = max(1, (sequence.cache.capacity - sequence.tokens.count) / rows)
        var result = BatchEvaluation(losses: [], gradient: [Float](repeating: 0, count: tokens.embeddings.count), ranks: [])
        for start in stride(from: 0, to: cuts.count, by: perBatch) {
            let part = try evaluateBatch(
                sequence, cuts: Array(cuts[start..<min(start + perBatch, cuts.count)]), promptTokens: tokens, backward: backward,
                rankedAmong: allowed, addingGradientTo: &result.gradient)
            result.losses += part.losses
            result.ranks += part.ranks
        }
        return result
    }

    /// One batch of cuts; adds each cut's gradient to `gradient` in the order of the cuts.
    private func evaluateBatch(
        _ sequence: TrainingSequence, cuts: [Int], promptTokens tokens: PromptTokens, backward: Bool, rankedAmong allowed: [Bool]?,
        addingGradientTo gradient: inout [Float]
    ) throws -> (losses: [Double], ranks: [[Int]]) {
        let n = sequence.promptTokens, v = tokens.virtualTokens
        let hidden = model.config.hiddenSize, vocab = model.config.vocabSize
        let cache = sequence.cache
        let length = sequence.tokens.count
        let rows = n * v
        var teachers: [[Float]] = []
        for cut in cuts {
            var teacher: [Float] = []
            for k in 0..<n { teacher += try sequence.teacher(cut: cut, promptToken: k) }
            teachers.append(teacher)
        }
        let embeddings = Array(tokens.embeddings.prefix(rows * hidden))
        var batchEmbeddings: [Float] = []
        var positions: [Int32] = []
        var limits: [Int] = []
        batchEmbeddings.reserveCapacity(cuts.count * rows * hidden)
        for cut in cuts {
            batchEmbeddings += embeddings
            positions += (0..<rows).map { Int32(cut + $0 / v) }
            limits += [Int](repeating: cut, count: rows)
        }
        let block = try VerificationLayout.prefillMask(inputCount: 0, promptTokens: n, virtualTokens: v, attention: tokens.attention)
        var mask = AttentionMask.blockDiagonal([AttentionMask](repeating: block, count: cuts.count))
        mask.cacheSlotLimits = limits
        defer { try? cache.truncate(to: length) }

        let tape = ForwardTape()
        let logits: Logits
        if let head {
            logits = try model.forward(
                embeddings: batchEmbeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, head: head, recordingInto: tape)
        } else if backward {
            logits = try model.forward(
                embeddings: batchEmbeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, recordingInto: tape)
        } else {
            logits = try model.forward(embeddings: batchEmbeddings, positions: positions, mask: mask, cache: cache, logitRows: nil)
        }
        let width = logits.vocabSize  // the head's size with a head
        var losses: [Double] = []
        var ranks: [[Int]] = []
        var gradLogits: [Float] = []
        if backward { gradLogits.reserveCapacity(logits.values.count) }
        for (j, teacher) in teachers.enumerated() {
            // The teacher's logits over the student's tokens (all, or the head's in its order).
            let compactTeacher = head.map { head in
                (0..<n).flatMap { k in head.tokens.map { teacher[k * vocab + Int($0)] } }
            } ?? teacher
            let student = Array(logits.values[(j * rows * width)..<((j + 1) * rows * width)])
            let (value, grad) = loss.evaluate(student: student, teacher: compactTeacher, promptTokens: n, virtualTokens: v, vocab: width)
            losses.append(value)
            if backward { gradLogits += grad }
            ranks.append((0..<n).map { k in
                let greedy = teacher[(k * vocab)..<((k + 1) * vocab)].argmax()
                var mean = [Float](repeating: 0, count: width)
                for r in 0..<v {
                    let row = logits.row(j * rows + k * v + r)
                    for (i, x) in row.enumerated() { mean[i] += x }
                }
                let target: Int
                if let head {
                    guard let index = head.index(of: Int32(greedy)) else { return Int.max }
                    target = index
                } else {
                    target = greedy
                }
                let score = mean[target]
                if let allowed {
                    return allowed[target] ? zip(mean, allowed).reduce(0) { $1.1 && $1.0 > score ? $0 + 1 : $0 } : Int.max
                }
                return mean.reduce(0) { $1 > score ? $0 + 1 : $0 }
            })
        }

        if backward {
            let gradRows = try model.backward(tape, gradLogits: gradLogits)
            for j in 0..<cuts.count {
                let base = j * rows * hidden
                for i in 0..<(rows * hidden) { gradient[i] += gradRows[base + i] }
            }
        }
        return (losses, ranks)
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
        for sequence in sequences where !sequence.cuts.isEmpty {
            let e = try evaluate(sequence, cuts: sequence.cuts, promptTokens: tokens, backward: false, rankedAmong: allowed)
            for (cutLoss, cutRanks) in zip(e.losses, e.ranks) {
                loss += cutLoss
                total += 1
                for (k, rank) in cutRanks.enumerated() where rank < topK { counts[k][rank] += 1 }
            }
        }
        let accuracy = counts.map { row in row.map { Double($0) / Double(max(total, 1)) } }
        return (accuracy, loss / Double(max(total, 1)))
    }
}
