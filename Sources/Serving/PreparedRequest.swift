import Decoding

/// A request checked against the served model: tokenized, its budget fixed, ready to queue.
public struct PreparedRequest: Sendable {
    public let request: CompletionRequest
    /// The prompt's token ids (BOS first for text).
    public let promptTokens: [Int32]
    /// Tokens to generate at most.
    public let maxTokens: Int
    public let decoding: DecodingMode
    /// Stop sequences: the request's, and the chat template's end of turn for chat.
    public let stops: [String]
}

extension ServedModel {
    /// Checks `request` against this model and `limits`: the model name (404), token ids in the
    /// vocabulary, the prompt and budget within the context (400, `context_length_exceeded`),
    /// `max_tokens` within the limit, PPD available when asked for.
    public func prepare(_ request: CompletionRequest, limits: ServingLimits) throws -> PreparedRequest {
        if let name = request.model, name != id {
            throw APIError.notFound("the model \"\(name)\" does not exist: this server serves \"\(id)\"", param: "model", code: "model_not_found")
        }
        let decoding = request.decoding ?? defaultDecoding
        if decoding == .ppd && decoder == nil {
            throw APIError.invalidRequest("decoding \"ppd\" is not available: the server was started without prompt tokens", param: "decoding")
        }
        var stops = request.stop
        let prompt: [Int32]
        switch request.prompt {
        case .text(let text):
            prompt = tokenizer.encode(text)
        case .tokens(let ids):
            let vocabulary = transformer.config.vocabSize
            if let bad = ids.first(where: { Int($0) >= vocabulary }) {
                throw APIError.invalidRequest("prompt token \(bad) is outside the vocabulary of \(vocabulary) tokens", param: "prompt")
            }
            prompt = ids
        case .messages(let messages):
            prompt = tokenizer.encode(chat.text(for: messages))
            stops += chat.stopSequences
        }
        let context = transformer.config.contextLength
        let overhead = decoding == .ppd ? promptDecodingOverhead : 0
        let param = request.kind == .chat ? "messages" : "prompt"
        guard prompt.count + overhead < context else {
            throw APIError.invalidRequest(
                "the prompt has \(prompt.count) tokens, which does not fit the model's context of \(context) tokens"
                    + (overhead > 0 ? " with PPD's \(overhead) prompt-token rows" : ""),
                param: param, code: "context_length_exceeded")
        }
        if let asked = request.maxTokens, asked > limits.maxTokens {
            throw APIError.invalidRequest(
                "max_tokens is \(asked): this server allows at most \(limits.maxTokens)", param: "max_tokens")
        }
        let room = context - prompt.count - overhead
        if let asked = request.maxTokens, asked > room {
            throw APIError.invalidRequest(
                "max_tokens is \(asked), but the \(prompt.count)-token prompt leaves room for \(room) in the model's context of \(context) tokens",
                param: "max_tokens", code: "context_length_exceeded")
        }
        let maxTokens = request.maxTokens ?? min(limits.defaultMaxTokens, room)
        return PreparedRequest(request: request, promptTokens: prompt, maxTokens: maxTokens, decoding: decoding, stops: stops)
    }
}
