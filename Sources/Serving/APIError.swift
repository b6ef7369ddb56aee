import Foundation

/// An error answered to an API client: an HTTP status and OpenAI's error body
/// (`{"error": {"message", "type", "param", "code"}}`).
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status code.
    public let status: Int
    /// OpenAI's error type (`invalid_request_error`, `server_error`, ...).
    public let type: String
    public let message: String
    /// The request field at fault, if one is.
    public let param: String?
    /// A machine-readable code (`context_length_exceeded`, `model_not_found`, ...), if any.
    public let code: String?

    public init(status: Int, type: String, message: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// 400: the request is malformed or asks for something out of range.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, type: "invalid_request_error", message: message, param: param, code: code)
    }

    /// 404: no such route or model.
    public static func notFound(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 404, type: "invalid_request_error", message: message, param: param, code: code)
    }

    /// 413: the request body is over the limit.
    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(
            status: 413, type: "invalid_request_error", message: "the request body is larger than \(limit) bytes",
            code: "request_too_large")
    }

    /// 429: the queue in front of the model is full.
    public static func queueFull(capacity: Int) -> APIError {
        APIError(
            status: 429, type: "rate_limit_error",
            message: "the server is busy: \(capacity) requests are already waiting for the model; retry later",
            code: "queue_full")
    }

    /// 503: the request ran out of time (waiting or generating), or the server is stopping.
    public static func unavailable(_ message: String, code: String? = nil) -> APIError {
        APIError(status: 503, type: "server_error", message: message, code: code)
    }

    /// 500: generation failed.
    public static func internalError(_ message: String) -> APIError {
        APIError(status: 500, type: "server_error", message: message)
    }

    /// The JSON error body.
    public func jsonData() -> Data {
        let body = ErrorBody(error: .init(message: message, type: type, param: param, code: code))
        return (try? APIJSON.encoder.encode(body)) ?? Data(#"{"error":{"message":"unencodable error"}}"#.utf8)
    }

    private struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)
                try container.encode(code, forKey: .code)
            }

            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }

        let error: Detail
    }
}

/// The JSON coders of the API.
public enum APIJSON {
    /// Encodes API bodies: no escaped slashes, keys sorted (the same bytes for the same body).
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }
}
