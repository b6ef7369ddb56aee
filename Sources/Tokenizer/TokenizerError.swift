/// Errors building a vocabulary or tokenizer. Each names the source (usually the GGUF file) and
/// says what is wrong.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (or other source) the vocabulary came from.
    public let source: String
    /// What is wrong with it.
    public let reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}
