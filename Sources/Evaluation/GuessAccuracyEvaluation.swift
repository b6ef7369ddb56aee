import Decoding
import Foundation
import Models
import Tokenizer
import Training

/// How often prompt tokens guess the model's own greedy continuation (the paper's `eval.py`,
/// Fig. 6). Each question is continued greedily in the prompt template, the reply is cut at
/// random points, and at each cut every prompt token's guesses are ranked against the model's
/// greedy token at its distance. The continuations and cuts are made once per number of prompt
/// tokens and shared by every set measured, so sets compare on the same text.
public final class GuessAccuracyEvaluation {
    /// The accuracy of one set of prompt tokens.
    public struct Result: Sendable, Equatable {
        /// `perRank[d][k]`: the probability that the rank-k guess for distance d + 1 is the
        /// model's greedy token there (the table `GuessAccuracies` and the tree builder read).
        public var perRank: [[Double]]
        /// Mean distillation loss over the cuts.
        public var meanLoss: Double
        /// Questions that gave a sequence with cuts, and the cuts scored.
        public var questions: Int
        public var cuts: Int

        /// Cumulative top-k accuracy by distance: `cumulative[d][k - 1]` is top-k at distance d + 1.
        public var cumulative: [[Double]] {
            perRank.map { row in
                var sum = 0.0
                return row.map { sum += $0; return sum }
            }
        }
    }

    /// The frozen model.
    public let model: Transformer
    public let tokenizer: SentencePieceTokenizer
    /// The question texts (first turns).
    public let questions: [String]
    /// Template, reply length, cuts per question and seed of the prepared sequences.
    public let template: PromptTemplate
    public let replyTokens: Int
    public let cutsPerQuestion: Int
    public let seed: UInt64
    /// The model file's SHA-256, checked against each set's `base_model_sha256` (nil: not checked).
    public let modelSHA256: String?
    private let progress: (String) -> Void
    private var examples: [Int: [TrainingExamples.Example]] = [:]
    private var sequences: [[Int]: [TrainingSequence]] = [:]

    /// An evaluation on `questions`; nothing runs until the first `accuracy(of:)`. `progress`
    /// gets a line per prepared question with rate and ETA.
    public init(
        model: Transformer, tokenizer: SentencePieceTokenizer, questions: [String], template: PromptTemplate = .plain,
        replyTokens: Int = 64, cutsPerQuestion: Int = 16, seed: UInt64 = 0, modelSHA256: String? = nil,
        progress: @escaping (String) -> Void = { _ in }
    ) throws {
        guard !questions.isEmpty else { throw EvaluationError("a guess-accuracy evaluation needs at least one question") }
        guard replyTokens >= 2, cutsPerQuestion >= 1 else {
            throw EvaluationError("reply tokens must be >= 2 and cuts per question >= 1 (given \(replyTokens), \(cutsPerQuestion))")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.questions = questions
        self.template = template
        self.replyTokens = replyTokens
        self.cutsPerQuestion = cutsPerQuestion
        self.seed = seed
        self.modelSHA256 = modelSHA256
        self.progress = progress
    }

    /// The accuracy of `tokens` by distance and rank; with `head`, guesses are ranked among the
    /// head's tokens only (as `ppd generate` ranks them). Throws for tokens of another width or,
    /// when the evaluation knows the model's hash, tokens trained for another model.
    public func accuracy(of tokens: PromptTokens, rankedAmong head: GuessHead? = nil) throws -> Result {
        try tokens.validate(for: model, modelSHA256: modelSHA256)
        let prepared = try sequences(promptTokens: tokens.count, virtualTokens: tokens.virtualTokens)
        var allowed: [Bool]?
        if let head {
            var flags = [Bool](repeating: false, count: model.config.vocabSize)
            for token in head.tokens { flags[Int(token)] = true }
            allowed = flags
        }
        let (perRank, loss) = try PromptTokenObjective(model: model).accuracy(on: prepared, promptTokens: tokens, rankedAmong: allowed)
        return Result(perRank: perRank, meanLoss: loss, questions: prepared.count, cuts: prepared.reduce(0) { $0 + $1.cuts.count })
    }

    /// The accuracy of Medusa-style heads on the same continuations and cuts as prompt tokens of
    /// the same count (head k at prompt token k's distance, reading the hidden state of the row
    /// before the cut); with `head`, guesses are ranked among its tokens only. The target is the
    /// continuation's own token, which is the model's greedy token there.
    public func accuracy(of heads: MedusaHeads, rankedAmong head: GuessHead? = nil, topK: Int = 10) throws -> Result {
        try heads.validate(for: model, modelSHA256: modelSHA256)
        let objective = MedusaObjective(model: model, head: head)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: topK), count: heads.count)
        var cuts = 0, questions = 0
        var loss = 0.0
        for example in try examples(promptTokens: heads.count) where !example.cuts.isEmpty {
            let sequence = try MedusaSequence(model: model, tokens: example.tokens, cuts: example.cuts, heads: heads.count, head: head)
            let evaluation = try objective.evaluate(sequence, heads: heads, backward: false)
            questions += 1
            for (cutLoss, ranks) in zip(evaluation.losses, evaluation.ranks) {
                loss += cutLoss
                cuts += 1
                for (d, rank) in ranks.enumerated() where rank < topK { counts[d][rank] += 1 }
            }
        }
        let perRank = counts.map { $0.map { Double($0) / Double(max(cuts, 1)) } }
        return Result(perRank: perRank, meanLoss: loss / Double(max(cuts, 1)), questions: questions, cuts: cuts)
    }

    /// The model's forward over each prepared example, for N prompt tokens of V virtual tokens.
    private func sequences(promptTokens n: Int, virtualTokens v: Int) throws -> [TrainingSequence] {
        if let cached = sequences[[n, v]] { return cached }
        let made = try examples(promptTokens: n).map {
            try TrainingSequence(model: model, tokens: $0.tokens, cuts: $0.cuts, promptTokens: n, virtualTokens: v)
        }
        sequences[[n, v]] = made
        return made
    }

    /// The greedy continuations and cuts for N prompt tokens (the cuts leave N + 1 tokens).
    private func examples(promptTokens n: Int) throws -> [TrainingExamples.Example] {
        if let cached = examples[n] { return cached }
        let maker = TrainingExamples(
            template: template, reply: .selfDistilled(tokens: replyTokens), maxLength: model.config.contextLength,
            cutsPerSequence: cutsPerQuestion, promptTokens: n, seed: seed)
        var random = RandomSource(seed: seed)
        var meter = ProgressMeter(total: questions.count, unit: "questions")
        var made: [TrainingExamples.Example] = []
        for (index, question) in questions.enumerated() {
            let conversation = Conversation(id: "q\(index)", turns: [(.user, question)])
            if let example = try maker.example(conversation, model: model, tokenizer: tokenizer, random: &random) { made.append(example) }
            progress(meter.advance("greedy continuation of question \(index + 1) (N = \(n))"))
        }
        examples[n] = made
        return made
    }
}
