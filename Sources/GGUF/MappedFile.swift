#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only memory mapping of a whole file, unmapped when released.
public final class MappedFile: @unchecked Sendable {
    /// The mapped bytes; valid while this object lives.
    public let bytes: UnsafeRawBufferPointer
    /// The path the file was opened from.
    public let path: String

    /// Maps the file at `path`; throws a `GGUFError` if it cannot be opened or mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw GGUFError(path: path, reason: "is a directory, not a file") }
        let size = Int(info.st_size)
        guard size > 0 else { throw GGUFError(path: path, reason: "file is empty") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw GGUFError(path: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(base), count: size)
    }

    /// Gives the pages of `bytes.count` bytes at `start` back to the operating system when they
    /// lie inside this mapping (the whole pages within the range; nothing otherwise). The file is
    /// mapped read-only and never written, so a later read of those bytes faults them in again
    /// from the file: their content never changes. Used for data that has been copied into
    /// another form (repacked weights), so that it is not resident twice.
    public func releasePages(start: UnsafeRawPointer, count: Int) {
        guard let base = bytes.baseAddress, count > 0, start >= base, start + count <= base + bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lower = (Int(bitPattern: start) + page - 1) / page * page
        let upper = (Int(bitPattern: start) + count) / page * page
        guard upper > lower else { return }
        #if os(Linux)
            _ = madvise(UnsafeMutableRawPointer(bitPattern: lower), upper - lower, MADV_DONTNEED)
        #endif
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}
