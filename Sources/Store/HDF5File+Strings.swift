import CHDF5

extension HDF5File {
    /// Writes `strings` as a one-dimensional dataset of variable-length UTF-8 strings at `path`
    /// (h5py reads it with `dataset.asstr()[()]`); the groups above it are created. Strings
    /// may not contain NUL characters.
    public func writeStrings(_ path: String, _ strings: [String]) throws {
        let call = try writeCall(path)
        guard try !contains(path) else { throw call.error("cannot write dataset: the name already exists") }
        let type = try Self.variableStringType(cset: H5T_CSET_UTF8, call)
        defer { H5Tclose(type) }
        let space = try Self.dataspace([strings.count], call)
        defer { H5Sclose(space) }
        let links = try linkCreationList(call)
        defer { H5Pclose(links) }
        let dataset = try call.id("cannot create dataset") {
            H5Dcreate2(id, path, type, space, links, ppd_h5p_default(), ppd_h5p_default())
        }
        defer { H5Dclose(dataset) }
        guard !strings.isEmpty else { return }
        try Self.withCStrings(strings, call) { pointers in
            try call.status("cannot write dataset") {
                H5Dwrite(dataset, type, ppd_h5s_all(), ppd_h5s_all(), ppd_h5p_default(), pointers)
            }
        }
    }

    /// Reads the string dataset at `path` (variable- or fixed-length, any shape, in row-major
    /// order).
    public func readStrings(_ path: String) throws -> [String] {
        let call = try call(path)
        let dataset = try openDataset(path, call)
        defer { H5Dclose(dataset) }
        let fileType = try call.id("cannot read datatype") { H5Dget_type(dataset) }
        defer { H5Tclose(fileType) }
        let space = try call.id("cannot read dataspace") { H5Dget_space(dataset) }
        defer { H5Sclose(space) }
        return try Self.readStringValues(fileType: fileType, space: space, call) { memoryType, buffer in
            H5Dread(dataset, memoryType, ppd_h5s_all(), ppd_h5s_all(), ppd_h5p_default(), buffer)
        }
    }

    // MARK: Shared with attributes

    /// A variable-length string type with character set `cset` (close it with H5Tclose).
    static func variableStringType(cset: H5T_cset_t, _ call: HDF5Call) throws -> hid_t {
        let type = try call.id("cannot make a string type") { H5Tcopy(ppd_h5t_c_s1()) }
        do {
            try call.status("cannot make a string type") { H5Tset_size(type, ppd_h5t_variable()) }
            try call.status("cannot make a string type") { H5Tset_cset(type, cset) }
        } catch {
            H5Tclose(type)
            throw error
        }
        return type
    }

    /// Calls `body` with an array of pointers to NUL-terminated UTF-8 copies of `strings`, as
    /// HDF5 wants for variable-length strings.
    static func withCStrings<R>(
        _ strings: [String], _ call: HDF5Call, _ body: (UnsafeRawPointer) throws -> R
    ) throws -> R {
        var bytes: [CChar] = []
        var offsets: [Int] = []
        for string in strings {
            guard !string.utf8.contains(0) else { throw call.error("cannot store a string containing NUL") }
            offsets.append(bytes.count)
            bytes.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
            bytes.append(0)
        }
        return try bytes.withUnsafeBufferPointer { storage in
            let pointers: [UnsafePointer<CChar>?] = offsets.map { storage.baseAddress! + $0 }
            return try pointers.withUnsafeBufferPointer { try body(UnsafeRawPointer($0.baseAddress!)) }
        }
    }

    /// Reads the strings of `fileType` over `space` with `read(memoryType, buffer)`: variable-
    /// length strings through pointers HDF5 allocates (and this frees), fixed-length ones
    /// through a byte buffer, cut at the first NUL (or trailing spaces when space-padded).
    static func readStringValues(
        fileType: hid_t, space: hid_t, _ call: HDF5Call, _ read: (hid_t, UnsafeMutableRawPointer) -> herr_t
    ) throws -> [String] {
        guard H5Tget_class(fileType) == H5T_STRING else { throw call.error("does not hold strings") }
        let count = try call.count("cannot count elements") { Int(H5Sget_simple_extent_npoints(space)) }
        guard count > 0 else { return [] }
        let cset = H5Tget_cset(fileType)
        if try call.truth("cannot read datatype", { H5Tis_variable_str(fileType) }) {
            let memoryType = try variableStringType(cset: cset, call)
            defer { H5Tclose(memoryType) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            return try pointers.withUnsafeMutableBufferPointer { buffer in
                let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
                try call.status("cannot read strings") { read(memoryType, raw) }
                defer { ppd_h5_reclaim(memoryType, space, raw) }
                return buffer.map { $0.map { String(cString: $0) } ?? "" }
            }
        }
        let size = H5Tget_size(fileType)
        guard size > 0 else { throw call.error("cannot read datatype size") }
        let padding = H5Tget_strpad(fileType)
        let memoryType = try call.id("cannot make a string type") { H5Tcopy(ppd_h5t_c_s1()) }
        defer { H5Tclose(memoryType) }
        try call.status("cannot make a string type") { H5Tset_size(memoryType, size) }
        try call.status("cannot make a string type") { H5Tset_cset(memoryType, cset) }
        try call.status("cannot make a string type") { H5Tset_strpad(memoryType, padding) }
        var bytes = [UInt8](repeating: 0, count: count * size)
        try bytes.withUnsafeMutableBytes { buffer in
            try call.status("cannot read strings") { read(memoryType, buffer.baseAddress!) }
        }
        return (0..<count).map { index in
            var field = bytes[index * size..<(index + 1) * size]
            if let end = field.firstIndex(of: 0) { field = field[..<end] }
            if padding == H5T_STR_SPACEPAD { while field.last == 0x20 { field = field.dropLast() } }
            return String(decoding: field, as: UTF8.self)
        }
    }
}
