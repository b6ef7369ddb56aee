import Decoding
import Foundation

/// Which endpoint a request came to.
public enum CompletionKind: String, Sendable {
    /// `POST /v1/completions`: a prompt continued as given.
    case completion
    /// `POST /v1/chat/completions`: messages put through the chat template.
    case chat
}

/// Plain autoregressive decoding or parallel prompt decoding.
public enum DecodingMode: String, Sendable, CaseIterable {
    case ppd, plain
}

/// One message of a chat request.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// What a request asks the model to continue.
public enum PromptInput: Sendable, Equatable {
    /// Text, tokenized with BOS as `ppd generate --prompt` does.
    case text(String)
    /// Token ids, used as given.
    case tokens([Int32])
    /// A conversation for the chat template.
    case messages([ChatMessage])
}

/// A completion or chat completion request, checked field by field (OpenAI's field names; a
/// field of the wrong type or out of range is a 400 naming it).
public struct CompletionRequest: Sendable, Equatable {
    public var kind: CompletionKind
    /// The model named by the request (nil: the served model).
    public var model: String?
    public var prompt: PromptInput
    /// `max_tokens` (nil: the server's default).
    public var maxTokens: Int?
    /// Temperature (OpenAI's default 1), top-p, top-k and seed (random when not given).
    public var sampling: SamplingParameters
    /// Stop sequences: generation ends before the first of them, which is not returned.
    public var stop: [String]
    public var stream: Bool
    /// `stream_options.include_usage`: a last chunk with the token counts.
    public var includeUsage: Bool
    /// PPD extension: `decoding` ("ppd" or "plain"; nil: the server's default).
    public var decoding: DecodingMode?
    /// PPD extension: the acceptance policy (nil: greedy at temperature 0, else rejection).
    public var policy: AcceptancePolicyKind?

    public init(
        kind: CompletionKind, model: String? = nil, prompt: PromptInput, maxTokens: Int? = nil,
        sampling: SamplingParameters = .greedy, stop: [String] = [], stream: Bool = false, includeUsage: Bool = false,
        decoding: DecodingMode? = nil, policy: AcceptancePolicyKind? = nil
    ) {
        self.kind = kind
        self.model = model
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.stream = stream
        self.includeUsage = includeUsage
        self.decoding = decoding
        self.policy = policy
    }

    /// The policy this request decodes with.
    public var policyKind: AcceptancePolicyKind { policy ?? .defaultKind(for: sampling) }

    /// Most stop sequences a request may give (OpenAI's limit).
    public static let maxStopSequences = 4

    /// Parses `body` for the endpoint `kind`; throws a 400 `APIError` naming the field at fault.
    public static func parse(_ body: Data, kind: CompletionKind) throws -> CompletionRequest {
        let fields = RequestFields(try JSONValue.object(fromBody: body))
        let prompt: PromptInput
        switch kind {
        case .completion: prompt = try fields.prompt()
        case .chat: prompt = .messages(try fields.messages())
        }
        try fields.refuseUnsupported()
        let temperature = try fields.number("temperature", in: 0...2) ?? 1
        let topP = try fields.number("top_p", in: 0...1) ?? 1
        guard topP > 0 else { throw APIError.invalidRequest("top_p must be in (0, 1]", param: "top_p") }
        let topK = try fields.integer("top_k", in: 0...Int64(Int32.max)) ?? 0
        let seed = try fields.integer("seed", in: Int64.min...Int64.max).map { UInt64(bitPattern: $0) } ?? UInt64.random(in: 0...UInt64.max)
        let maxTokenField = kind == .chat && fields.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens"
        let maxTokens = try fields.integer(maxTokenField, in: 1...Int64(Int32.max)).map(Int.init)
        let policy = try fields.choice("policy", AcceptancePolicyKind.self)
        if policy == .greedy && temperature > 0 {
            throw APIError.invalidRequest(
                "policy greedy decodes greedily: use temperature 0, or policy rejection or typical", param: "policy")
        }
        let streamOptions = try fields.object("stream_options")
        let includeUsage = try streamOptions.map { try RequestFields($0, prefix: "stream_options.").bool("include_usage") ?? false } ?? false
        return CompletionRequest(
            kind: kind, model: try fields.string("model"), prompt: prompt, maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: Float(temperature), topK: Int(topK), topP: Float(topP), seed: seed),
            stop: try fields.stopSequences(), stream: try fields.bool("stream") ?? false, includeUsage: includeUsage,
            decoding: try fields.choice("decoding", DecodingMode.self), policy: policy)
    }
}

/// Typed access to a request's fields, each failure a 400 naming the field.
struct RequestFields {
    let values: [String: JSONValue]
    /// Put before field names in messages (for nested objects).
    let prefix: String

    init(_ values: [String: JSONValue], prefix: String = "") {
        self.values = values
        self.prefix = prefix
    }

    /// Whether the field is present and not null.
    func has(_ name: String) -> Bool { values[name].map { $0 != .null } ?? false }

    private func wrongType(_ name: String, expected: String, got value: JSONValue) -> APIError {
        .invalidRequest("\(prefix)\(name) must be \(expected), not \(value.typeName)", param: prefix + name)
    }

    func string(_ name: String) throws -> String? {
        guard let value = values[name], value != .null else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, expected: "a string", got: value) }
        return text
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = values[name], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(name, expected: "a boolean", got: value) }
        return flag
    }

    func object(_ name: String) throws -> [String: JSONValue]? {
        guard let value = values[name], value != .null else { return nil }
        guard case .object(let object) = value else { throw wrongType(name, expected: "an object", got: value) }
        return object
    }

    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = values[name], value != .null else { return nil }
        guard let number = value.doubleValue else { throw wrongType(name, expected: "a number", got: value) }
        guard range.contains(number) else {
            throw APIError.invalidRequest("\(prefix)\(name) is \(number): it must be in \(range.lowerBound)...\(range.upperBound)", param: prefix + name)
        }
        return number
    }

    func integer(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let value = values[name], value != .null else { return nil }
        guard let number = value.integerValue else { throw wrongType(name, expected: "an integer", got: value) }
        guard range.contains(number) else {
            let bound = range.upperBound == Int64(Int32.max) ? "at least \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw APIError.invalidRequest("\(prefix)\(name) is \(number): it must be \(bound)", param: prefix + name)
        }
        return number
    }

    /// A string naming one case of `type`.
    func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, _ type: Choice.Type) throws -> Choice?
    where Choice.RawValue == String {
        guard let text = try string(name) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            let known = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw APIError.invalidRequest("\(prefix)\(name) is \"\(text)\": it must be one of \(known)", param: prefix + name)
        }
        return choice
    }

    /// `prompt`: a string, a list of one string, a list of token ids or a list of one such list.
    func prompt() throws -> PromptInput {
        guard let value = values["prompt"], value != .null else {
            throw APIError.invalidRequest("prompt is missing", param: "prompt")
        }
        switch value {
        case .string(let text):
            return .text(text)
        case .array(let items):
            if items.count == 1, case .string(let text) = items[0] { return .text(text) }
            if items.count == 1, case .array(let ids) = items[0] { return .tokens(try tokenIDs(ids)) }
            if items.allSatisfy({ $0.integerValue != nil }), !items.isEmpty { return .tokens(try tokenIDs(items)) }
            throw APIError.invalidRequest(
                "prompt must be a string, a list of token ids, or a list of one of those (one prompt per request)", param: "prompt")
        default:
            throw wrongType("prompt", expected: "a string or a list of token ids", got: value)
        }
    }

    private func tokenIDs(_ items: [JSONValue]) throws -> [Int32] {
        guard !items.isEmpty else { throw APIError.invalidRequest("prompt is an empty list of tokens", param: "prompt") }
        return try items.map { item in
            guard let id = item.integerValue, (0...Int64(Int32.max)).contains(id) else {
                throw APIError.invalidRequest("prompt token ids must be non-negative integers, not \(item.typeName)", param: "prompt")
            }
            return Int32(id)
        }
    }

    /// `messages`: a non-empty list of `{role, content}` with content a string or text parts.
    func messages() throws -> [ChatMessage] {
        guard let value = values["messages"], value != .null else {
            throw APIError.invalidRequest("messages is missing", param: "messages")
        }
        guard case .array(let items) = value else { throw wrongType("messages", expected: "an array", got: value) }
        guard !items.isEmpty else { throw APIError.invalidRequest("messages is empty", param: "messages") }
        return try items.enumerated().map { index, item in
            let name = "messages[\(index)]"
            guard case .object(let object) = item else { throw wrongType(name, expected: "an object", got: item) }
            let fields = RequestFields(object, prefix: name + ".")
            guard let role = try fields.string("role") else {
                throw APIError.invalidRequest("\(name).role is missing", param: name + ".role")
            }
            guard ["system", "developer", "user", "assistant"].contains(role) else {
                throw APIError.invalidRequest(
                    "\(name).role is \"\(role)\": it must be system, developer, user or assistant", param: name + ".role")
            }
            return ChatMessage(role: role == "developer" ? "system" : role, content: try fields.messageContent())
        }
    }

    /// A message's `content`: a string, or a list of `{"type": "text", "text": ...}` parts.
    private func messageContent() throws -> String {
        guard let value = values["content"], value != .null else { return "" }
        switch value {
        case .string(let text):
            return text
        case .array(let parts):
            return try parts.map { part in
                guard case .object(let object) = part, object["type"] == .string("text"), case .string(let text)? = object["text"] else {
                    throw APIError.invalidRequest("\(prefix)content parts must be {\"type\": \"text\", \"text\": ...}", param: prefix + "content")
                }
                return text
            }.joined()
        default:
            throw wrongType("content", expected: "a string or a list of text parts", got: value)
        }
    }

    /// `stop`: a string or a list of up to four non-empty strings.
    func stopSequences() throws -> [String] {
        guard let value = values["stop"], value != .null else { return [] }
        let stops: [String]
        switch value {
        case .string(let text):
            stops = [text]
        case .array(let items):
            stops = try items.map { item in
                guard case .string(let text) = item else { throw wrongType("stop", expected: "a string or a list of strings", got: item) }
                return text
            }
        default:
            throw wrongType("stop", expected: "a string or a list of strings", got: value)
        }
        guard stops.count <= CompletionRequest.maxStopSequences else {
            throw APIError.invalidRequest("stop has \(stops.count) sequences: at most \(CompletionRequest.maxStopSequences)", param: "stop")
        }
        guard !stops.contains("") else { throw APIError.invalidRequest("stop sequences must not be empty", param: "stop") }
        return stops
    }

    /// Fields whose non-default values this server cannot honour: refused rather than ignored.
    func refuseUnsupported() throws {
        if let n = try integer("n", in: 1...Int64(Int32.max)), n != 1 {
            throw APIError.invalidRequest("n is \(n): this server returns one choice per request", param: "n")
        }
        if let bestOf = try integer("best_of", in: 1...Int64(Int32.max)), bestOf != 1 {
            throw APIError.invalidRequest("best_of is \(bestOf): not supported", param: "best_of")
        }
        if try bool("echo") == true { throw APIError.invalidRequest("echo is not supported", param: "echo") }
        if let logprobs = values["logprobs"], logprobs != .null, logprobs != .bool(false) {
            throw APIError.invalidRequest("logprobs is not supported", param: "logprobs")
        }
        for name in ["frequency_penalty", "presence_penalty"] {
            if let penalty = try number(name, in: -2...2), penalty != 0 {
                throw APIError.invalidRequest("\(name) is not supported (only 0)", param: name)
            }
        }
        if has("tools") || has("functions") { throw APIError.invalidRequest("tools are not supported", param: "tools") }
        if let suffix = try string("suffix"), !suffix.isEmpty { throw APIError.invalidRequest("suffix is not supported", param: "suffix") }
    }
}
