import CHDF5

/// What an object path names.
public enum StoreObjectKind: Sendable, Equatable {
    case group
    case dataset
    /// A named datatype or another kind of object this module does not write.
    case other
}

extension HDF5File {
    /// Creates the group at `path` and the groups above it (`/a/b` makes `/a` too). A group
    /// already there is left as it is; a dataset there is an error.
    public func createGroup(_ path: String) throws {
        let call = try writeCall(path)
        if try contains(path) {
            guard try kind(of: path) == .group else { throw call.error("cannot create group: a dataset has this name") }
            return
        }
        let links = try linkCreationList(call)
        defer { H5Pclose(links) }
        let group = try call.id("cannot create group") {
            H5Gcreate2(id, path, links, ppd_h5p_default(), ppd_h5p_default())
        }
        H5Gclose(group)
    }

    /// Whether a group or dataset exists at `path` (each step on the way is checked, so a
    /// missing parent, or a dataset where a group would be, gives false rather than an error).
    public func contains(_ path: String) throws -> Bool {
        let call = try call(path)
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = path.hasPrefix("/") ? "" : "."
        for (index, part) in parts.enumerated() {
            prefix += "/" + part
            let exists = try call.truth("cannot look up \(prefix)") { H5Lexists(id, prefix, ppd_h5p_default()) }
            guard exists else { return false }
            if index < parts.count - 1 {
                let object = try call.id("cannot open \(prefix)") { H5Oopen(id, prefix, ppd_h5p_default()) }
                let isGroup = H5Iget_type(object) == H5I_GROUP
                H5Oclose(object)
                guard isGroup else { return false }
            }
        }
        return true
    }

    /// Whether `path` is a group or a dataset. Throws when nothing is there.
    public func kind(of path: String) throws -> StoreObjectKind {
        let object = try openObject(path)
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// The names of the groups and datasets directly inside the group at `path`, sorted by name.
    public func children(of path: String = "/") throws -> [String] {
        let call = try call(path)
        guard try contains(path) else { throw call.error("no such group") }
        guard try kind(of: path) == .group else { throw call.error("not a group") }
        let group = try call.id("cannot open group") { H5Gopen2(id, path, ppd_h5p_default()) }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        try call.status("cannot read group") { H5Gget_info(group, &info) }
        return try (0..<info.nlinks).map { index in
            try Self.name(call, "cannot read the name of child \(index)") { buffer, size in
                H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, buffer, size, ppd_h5p_default())
            }
        }
    }

    // MARK: Shared by the extensions

    /// Opens the group or dataset at `path` (the caller closes it with H5Oclose); throws a clear
    /// error when nothing is there.
    func openObject(_ path: String) throws -> hid_t {
        let call = try call(path)
        guard try contains(path) else { throw call.error("no such group or dataset") }
        return try call.id("cannot open") { H5Oopen(id, path, ppd_h5p_default()) }
    }

    /// A link creation property list that creates missing intermediate groups (close it with
    /// H5Pclose).
    func linkCreationList(_ call: HDF5Call) throws -> hid_t {
        let list = try call.id("cannot make a property list") { H5Pcreate(ppd_h5p_link_create()) }
        do {
            try call.status("cannot set intermediate group creation") { H5Pset_create_intermediate_group(list, 1) }
        } catch {
            H5Pclose(list)
            throw error
        }
        return list
    }

    /// Reads a name with HDF5's two-call pattern: `body(nil, 0)` returns the length, then
    /// `body(buffer, length + 1)` fills the buffer.
    static func name(_ call: HDF5Call, _ what: String, _ body: (UnsafeMutablePointer<CChar>?, Int) -> Int) throws -> String {
        let length = try call.count(what) { body(nil, 0) }
        var buffer = [CChar](repeating: 0, count: length + 1)
        _ = try buffer.withUnsafeMutableBufferPointer { pointer in
            try call.count(what) { body(pointer.baseAddress, length + 1) }
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
