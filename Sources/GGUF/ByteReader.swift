/// A bounds-checked little-endian cursor over the bytes of a GGUF file.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func need(_ count: Int, _ what: String) throws {
        guard count >= 0, offset + count <= bytes.count else {
            throw GGUFError(path: path, reason: "truncated: \(what) at byte \(offset) runs past the end of the file (\(bytes.count) bytes)")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try need(MemoryLayout<T>.size, "a \(T.self)")
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    /// A 64-bit count, rejected when larger than anything the file could hold.
    mutating func readCount(_ what: String) throws -> Int {
        let count = try read(UInt64.self)
        guard count <= UInt64(bytes.count) else {
            throw GGUFError(
                path: path, reason: "\(what) \(count) is larger than the whole file (\(bytes.count) bytes): the file is truncated or corrupt")
        }
        return Int(count)
    }

    mutating func readString() throws -> String {
        let length = try readCount("string length")
        try need(length, "a string of \(length) bytes")
        let string = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
        offset += length
        return string
    }

    mutating func readValue(_ type: GGUFValueType, key: String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self))
        case .int8: return .int8(try read(Int8.self))
        case .uint16: return .uint16(try read(UInt16.self))
        case .int16: return .int16(try read(Int16.self))
        case .uint32: return .uint32(try read(UInt32.self))
        case .int32: return .int32(try read(Int32.self))
        case .uint64: return .uint64(try read(UInt64.self))
        case .int64: return .int64(try read(Int64.self))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self)))
        case .bool:
            let byte = try read(UInt8.self)
            guard byte <= 1 else { throw GGUFError(path: path, reason: "metadata '\(key)' has an invalid bool byte \(byte)") }
            return .bool(byte == 1)
        case .string: return .string(try readString())
        case .array:
            let rawType = try read(UInt32.self)
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(path: path, reason: "metadata '\(key)' is an array of unknown type \(rawType)")
            }
            let count = try readCount("array length of '\(key)'")
            return .array(elementType: elementType, values: try readArray(of: elementType, count: count, key: key))
        }
    }

    /// `count` elements of type `type`, read straight into the compact storage of their type
    /// (no intermediate `GGUFValue` per element: a vocabulary's arrays would double the peak).
    private mutating func readArray(of type: GGUFValueType, count: Int, key: String) throws -> GGUFArray {
        // Every element takes at least this many bytes of the file: a corrupt count cannot reserve
        // more than the file could hold.
        let smallest = type == .string ? 8 : type == .float32 || type == .int32 ? 4 : 1
        func elements<T>(_ read: (inout ByteReader) throws -> T) throws -> [T] {
            var result: [T] = []
            result.reserveCapacity(min(count, (bytes.count - offset) / smallest))
            for _ in 0..<count { result.append(try read(&self)) }
            return result
        }
        switch type {
        case .string: return GGUFArray(storage: .strings(try elements { try $0.readString() }))
        case .float32: return GGUFArray(storage: .floats(try elements { Float(bitPattern: try $0.read(UInt32.self)) }))
        case .int32: return GGUFArray(storage: .int32s(try elements { try $0.read(Int32.self) }))
        default: return GGUFArray(storage: .values(try elements { try $0.readValue(type, key: key) }))
        }
    }
}
