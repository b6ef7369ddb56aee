/// One forward pass of a generation as a client sees it.
public struct StepReport: Sendable, Equatable {
    /// 0 for the prefill, then one per decode or verification step.
    public let index: Int
    /// Tokens the step emitted (accepted guesses + 1 for PPD, 1 for plain decoding).
    public let tokens: Int
    /// Batch rows of the step's forward pass.
    public let rows: Int
    /// Rows of drafted (prompt-lookup) tokens in the step.
    public let draftRows: Int
    /// Drafted tokens the step accepted.
    public let acceptedDrafted: Int
    /// Wall time of the step.
    public let seconds: Double

    public init(index: Int, tokens: Int, rows: Int, draftRows: Int = 0, acceptedDrafted: Int = 0, seconds: Double) {
        self.index = index
        self.tokens = tokens
        self.rows = rows
        self.draftRows = draftRows
        self.acceptedDrafted = acceptedDrafted
        self.seconds = seconds
    }
}

/// Why a completion ended, in OpenAI's terms.
public enum FinishReason: String, Sendable {
    /// A stop token or a stop sequence.
    case stop
    /// `max_tokens`, or the context is full.
    case length
}

/// What a finished generation produced.
public struct GenerationSummary: Sendable, Equatable {
    /// The text returned (cut before a stop sequence).
    public let text: String
    /// Generated token ids (a stop token included).
    public let tokens: [Int32]
    public let promptTokens: Int
    public let finishReason: FinishReason
    public let decoding: DecodingMode
    /// The acceptance policy (`greedy`, `typical`, `rejection`; plain decoding: `sampling` or `greedy`).
    public let policy: String
    /// Every step, the prefill first.
    public let steps: [StepReport]
    public let prefillTokensPerSecond: Double
    /// Tokens after the prefill's per second of decode steps.
    public let decodeTokensPerSecond: Double

    /// Decode or verification steps after the prefill.
    public var decodeSteps: Int { max(steps.count - 1, 0) }
    /// Mean tokens per step after the prefill (tau; 1 for plain decoding).
    public var tokensPerStep: Double {
        decodeSteps > 0 ? Double(steps.dropFirst().reduce(0) { $0 + $1.tokens }) / Double(decodeSteps) : 0
    }
}

/// What a generation streams: text as steps emit it, then the summary.
public enum GenerationEvent: Sendable {
    /// New text (possibly empty: held back by a stop-sequence check, or a partial character)
    /// and the step that made it; the report is nil for the text flushed at the end.
    case text(String, StepReport?)
    case finished(GenerationSummary)
}
