/// A failure of the experiment layer: a missing shipped file, a bad question file, an unknown
/// benchmark, a result file that cannot be written or read back. Names the file when there is one.
public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    /// The file concerned, if any.
    public let file: String?
    /// What went wrong.
    public let reason: String

    /// An error about `file` (or about no file).
    public init(file: String? = nil, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { file.map { "\($0): \(reason)" } ?? reason }
}
