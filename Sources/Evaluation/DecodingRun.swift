import Decoding

/// One generation by any method (plain decoding or prompt decoding with any tree or drafter),
/// step by step, under one timing rule: a step's seconds are its wall time from input to the
/// tokens it emits (forward pass, acceptance or sampling, cache compaction), and the decoding
/// speed counts the tokens after the prefill's over the steps' seconds.
public struct DecodingRun: Sendable {
    /// One step after the prefill.
    public struct Step: Sendable, Equatable {
        /// Batch rows of the forward pass (1 for plain decoding).
        public var rows: Int
        /// Guess nodes verified (0 for plain decoding).
        public var nodes: Int
        /// Distances that had guesses.
        public var depth: Int
        /// Guesses accepted.
        public var accepted: Int
        /// Tokens emitted (accepted guesses + the next token; fewer at a stop).
        public var emitted: Int
        /// Wall time of the step.
        public var seconds: Double
        /// Wall time of its forward pass alone.
        public var forwardSeconds: Double
        /// Rows and accepted guesses that came from a drafter other than the prompt tokens.
        public var draftRows: Int
        public var acceptedDrafted: Int

        /// A step record.
        public init(
            rows: Int, nodes: Int, depth: Int, accepted: Int, emitted: Int, seconds: Double, forwardSeconds: Double,
            draftRows: Int = 0, acceptedDrafted: Int = 0
        ) {
            self.rows = rows
            self.nodes = nodes
            self.depth = depth
            self.accepted = accepted
            self.emitted = emitted
            self.seconds = seconds
            self.forwardSeconds = forwardSeconds
            self.draftRows = draftRows
            self.acceptedDrafted = acceptedDrafted
        }
    }

    /// The input token ids.
    public var prompt: [Int32]
    /// Generated token ids (including a final stop token, if one was produced).
    public var tokens: [Int32]
    public var stopReason: StopReason
    /// Wall time of the prefill and the choice of the first token.
    public var prefillSeconds: Double
    /// Every step after the prefill.
    public var steps: [Step]

    /// A run from its parts (as read back from a result file).
    public init(prompt: [Int32], tokens: [Int32], stopReason: StopReason, prefillSeconds: Double, steps: [Step]) {
        self.prompt = prompt
        self.tokens = tokens
        self.stopReason = stopReason
        self.prefillSeconds = prefillSeconds
        self.steps = steps
    }

    /// A plain decoding run: one row and one token per step.
    public init(_ result: GenerationResult) {
        prompt = result.promptTokens
        tokens = result.tokens
        stopReason = result.stopReason
        prefillSeconds = result.prefillSeconds
        steps = zip(result.stepSeconds, result.forwardSeconds).map {
            Step(rows: 1, nodes: 0, depth: 0, accepted: 0, emitted: 1, seconds: $0, forwardSeconds: $1, draftRows: 0, acceptedDrafted: 0)
        }
    }

    /// A prompt-decoding run (its prefill record becomes `prefillSeconds`).
    public init(_ result: PromptDecodingResult) {
        prompt = result.prompt
        tokens = result.tokens
        stopReason = result.stopReason
        prefillSeconds = result.prefillSeconds
        steps = result.steps.dropFirst().map {
            Step(
                rows: $0.inputRows, nodes: $0.treeNodes, depth: $0.depth, accepted: $0.accepted, emitted: $0.tokens.count,
                seconds: $0.seconds, forwardSeconds: $0.forwardSeconds, draftRows: $0.draftRows, acceptedDrafted: $0.acceptedDrafted)
        }
    }

    /// Wall time of all steps after the prefill.
    public var decodeSeconds: Double { steps.reduce(0) { $0 + $1.seconds } }
    /// Tokens emitted after the prefill's.
    public var decodeTokens: Int { steps.reduce(0) { $0 + $1.emitted } }
    /// Decoding speed: `decodeTokens / decodeSeconds` (0 without steps).
    public var tokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0 }
    /// Tokens per step, tau (1 for plain decoding; 0 without steps).
    public var tau: Double { steps.isEmpty ? 0 : Double(decodeTokens) / Double(steps.count) }
    /// Mean batch rows per step.
    public var meanRows: Double { steps.isEmpty ? 0 : Double(steps.reduce(0) { $0 + $1.rows }) / Double(steps.count) }
    /// Mean forward-pass seconds per step.
    public var meanForwardSeconds: Double { steps.isEmpty ? 0 : steps.reduce(0) { $0 + $1.forwardSeconds } / Double(steps.count) }
}

/// A method's runs over a set of questions (and rounds), summed the way speeds are compared:
/// total tokens over total seconds.
public struct RunSummary: Sendable {
    /// The runs, `runs[question][round]`.
    public var runs: [[DecodingRun]]

    public init(runs: [[DecodingRun]]) { self.runs = runs }

    private var all: [DecodingRun] { runs.flatMap { $0 } }
    /// Decoding speed over every run.
    public var tokensPerSecond: Double {
        let seconds = all.reduce(0) { $0 + $1.decodeSeconds }
        return seconds > 0 ? Double(all.reduce(0) { $0 + $1.decodeTokens }) / seconds : 0
    }
    /// Tokens per step over every run.
    public var tau: Double {
        let steps = all.reduce(0) { $0 + $1.steps.count }
        return steps > 0 ? Double(all.reduce(0) { $0 + $1.decodeTokens }) / Double(steps) : 0
    }
    /// Mean batch rows per step over every run.
    public var meanRows: Double {
        let steps = all.flatMap(\.steps)
        return steps.isEmpty ? 0 : Double(steps.reduce(0) { $0 + $1.rows }) / Double(steps.count)
    }
    /// Mean forward seconds per step over every run.
    public var meanForwardSeconds: Double {
        let steps = all.flatMap(\.steps)
        return steps.isEmpty ? 0 : steps.reduce(0) { $0 + $1.forwardSeconds } / Double(steps.count)
    }
    /// Each question's speed (median over its rounds).
    public var questionTokensPerSecond: [Double] { runs.map { median($0.map(\.tokensPerSecond)) } }
    /// The tokens of each question's first round.
    public var tokens: [[Int32]] { runs.map { $0.first?.tokens ?? [] } }

    /// Speed relative to `baseline`: the median over questions of the per-question ratio of
    /// speeds (each a median over rounds), robust to a slow spell landing on one question.
    public func speedup(over baseline: RunSummary) -> Double {
        median(zip(questionTokensPerSecond, baseline.questionTokensPerSecond).compactMap { $1 > 0 ? $0 / $1 : nil })
    }

    /// Whether every question's tokens equal `other`'s (same questions, first rounds).
    public func sameTokens(as other: RunSummary) -> Bool { tokens == other.tokens }
}
