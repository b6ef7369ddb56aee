import Kernels

/// Where one tensor lives in a GGUF file.
public struct GGUFTensorInfo: Sendable {
    /// Checkpoint name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Dimensions in GGML order: `shape[0]` is the contiguous (row) length.
    public let shape: [Int]
    /// Element encoding.
    public let type: TensorType
    /// Byte offset of the data from the start of the tensor data section.
    public let offset: Int

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
    /// Number of bytes of data.
    public var byteCount: Int { type.byteCount(elements: elementCount) }
}

/// A GGUF file (versions 2 and 3), memory-mapped: metadata parsed, tensor data left in place.
///
/// Every structural problem (bad magic, truncated header, unknown value or tensor type, tensor
/// data out of bounds, misaligned offsets) throws a `GGUFError` naming the file and the reason.
public final class GGUFFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// The GGUF format version (2 or 3).
    public let version: UInt32
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor descriptions in file order.
    public let tensors: [GGUFTensorInfo]
    /// Alignment of the tensor data (from `general.alignment`, default 32).
    public let alignment: Int
    private let tensorIndex: [String: Int]
    private let mapping: MappedFile
    private let dataStart: Int

    /// Opens and parses the file at `path`.
    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        var reader = ByteReader(bytes: mapping.bytes, path: path)
        let magic = try reader.read(UInt32.self)
        guard magic == 0x4655_4747 else {
            throw GGUFError(path: path, reason: "not a GGUF file (magic bytes are not 'GGUF')")
        }
        version = try reader.read(UInt32.self)
        guard version == 2 || version == 3 else {
            throw GGUFError(path: path, reason: "unsupported GGUF version \(version) (supported: 2, 3)")
        }
        let tensorCount = try reader.readCount("tensor count")
        let metadataCount = try reader.readCount("metadata count")
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for _ in 0..<metadataCount {
            let key = try reader.readString()
            let rawType = try reader.read(UInt32.self)
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(path: path, reason: "metadata '\(key)' has unknown value type \(rawType)")
            }
            metadata[key] = try reader.readValue(type, key: key)
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys
        let alignment = metadata["general.alignment"]?.intValue ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw GGUFError(path: path, reason: "general.alignment \(alignment) is not a power of two")
        }
        self.alignment = alignment

        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try reader.readString()
            let dimensionCount = Int(try reader.read(UInt32.self))
            guard (1...4).contains(dimensionCount) else {
                throw GGUFError(path: path, reason: "tensor '\(name)' has \(dimensionCount) dimensions (1 to 4 allowed)")
            }
            var shape: [Int] = []
            for _ in 0..<dimensionCount {
                let dimension = try reader.read(UInt64.self)
                guard dimension > 0, dimension < 1 << 40 else {
                    throw GGUFError(path: path, reason: "tensor '\(name)' has an invalid dimension \(dimension)")
                }
                shape.append(Int(dimension))
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow, product < 1 << 44 else {
                    throw GGUFError(path: path, reason: "tensor '\(name)' with shape \(shape) is impossibly large")
                }
                elements = product
            }
            let rawType = try reader.read(UInt32.self)
            guard let type = TensorType(rawValue: rawType) else {
                throw GGUFError(
                    path: path,
                    reason: "tensor '\(name)' has type \(TensorType.ggmlName(rawValue: rawType)), which this toolkit does not support")
            }
            guard shape[0] % type.blockSize == 0 else {
                throw GGUFError(
                    path: path, reason: "tensor '\(name)': row length \(shape[0]) is not a multiple of the \(type) block size \(type.blockSize)")
            }
            let offset = try reader.read(UInt64.self)
            guard offset % UInt64(alignment) == 0, offset < 1 << 48 else {
                throw GGUFError(path: path, reason: "tensor '\(name)' has a misaligned or invalid data offset \(offset)")
            }
            guard index[name] == nil else { throw GGUFError(path: path, reason: "tensor '\(name)' appears twice") }
            index[name] = tensors.count
            tensors.append(GGUFTensorInfo(name: name, shape: shape, type: type, offset: Int(offset)))
        }
        let start = (reader.offset + alignment - 1) / alignment * alignment
        dataStart = start
        for tensor in tensors where start + tensor.offset + tensor.byteCount > mapping.bytes.count {
            throw GGUFError(
                path: path,
                reason: "tensor '\(tensor.name)' data (\(tensor.byteCount) bytes at \(start + tensor.offset)) runs past the end of the file (\(mapping.bytes.count) bytes): the file is truncated")
        }
        self.tensors = tensors
        tensorIndex = index
    }

    /// The description of tensor `name`, or nil.
    public func tensorInfo(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The description of tensor `name`; throws if the file has no such tensor.
    public func requireTensor(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensorInfo(name) else { throw GGUFError(path: path, reason: "missing tensor '\(name)'") }
        return info
    }

    /// A pointer to the raw (still encoded) data of `tensor`; valid while this file object lives.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        mapping.bytes.baseAddress! + dataStart + tensor.offset
    }

    /// The size of the file in bytes.
    public var fileSize: Int { mapping.bytes.count }

    /// Releases the resident pages of `count` bytes of this file's data at `start` (a pointer from
    /// `data(of:)`); see `MappedFile.releasePages`. Pointers outside the file are ignored.
    public func releasePages(start: UnsafeRawPointer, count: Int) {
        mapping.releasePages(start: start, count: count)
    }

    /// All elements of `tensor` decoded to floats (use for small tensors: norms, tests).
    public func floats(of tensor: GGUFTensorInfo) -> [Float] {
        [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
            let rowLength = tensor.shape[0]
            let rows = tensor.elementCount / rowLength
            let rowBytes = tensor.type.byteCount(elements: rowLength)
            for row in 0..<rows {
                Dequantize.row(
                    tensor.type, from: data(of: tensor) + row * rowBytes, count: rowLength,
                    into: buffer.baseAddress! + row * rowLength)
            }
            count = tensor.elementCount
        }
    }

    // MARK: Typed metadata access

    /// The metadata value for `key`; throws naming the key if it is missing.
    public func require(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw GGUFError(path: path, reason: "missing metadata key '\(key)'") }
        return value
    }

    /// An integer metadata value; throws if missing or not an integer.
    public func requireInt(_ key: String) throws -> Int {
        guard let value = try require(key).intValue else {
            throw GGUFError(path: path, reason: "metadata '\(key)' is not an integer")
        }
        return value
    }

    /// A numeric metadata value, or `defaultValue` when absent; throws if present but not a number.
    public func double(_ key: String, default defaultValue: Double) throws -> Double {
        guard let value = metadata[key] else { return defaultValue }
        guard let number = value.doubleValue else { throw GGUFError(path: path, reason: "metadata '\(key)' is not a number") }
        return number
    }

    /// An integer metadata value, or `defaultValue` when absent.
    public func int(_ key: String, default defaultValue: Int) throws -> Int {
        guard metadata[key] != nil else { return defaultValue }
        return try requireInt(key)
    }
}
