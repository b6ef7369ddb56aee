import Foundation

/// OpenAI's token counts.
public struct Usage: Encodable, Sendable, Equatable {
    public let promptTokens: Int
    public let completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens" }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
    }
}

/// The `ppd` field of a finished response: how the text was decoded, step by step (the
/// prefill not counted), as `ppd generate --json` reports it.
public struct DecodingReport: Encodable, Sendable {
    public let decoding: String
    public let policy: String
    public let steps: Int
    /// Mean tokens per step after the prefill (tau).
    public let tokensPerStep: Double
    public let stepTokens: [Int]
    public let stepRows: [Int]
    public let stepDraftRows: [Int]
    public let stepAcceptedDrafted: [Int]
    public let prefillTokensPerSecond: Double
    public let decodeTokensPerSecond: Double

    public init(_ summary: GenerationSummary) {
        let steps = summary.steps.dropFirst()
        decoding = summary.decoding.rawValue
        policy = summary.policy
        self.steps = summary.decodeSteps
        tokensPerStep = summary.tokensPerStep
        stepTokens = steps.map(\.tokens)
        stepRows = steps.map(\.rows)
        stepDraftRows = steps.map(\.draftRows)
        stepAcceptedDrafted = steps.map(\.acceptedDrafted)
        prefillTokensPerSecond = summary.prefillTokensPerSecond
        decodeTokensPerSecond = summary.decodeTokensPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case decoding, policy, steps, tokensPerStep = "tokens_per_step", stepTokens = "step_tokens", stepRows = "step_rows"
        case stepDraftRows = "step_draft_rows", stepAcceptedDrafted = "step_accepted_drafted"
        case prefillTokensPerSecond = "prefill_tokens_per_second", decodeTokensPerSecond = "decode_tokens_per_second"
    }
}

/// The `ppd` field of a streamed chunk: the step that produced its text.
public struct StepChunkReport: Encodable, Sendable {
    public let step: Int
    public let tokens: Int
    public let rows: Int
    public let draftRows: Int
    public let acceptedDrafted: Int
    public let seconds: Double

    public init(_ report: StepReport) {
        step = report.index
        tokens = report.tokens
        rows = report.rows
        draftRows = report.draftRows
        acceptedDrafted = report.acceptedDrafted
        seconds = report.seconds
    }

    enum CodingKeys: String, CodingKey {
        case step, tokens, rows, draftRows = "draft_rows", acceptedDrafted = "accepted_drafted", seconds
    }
}

/// Builds the response bodies and stream chunks of one request (its id, creation time and model
/// are shared by all of them).
public struct ResponseWriter: Sendable {
    public let kind: CompletionKind
    public let id: String
    public let created: Int
    public let model: String

    public init(kind: CompletionKind, model: String, created: Date = Date()) {
        self.kind = kind
        self.model = model
        self.created = Int(created.timeIntervalSince1970)
        let suffix = (0..<12).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + suffix
    }

    /// The whole response of a request that did not stream.
    public func response(_ summary: GenerationSummary) throws -> Data {
        let choice: Choice
        switch kind {
        case .completion: choice = Choice(text: summary.text, finishReason: summary.finishReason.rawValue)
        case .chat: choice = Choice(message: Message(role: "assistant", content: summary.text), finishReason: summary.finishReason.rawValue)
        }
        return try encode(Body(
            id: id, object: kind == .chat ? "chat.completion" : "text_completion", created: created, model: model, choices: [choice],
            usage: Usage(promptTokens: summary.promptTokens, completionTokens: summary.tokens.count), ppd: .summary(DecodingReport(summary))))
    }

    /// The first chunk of a chat stream (the assistant's role, no text); nil for completions.
    public func openingChunk() throws -> Data? {
        guard kind == .chat else { return nil }
        return try chunk(Choice(delta: Message(role: "assistant", content: ""), finishReason: nil), ppd: nil)
    }

    /// A chunk with `text` and the step that produced it.
    public func textChunk(_ text: String, step: StepReport?) throws -> Data {
        let choice = kind == .chat
            ? Choice(delta: Message(role: nil, content: text), finishReason: nil) : Choice(text: text, finishReason: nil)
        return try chunk(choice, ppd: step.map { .step(StepChunkReport($0)) })
    }

    /// The last chunk: the finish reason and the decoding report.
    public func finalChunk(_ summary: GenerationSummary) throws -> Data {
        let choice = kind == .chat
            ? Choice(delta: Message(role: nil, content: nil), finishReason: summary.finishReason.rawValue)
            : Choice(text: "", finishReason: summary.finishReason.rawValue)
        return try chunk(choice, ppd: .summary(DecodingReport(summary)))
    }

    /// The usage chunk (`stream_options.include_usage`): no choices, the token counts.
    public func usageChunk(_ summary: GenerationSummary) throws -> Data {
        try encode(Body(
            id: id, object: chunkObject, created: created, model: model, choices: [],
            usage: Usage(promptTokens: summary.promptTokens, completionTokens: summary.tokens.count), ppd: nil))
    }

    private var chunkObject: String { kind == .chat ? "chat.completion.chunk" : "text_completion" }

    private func chunk(_ choice: Choice, ppd: PPDField?) throws -> Data {
        try encode(Body(id: id, object: chunkObject, created: created, model: model, choices: [choice], usage: nil, ppd: ppd))
    }

    private func encode(_ body: Body) throws -> Data { try APIJSON.encoder.encode(body) }

    enum PPDField: Encodable {
        case summary(DecodingReport)
        case step(StepChunkReport)

        func encode(to encoder: Encoder) throws {
            switch self {
            case .summary(let report): try report.encode(to: encoder)
            case .step(let report): try report.encode(to: encoder)
            }
        }
    }

    struct Message: Encodable {
        let role: String?
        let content: String?

        enum CodingKeys: String, CodingKey { case role, content }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(role, forKey: .role)
            try container.encodeIfPresent(content, forKey: .content)
        }
    }

    struct Choice: Encodable {
        var text: String?
        var message: Message?
        var delta: Message?
        let finishReason: String?

        init(text: String, finishReason: String?) {
            self.text = text
            self.finishReason = finishReason
        }

        init(message: Message, finishReason: String?) {
            self.message = message
            self.finishReason = finishReason
        }

        init(delta: Message, finishReason: String?) {
            self.delta = delta
            self.finishReason = finishReason
        }

        enum CodingKeys: String, CodingKey { case index, text, message, delta, logprobs, finishReason = "finish_reason" }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(0, forKey: .index)
            try container.encodeIfPresent(text, forKey: .text)
            try container.encodeIfPresent(message, forKey: .message)
            try container.encodeIfPresent(delta, forKey: .delta)
            try container.encodeNil(forKey: .logprobs)
            try container.encode(finishReason, forKey: .finishReason)
        }
    }

    struct Body: Encodable {
        let id: String
        let object: String
        let created: Int
        let model: String
        let choices: [Choice]
        let usage: Usage?
        let ppd: PPDField?

        enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, ppd }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(object, forKey: .object)
            try container.encode(created, forKey: .created)
            try container.encode(model, forKey: .model)
            try container.encode(choices, forKey: .choices)
            try container.encodeIfPresent(usage, forKey: .usage)
            try container.encodeIfPresent(ppd, forKey: .ppd)
        }
    }
}
