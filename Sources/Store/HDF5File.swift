import CHDF5
import Foundation

/// An HDF5 file, open either to write a new file or to read an existing one.
///
/// A file made by `create(path:)` is written beside its target under a temporary name; `close()`
/// renames it into place, so the target path never holds a partial file: if anything fails, or
/// the object goes away without `close()` (or with `discard()`), the temporary file is deleted
/// and whatever was at the target before is left as it was.
///
/// Object paths name groups and datasets from the root: `/steps/latency`. Writing a dataset
/// creates the groups above it. An instance is for one thread at a time.
public final class HDF5File {
    /// Whether a file is being written or read.
    public enum Mode: Sendable {
        /// A new file, made visible at `path` by `close()`.
        case write
        /// An existing file, opened read-only.
        case read
    }

    /// The file's path, as the caller named it.
    public let path: String
    /// Whether the file is being written or read.
    public let mode: Mode
    /// Where a file being written lives until `close()` renames it to `path`.
    let temporaryPath: String?
    /// The HDF5 file identifier; negative once the file is closed.
    private(set) var id: hid_t

    private init(path: String, mode: Mode, temporaryPath: String?, id: hid_t) {
        self.path = path
        self.mode = mode
        self.temporaryPath = temporaryPath
        self.id = id
    }

    /// Starts a new file that will appear at `path` when `close()` succeeds (replacing any file
    /// there). The directory must exist.
    public static func create(path: String) throws -> HDF5File {
        let target = URL(fileURLWithPath: path)
        let directory = target.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError(path: path, reason: "cannot create: directory \(directory) does not exist")
        }
        let suffix = UUID().uuidString.prefix(8)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())-\(suffix)").path
        let id = try HDF5Call(path: path, object: nil).id("cannot create temporary file \(temporary)") {
            H5Fcreate(temporary, ppd_h5f_acc_excl(), ppd_h5p_default(), ppd_h5p_default())
        }
        return HDF5File(path: path, mode: .write, temporaryPath: temporary, id: id)
    }

    /// Opens the existing HDF5 file at `path` for reading. Throws, naming the path, when it does
    /// not exist, cannot be read, or is not an HDF5 file.
    public static func open(path: String) throws -> HDF5File {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw StoreError(path: path, reason: "is a directory, not an HDF5 file") }
        guard access(path, R_OK) == 0 else {
            throw StoreError(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        _ = ppd_h5e_silence()
        guard H5Fis_hdf5(path) > 0 else {
            _ = H5Eclear2(ppd_h5e_default())
            throw StoreError(path: path, reason: "not an HDF5 file")
        }
        let id = try HDF5Call(path: path, object: nil).id("cannot open") {
            H5Fopen(path, ppd_h5f_acc_rdonly(), ppd_h5p_default())
        }
        return HDF5File(path: path, mode: .read, temporaryPath: nil, id: id)
    }

    /// Closes the file. A file being written is flushed, synced to disk and renamed to `path`,
    /// replacing what was there; if that fails nothing appears at `path`. Closing twice does
    /// nothing.
    public func close() throws {
        guard id >= 0 else { return }
        let closing = id
        id = -1
        let call = HDF5Call(path: path, object: nil)
        guard let temporaryPath else {
            try call.status("cannot close") { H5Fclose(closing) }
            return
        }
        do {
            try call.status("cannot finish writing") { H5Fclose(closing) }
            try Self.sync(temporaryPath, call)
            guard rename(temporaryPath, path) == 0 else {
                throw call.error("cannot move \(temporaryPath) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    /// Abandons a file being written: closes and deletes it, leaving `path` untouched. For a file
    /// being read, closes it. Does nothing once closed.
    public func discard() {
        guard id >= 0 else { return }
        _ = ppd_h5e_silence()
        _ = H5Fclose(id)
        id = -1
        if let temporaryPath { unlink(temporaryPath) }
    }

    /// A file still open goes away: a file being written is discarded, never committed.
    deinit { discard() }

    /// Writes the file's data to disk so that the rename never exposes a file whose contents
    /// are not yet stored.
    private static func sync(_ file: String, _ call: HDF5Call) throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw call.error("cannot reopen \(file) to sync it") }
        defer { try? handle.close() }
        do {
            try handle.synchronize()
        } catch {
            throw call.error("cannot sync \(file): \(error.localizedDescription)")
        }
    }

    // MARK: Shared by the extensions

    /// The calls for `object` in this file; throws when the file is closed.
    func call(_ object: String?) throws -> HDF5Call {
        let call = HDF5Call(path: path, object: object)
        guard id >= 0 else { throw call.error("file is closed") }
        return call
    }

    /// The calls for `object`, which is about to be written; throws when the file is closed or
    /// was opened for reading.
    func writeCall(_ object: String) throws -> HDF5Call {
        let call = try call(object)
        guard mode == .write else { throw call.error("cannot write: file is open read-only") }
        return call
    }
}
