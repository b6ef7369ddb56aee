import CHDF5

/// Calls into the HDF5 C library with its status codes turned into `StoreError`s. HDF5's own
/// printing of errors to stderr is turned off for the calling thread before each call, and the
/// error stack the failed call left is read into the error's reason.
struct HDF5Call {
    /// The file the calls concern, for error messages.
    let path: String
    /// The object inside the file, for error messages.
    let object: String?

    /// Runs `body` (an HDF5 call returning an identifier) and throws when the id is negative.
    func id(_ what: String, _ body: () -> hid_t) throws -> hid_t {
        _ = ppd_h5e_silence()
        let result = body()
        guard result >= 0 else { throw failure(what) }
        return result
    }

    /// Runs `body` (an HDF5 call returning a status) and throws when it is negative.
    func status(_ what: String, _ body: () -> herr_t) throws {
        _ = ppd_h5e_silence()
        guard body() >= 0 else { throw failure(what) }
    }

    /// Runs `body` (an HDF5 call returning a tri-state answer) and returns it as a Bool; throws
    /// when it is negative.
    func truth(_ what: String, _ body: () -> htri_t) throws -> Bool {
        _ = ppd_h5e_silence()
        let result = body()
        guard result >= 0 else { throw failure(what) }
        return result > 0
    }

    /// Runs `body` (an HDF5 call returning a size or count) and throws when it is negative.
    func count(_ what: String, _ body: () -> Int) throws -> Int {
        _ = ppd_h5e_silence()
        let result = body()
        guard result >= 0 else { throw failure(what) }
        return result
    }

    /// An error for this file and object; the reason says what failed and why.
    func error(_ reason: String) -> StoreError { StoreError(path: path, object: object, reason: reason) }

    /// The error for a failed call: `what` plus the outermost and innermost messages on HDF5's
    /// error stack ("cannot create dataset: unable to create dataset (name already exists)").
    func failure(_ what: String) -> StoreError {
        let messages = HDF5Call.errorStack()
        var reason = what
        if let outer = messages.first {
            reason += ": \(outer)"
            if let inner = messages.last, messages.count > 1, inner != outer { reason += " (\(inner))" }
        }
        return error(reason)
    }

    /// The descriptions on the calling thread's error stack, from the API call inward.
    static func errorStack() -> [String] {
        var messages: [String] = []
        withUnsafeMutablePointer(to: &messages) { pointer in
            _ = H5Ewalk2(
                ppd_h5e_default(), H5E_WALK_DOWNWARD,
                { _, entry, context in
                    guard let entry, let context, let description = entry.pointee.desc else { return 0 }
                    let text = String(cString: description)
                    if !text.isEmpty { context.assumingMemoryBound(to: [String].self).pointee.append(text) }
                    return 0
                }, pointer)
        }
        _ = H5Eclear2(ppd_h5e_default())
        return messages
    }
}
