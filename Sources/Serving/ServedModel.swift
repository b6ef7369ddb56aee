import Decoding
import Models
import Tokenizer

/// The model a server serves and how it decodes: the one `Transformer` in memory, its
/// tokenizer, the prompt decoder built on it (nil: plain decoding only) and the defaults a
/// request may override.
public struct ServedModel {
    /// The name clients use (`model` in requests, `GET /v1/models`).
    public let id: String
    public let transformer: Transformer
    public let tokenizer: SentencePieceTokenizer
    /// The PPD decoder; nil serves plain decoding only.
    public let decoder: PromptDecoder?
    /// Tokens that end a generation (end of sequence, end of turn).
    public let stopTokens: Set<Int32>
    /// How chat messages become prompt text.
    public let chat: ChatPrompt
    /// The decoding of requests that do not choose one.
    public let defaultDecoding: DecodingMode
    /// Typical acceptance's epsilon and delta.
    public let posteriorThreshold: Double
    public let posteriorAlpha: Double

    public init(
        id: String, transformer: Transformer, tokenizer: SentencePieceTokenizer, decoder: PromptDecoder?,
        stopTokens: Set<Int32>, chat: ChatPrompt, defaultDecoding: DecodingMode, posteriorThreshold: Double = 0.09,
        posteriorAlpha: Double = 0.3
    ) {
        self.id = id
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.decoder = decoder
        self.stopTokens = stopTokens
        self.chat = chat
        self.defaultDecoding = decoder == nil ? .plain : defaultDecoding
        self.posteriorThreshold = posteriorThreshold
        self.posteriorAlpha = posteriorAlpha
    }

    /// Rows the decoder adds to a prompt beyond its own tokens (its prompt-token chain).
    var promptDecodingOverhead: Int {
        guard let decoder else { return 0 }
        return decoder.promptTokenCount * decoder.promptTokens.virtualTokens
    }
}

/// The limits a server puts on requests.
public struct ServingLimits: Sendable, Equatable {
    /// Largest request body in bytes (413 above it).
    public var maxBodyBytes: Int
    /// Largest `max_tokens` a request may ask for (400 above it).
    public var maxTokens: Int
    /// `max_tokens` of a request that gives none (capped by the context).
    public var defaultMaxTokens: Int
    /// Requests that may wait for the model while one runs (429 beyond them).
    public var queueCapacity: Int
    /// Seconds a request may take from arrival to its last token, waiting included (503 after).
    public var requestTimeout: Double

    public init(
        maxBodyBytes: Int = 1 << 20, maxTokens: Int = 4096, defaultMaxTokens: Int = 256, queueCapacity: Int = 16,
        requestTimeout: Double = 300
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTokens = maxTokens
        self.defaultMaxTokens = defaultMaxTokens
        self.queueCapacity = queueCapacity
        self.requestTimeout = requestTimeout
    }
}
