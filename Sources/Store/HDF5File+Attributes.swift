import CHDF5

extension HDF5File {
    /// Sets the attribute `name` on the group or dataset at `path` (the root by default),
    /// replacing an attribute of that name.
    public func setAttribute(_ name: String, _ value: AttributeValue, on path: String = "/") throws {
        let call = try writeCall(attributeLabel(name, path))
        let object = try openObject(path)
        defer { H5Oclose(object) }
        if try call.truth("cannot look up attribute", { H5Aexists(object, name) }) {
            try call.status("cannot replace attribute") { H5Adelete(object, name) }
        }
        switch value {
        case .string(let string):
            let type = try Self.variableStringType(cset: H5T_CSET_UTF8, call)
            defer { H5Tclose(type) }
            try Self.withCStrings([string], call) { pointer in
                try createAttribute(object, name, fileType: type, memoryType: type, shape: [], pointer, call)
            }
        case .int(let number): try createNumericAttribute(object, name, [number], shape: [], call)
        case .double(let number): try createNumericAttribute(object, name, [number], shape: [], call)
        case .ints(let numbers): try createNumericAttribute(object, name, numbers, shape: [numbers.count], call)
        case .doubles(let numbers): try createNumericAttribute(object, name, numbers, shape: [numbers.count], call)
        case .bool(let flag):
            try withUnsafeBytes(of: Int8(flag ? 1 : 0)) {
                try createAttribute(
                    object, name, fileType: ppd_h5t_std_i8le(), memoryType: ppd_h5t_native_int8(), shape: [], $0.baseAddress,
                    call)
            }
        }
    }

    /// The names of the attributes on the group or dataset at `path`, sorted by name.
    public func attributeNames(of path: String = "/") throws -> [String] {
        let call = try call(path)
        let object = try openObject(path)
        defer { H5Oclose(object) }
        var names: [String] = []
        var position: hsize_t = 0
        try withUnsafeMutablePointer(to: &names) { pointer in
            try call.status("cannot list attributes") {
                H5Aiterate2(
                    object, H5_INDEX_NAME, H5_ITER_INC, &position,
                    { _, name, _, context in
                        guard let name, let context else { return -1 }
                        context.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                        return 0
                    }, pointer)
            }
        }
        return names
    }

    /// Reads the attribute `name` on the group or dataset at `path` (the root by default).
    /// Integer and float scalars and one-dimensional arrays are read as Int64 and Double.
    public func attribute(_ name: String, of path: String = "/") throws -> AttributeValue {
        let call = try call(attributeLabel(name, path))
        let object = try openObject(path)
        defer { H5Oclose(object) }
        guard try call.truth("cannot look up attribute", { H5Aexists(object, name) }) else {
            throw call.error("no such attribute")
        }
        let attribute = try call.id("cannot open attribute") { H5Aopen(object, name, ppd_h5p_default()) }
        defer { H5Aclose(attribute) }
        let fileType = try call.id("cannot read attribute type") { H5Aget_type(attribute) }
        defer { H5Tclose(fileType) }
        let space = try call.id("cannot read attribute dataspace") { H5Aget_space(attribute) }
        defer { H5Sclose(space) }
        let isScalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
        let shape = try Self.dimensions(of: space, call)
        guard isScalar || shape.count == 1 else { throw call.error("attributes of shape \(shape) are not supported") }

        switch H5Tget_class(fileType) {
        case H5T_STRING:
            guard isScalar else { throw call.error("arrays of strings are not supported") }
            let strings = try Self.readStringValues(fileType: fileType, space: space, call) { memoryType, buffer in
                H5Aread(attribute, memoryType, buffer)
            }
            return .string(strings.first ?? "")
        case H5T_INTEGER:
            let numbers: [Int64] = try readNumbers(attribute, space, call)
            guard isScalar else { return .ints(numbers) }
            return H5Tget_size(fileType) == 1 ? .bool(numbers[0] != 0) : .int(numbers[0])
        case H5T_FLOAT:
            let numbers: [Double] = try readNumbers(attribute, space, call)
            return isScalar ? .double(numbers[0]) : .doubles(numbers)
        default:
            throw call.error("attributes of this datatype are not supported")
        }
    }

    /// How errors name an attribute: `/steps/latency@units`.
    private func attributeLabel(_ name: String, _ path: String) -> String { "\(path)@\(name)" }

    /// Creates attribute `name` on `object` of `shape` and writes `values` (may be nil when empty).
    private func createAttribute(
        _ object: hid_t, _ name: String, fileType: hid_t, memoryType: hid_t, shape: [Int],
        _ values: UnsafeRawPointer?, _ call: HDF5Call
    ) throws {
        let space = try Self.dataspace(shape, call)
        defer { H5Sclose(space) }
        let attribute = try call.id("cannot create attribute") {
            H5Acreate2(object, name, fileType, space, ppd_h5p_default(), ppd_h5p_default())
        }
        defer { H5Aclose(attribute) }
        guard let values, shape.reduce(1, *) > 0 else { return }
        try call.status("cannot write attribute") { H5Awrite(attribute, memoryType, values) }
    }

    /// Creates attribute `name` on `object` holding `values` of `shape`.
    private func createNumericAttribute<T: StoreElement>(
        _ object: hid_t, _ name: String, _ values: [T], shape: [Int], _ call: HDF5Call
    ) throws {
        try values.withUnsafeBytes {
            try createAttribute(
                object, name, fileType: T.storeType.fileType, memoryType: T.storeType.memoryType, shape: shape, $0.baseAddress,
                call)
        }
    }

    /// Reads all elements of a numeric attribute converted to `T`.
    private func readNumbers<T: StoreElement>(_ attribute: hid_t, _ space: hid_t, _ call: HDF5Call) throws -> [T] {
        let count = try call.count("cannot count elements") { Int(H5Sget_simple_extent_npoints(space)) }
        var numbers = [T](repeating: T.zero, count: count)
        guard count > 0 else { return numbers }
        try numbers.withUnsafeMutableBytes { buffer in
            try call.status("cannot read attribute") { H5Aread(attribute, T.storeType.memoryType, buffer.baseAddress!) }
        }
        return numbers
    }
}
