import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The sha256 of a (model) file, remembered between runs: hashing the default model takes 1.5-2 s,
/// which every `ppd generate --ppd` start paid to check its prompt tokens' `base_model_sha256`.
///
/// A digest is cached in `directory` (default `~/.cache/ppd/digests/`) under the identity of the
/// file it was computed from: path, device, inode, size and modification time to the nanosecond.
/// Any difference, or a cache entry that cannot be read, means the file is hashed again; a cache
/// that cannot be written is skipped (the digest is still returned).
public enum FileDigest {
    /// The default cache folder.
    public static var defaultDirectory: URL {
        FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ppd/digests")
    }

    /// The sha256 of the file at `path` (64 lowercase hex digits), from the cache when the file is
    /// unchanged since it was stored.
    public static func sha256(ofFile path: String, directory: URL = defaultDirectory) throws -> String {
        let identity = try Identity(path: path)
        let entryURL = directory.appendingPathComponent(identity.entryName)
        if let data = try? Data(contentsOf: entryURL), let entry = try? JSONDecoder().decode(Entry.self, from: data),
            entry.identity == identity, entry.sha256.count == 64
        {
            return entry.sha256
        }
        let digest = try SHA256.hex(ofFile: path)
        store(Entry(identity: identity, sha256: digest), at: entryURL, directory: directory)
        return digest
    }

    /// What names one version of a file.
    struct Identity: Codable, Equatable {
        var path: String
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedNanoseconds: Int64

        init(path: String) throws {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            var info = stat()
            guard stat(absolute, &info) == 0 else {
                throw GGUFError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
            }
            self.path = absolute
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        }

        /// The cache file's name: the sha256 of the absolute path.
        var entryName: String {
            var digest = SHA256()
            Array(path.utf8).withUnsafeBytes { digest.update($0) }
            return digest.finalizeHex() + ".json"
        }
    }

    struct Entry: Codable {
        var identity: Identity
        var sha256: String
    }

    /// Writes `entry` to a temporary file and renames it into place; failures are ignored.
    private static func store(_ entry: Entry, at url: URL, directory: URL) {
        guard let data = try? JSONEncoder().encode(entry) else { return }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        } catch {
            return
        }
    }
}
