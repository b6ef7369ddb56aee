/// Errors loading or running a model; each says what is wrong and, where there is one, which file.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
