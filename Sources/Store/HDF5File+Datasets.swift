import CHDF5

extension HDF5File {
    /// Writes a whole dataset at `path` from `values` in row-major order with dimensions
    /// `shape` (`[]` for a scalar); the groups above it are created. Non-empty datasets are
    /// chunked and compressed (shuffle + deflate level 4); empty ones are stored contiguous.
    public func writeDataset<T: StoreElement>(_ path: String, _ values: [T], shape: [Int]) throws {
        let call = try writeCall(path)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw call.error("shape \(shape) has a negative dimension") }
        let count = shape.reduce(1, *)
        guard count == values.count else {
            throw call.error("shape \(shape) holds \(count) elements, got \(values.count) values")
        }
        guard try !contains(path) else { throw call.error("cannot write dataset: the name already exists") }

        let space = try Self.dataspace(shape, call)
        defer { H5Sclose(space) }
        let creation = try datasetCreationList(shape: shape, elementSize: MemoryLayout<T>.stride, call)
        defer { H5Pclose(creation) }
        let links = try linkCreationList(call)
        defer { H5Pclose(links) }
        let dataset = try call.id("cannot create dataset") {
            H5Dcreate2(id, path, T.storeType.fileType, space, links, creation, ppd_h5p_default())
        }
        defer { H5Dclose(dataset) }
        guard count > 0 else { return }
        try values.withUnsafeBufferPointer { buffer in
            try call.status("cannot write dataset") {
                H5Dwrite(dataset, T.storeType.memoryType, ppd_h5s_all(), ppd_h5s_all(), ppd_h5p_default(), buffer.baseAddress)
            }
        }
    }

    /// Writes a one-dimensional dataset at `path` holding `values`.
    public func writeDataset<T: StoreElement>(_ path: String, _ values: [T]) throws {
        try writeDataset(path, values, shape: [values.count])
    }

    /// The dimensions of the dataset at `path` (`[]` for a scalar).
    public func shape(of path: String) throws -> [Int] {
        let call = try call(path)
        let dataset = try openDataset(path, call)
        defer { H5Dclose(dataset) }
        let space = try call.id("cannot read dataspace") { H5Dget_space(dataset) }
        defer { H5Sclose(space) }
        return try Self.dimensions(of: space, call)
    }

    /// Reads the whole numeric dataset at `path` in row-major order, converted to `T` by HDF5.
    public func readDataset<T: StoreElement>(_ path: String, as type: T.Type = T.self) throws -> [T] {
        let call = try call(path)
        let dataset = try openDataset(path, call)
        defer { H5Dclose(dataset) }
        let fileType = try call.id("cannot read datatype") { H5Dget_type(dataset) }
        defer { H5Tclose(fileType) }
        let typeClass = H5Tget_class(fileType)
        guard typeClass == H5T_INTEGER || typeClass == H5T_FLOAT else {
            throw call.error("cannot read as \(T.storeType.rawValue): the dataset does not hold numbers")
        }
        let space = try call.id("cannot read dataspace") { H5Dget_space(dataset) }
        defer { H5Sclose(space) }
        let count = try call.count("cannot count elements") { Int(H5Sget_simple_extent_npoints(space)) }
        var values = [T](repeating: T.zero, count: count)
        guard count > 0 else { return values }
        try values.withUnsafeMutableBufferPointer { buffer in
            try call.status("cannot read dataset as \(T.storeType.rawValue)") {
                H5Dread(dataset, T.storeType.memoryType, ppd_h5s_all(), ppd_h5s_all(), ppd_h5p_default(), buffer.baseAddress)
            }
        }
        return values
    }

    // MARK: Shared by the extensions

    /// Opens the dataset at `path` (the caller closes it with H5Dclose).
    func openDataset(_ path: String, _ call: HDF5Call) throws -> hid_t {
        guard try contains(path) else { throw call.error("no such dataset") }
        guard try kind(of: path) == .dataset else { throw call.error("not a dataset") }
        return try call.id("cannot open dataset") { H5Dopen2(id, path, ppd_h5p_default()) }
    }

    /// A dataspace of `shape`: scalar for `[]` (the caller closes it with H5Sclose).
    static func dataspace(_ shape: [Int], _ call: HDF5Call) throws -> hid_t {
        if shape.isEmpty { return try call.id("cannot make a scalar dataspace") { H5Screate(H5S_SCALAR) } }
        let dimensions = shape.map { hsize_t($0) }
        return try call.id("cannot make a dataspace of shape \(shape)") {
            H5Screate_simple(Int32(shape.count), dimensions, nil)
        }
    }

    /// The dimensions of a dataspace (`[]` for scalar or null dataspaces).
    static func dimensions(of space: hid_t, _ call: HDF5Call) throws -> [Int] {
        let rank = try call.count("cannot read the rank") { Int(H5Sget_simple_extent_ndims(space)) }
        var dimensions = [hsize_t](repeating: 0, count: rank)
        guard rank > 0 else { return [] }
        _ = try call.count("cannot read the dimensions") { Int(H5Sget_simple_extent_dims(space, &dimensions, nil)) }
        return dimensions.map { Int($0) }
    }

    /// Dataset creation properties: chunked with shuffle + deflate for non-empty arrays, the
    /// default (contiguous) layout for empty ones and scalars (close it with H5Pclose).
    private func datasetCreationList(shape: [Int], elementSize: Int, _ call: HDF5Call) throws -> hid_t {
        let list = try call.id("cannot make a property list") { H5Pcreate(ppd_h5p_dataset_create()) }
        guard !shape.isEmpty, shape.reduce(1, *) > 0 else { return list }
        do {
            let chunk = ChunkShape.choose(for: shape, elementSize: elementSize).map { hsize_t($0) }
            try call.status("cannot set chunking") { H5Pset_chunk(list, Int32(chunk.count), chunk) }
            try call.status("cannot set the shuffle filter") { H5Pset_shuffle(list) }
            try call.status("cannot set deflate compression") { H5Pset_deflate(list, 4) }
        } catch {
            H5Pclose(list)
            throw error
        }
        return list
    }
}
