import Decoding
import Foundation

extension JSONValue {
    /// Parses a request body: a JSON object, or a 400 error saying what is wrong with it.
    public static func object(fromBody body: Data) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            throw APIError.invalidRequest("the request body is not valid JSON (\(Self.reason(error)))", code: "invalid_json")
        }
        guard case .object(let fields) = value else {
            throw APIError.invalidRequest("the request body must be a JSON object, not \(value.typeName)", code: "invalid_json")
        }
        return fields
    }

    private static func reason(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "\(error)"
    }
}
