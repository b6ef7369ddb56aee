import Foundation
import Kernels

/// Writes GGUF v3 files: metadata and tensors. Used to make tiny models for tests and to export
/// converted weights. The file is written to a temporary name and renamed into place.
public struct GGUFWriter {
    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [(name: String, shape: [Int], type: TensorType, data: [UInt8])] = []
    /// Alignment of tensor data.
    public var alignment = 32

    public init() {}

    /// Adds a metadata key (keys are written in the order added).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    /// Adds a tensor from floats, encoded as `type` (F32, F16, BF16 or Q8_0).
    /// `shape[0]` is the row length, as in GGML.
    public mutating func addTensor(_ name: String, shape: [Int], type: TensorType, values: [Float]) throws {
        guard shape.reduce(1, *) == values.count else {
            throw GGUFError(path: name, reason: "shape \(shape) does not match \(values.count) values")
        }
        tensors.append((name, shape, type, try Quantize.encode(values, as: type)))
    }

    /// Adds a tensor from already-encoded bytes.
    public mutating func addTensor(_ name: String, shape: [Int], type: TensorType, encoded: [UInt8]) throws {
        guard type.byteCount(elements: shape.reduce(1, *)) == encoded.count else {
            throw GGUFError(path: name, reason: "shape \(shape) of \(type) needs \(type.byteCount(elements: shape.reduce(1, *))) bytes, got \(encoded.count)")
        }
        tensors.append((name, shape, type, encoded))
    }

    /// The whole file as bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putString(_ s: String) {
            put(UInt64(s.utf8.count))
            out.append(contentsOf: s.utf8)
        }
        func putValue(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): put(x)
            case .int8(let x): put(x)
            case .uint16(let x): put(x)
            case .int16(let x): put(x)
            case .uint32(let x): put(x)
            case .int32(let x): put(x)
            case .uint64(let x): put(x)
            case .int64(let x): put(x)
            case .float32(let x): put(x.bitPattern)
            case .float64(let x): put(x.bitPattern)
            case .bool(let x): put(UInt8(x ? 1 : 0))
            case .string(let s): putString(s)
            case .array(let type, let values):
                put(type.rawValue)
                put(UInt64(values.count))
                values.forEach(putValue)
            }
        }
        put(UInt32(0x4655_4747))
        put(UInt32(3))
        put(UInt64(tensors.count))
        let allMetadata = metadata.contains { $0.0 == "general.alignment" }
            ? metadata : metadata + [("general.alignment", .uint32(UInt32(alignment)))]
        put(UInt64(allMetadata.count))
        for (key, value) in allMetadata {
            putString(key)
            put(value.type.rawValue)
            putValue(value)
        }
        var offset = 0
        for tensor in tensors {
            putString(tensor.name)
            put(UInt32(tensor.shape.count))
            tensor.shape.forEach { put(UInt64($0)) }
            put(tensor.type.rawValue)
            put(UInt64(offset))
            offset += (tensor.data.count + alignment - 1) / alignment * alignment
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }
        pad()
        for tensor in tensors {
            out.append(contentsOf: tensor.data)
            pad()
        }
        return out
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try Data(serialized()).write(to: temporary)
            _ = try? FileManager.default.removeItem(at: url)
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw GGUFError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
