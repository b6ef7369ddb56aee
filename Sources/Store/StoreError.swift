/// Errors reading or writing HDF5 files. Each names the file, the object inside it where there
/// is one (`/steps/latency`), and says what is wrong.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The file concerned, as the caller named it.
    public let path: String
    /// The group, dataset or attribute inside the file, when the error concerns one.
    public let object: String?
    /// What is wrong.
    public let reason: String

    public init(path: String, object: String? = nil, reason: String) {
        self.path = path
        self.object = object
        self.reason = reason
    }

    public var description: String {
        if let object { return "\(path): \(object): \(reason)" }
        return "\(path): \(reason)"
    }
}
