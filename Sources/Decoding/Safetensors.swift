import Foundation

/// A safetensors file held in memory: named float tensors and string metadata.
///
/// Layout on disk: an 8-byte little-endian header length, a JSON header
/// `{ "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"key": "value"} }`, then the raw little-endian data, with offsets relative
/// to the start of the data. Reading accepts F32, F16 and BF16 (converted to `Float`); writing
/// produces F32.
public struct Safetensors: Equatable, Sendable {
    /// One tensor: its shape and its values in row-major order.
    public struct Tensor: Equatable, Sendable {
        /// Dimensions, outermost first.
        public var shape: [Int]
        /// Row-major values; their count is the product of `shape`.
        public var values: [Float]

        /// A tensor of `shape` holding `values` (checked when written).
        public init(shape: [Int], values: [Float]) {
            self.shape = shape
            self.values = values
        }
    }

    /// The reserved header key that holds the string metadata.
    public static let metadataKey = "__metadata__"
    /// Header lengths above this are refused (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// Tensors by name.
    public var tensors: [String: Tensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    /// A file's contents from tensors and metadata.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and validates the safetensors file at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafetensorsError(.unreadable(reason: error.localizedDescription), file: url.path)
        }
        self = try Safetensors.decode(data, file: url.path)
    }

    /// Writes the tensors as F32 and the metadata to `url`, atomically: the bytes go to a
    /// temporary file in the same directory, which is then renamed over `url`.
    public func write(to url: URL) throws {
        let bytes = try encoded(file: url.path)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try bytes.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SafetensorsError(.unwritable(reason: error.localizedDescription), file: url.path)
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SafetensorsError(.unwritable(reason: "cannot rename temporary file: \(reason)"), file: url.path)
        }
    }
}

// MARK: - Reading

extension Safetensors {
    /// Parses and validates the bytes of a safetensors file; `file` names it in errors.
    public static func decode(_ data: Data, file: String? = nil) throws -> Safetensors {
        func fail(_ problem: SafetensorsError.Problem) -> SafetensorsError { SafetensorsError(problem, file: file) }

        // 1. Header length: 8 bytes, little-endian, and the header must fit in the file.
        guard data.count >= 8 else { throw fail(.tooShort(size: data.count)) }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail(.headerLengthPastEnd(headerLength: headerLength, fileSize: data.count))
        }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw fail(.malformedHeader(reason: "header length \(headerLength) exceeds \(maximumHeaderLength) bytes"))
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart

        // 2. Header JSON: tensor entries and string metadata.
        let header: Header
        do {
            let headerBytes = data.subdata(in: data.startIndex + 8..<data.startIndex + dataStart)
            header = try JSONDecoder().decode(Header.self, from: headerBytes)
        } catch let error as SafetensorsError {
            throw SafetensorsError(error.problem, file: file)
        } catch {
            throw fail(.malformedHeader(reason: "not valid safetensors JSON (\(jsonReason(error)))"))
        }

        // 3. Each entry: known dtype, byte size from the shape, offsets inside the data.
        var ranges: [(name: String, range: Range<Int>)] = []
        for (name, entry) in header.entries {
            guard let dtype = DType(rawValue: entry.dtype) else {
                throw fail(.unknownDType(tensor: name, dtype: entry.dtype))
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw fail(.malformedHeader(reason: "tensor \"\(name)\" has a negative dimension in shape \(entry.shape)"))
            }
            guard entry.offsets.count == 2 else {
                throw fail(.malformedHeader(reason: "tensor \"\(name)\" data_offsets must be [begin, end]"))
            }
            let begin = entry.offsets[0], end = entry.offsets[1]
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail(.offsetsOutsideData(tensor: name, begin: begin, end: end, dataSize: dataSize))
            }
            let byteCount = entry.shape.reduce(Optional(dtype.size)) { product, dimension in
                product.flatMap { p in
                    let (value, overflow) = p.multipliedReportingOverflow(by: dimension)
                    return overflow ? nil : value
                }
            }
            guard byteCount == end - begin else {
                throw fail(.shapeMismatch(tensor: name, shape: entry.shape, dtype: entry.dtype, bytes: end - begin))
            }
            ranges.append((name, begin..<end))
        }

        // 4. No two tensors may share bytes.
        let sorted = ranges.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
            throw fail(.overlappingTensors(previous.name, next.name))
        }

        // 5. Convert the data to floats.
        var tensors: [String: Tensor] = [:]
        data.withUnsafeBytes { raw in
            for (name, entry) in header.entries {
                let dtype = DType(rawValue: entry.dtype)!
                let base = dataStart + entry.offsets[0]
                let count = (entry.offsets[1] - entry.offsets[0]) / dtype.size
                let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    dtype.convert(raw, from: base, into: buffer)
                    initialized = count
                }
                tensors[name] = Tensor(shape: entry.shape, values: values)
            }
        }
        return Safetensors(tensors: tensors, metadata: header.metadata)
    }

    /// A short reason for a JSON decoding failure.
    private static func jsonReason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return "missing field \(path)"
        case DecodingError.dataCorrupted(let context), DecodingError.typeMismatch(_, let context),
            DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return String(describing: error)
        }
    }

    /// The element types this reader understands.
    enum DType: String {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"

        var size: Int { self == .f32 ? 4 : 2 }

        /// Fills `output` with the values stored from byte `start` of `raw`.
        func convert(_ raw: UnsafeRawBufferPointer, from start: Int, into output: UnsafeMutableBufferPointer<Float>) {
            func half(_ i: Int) -> UInt16 {
                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self))
            }
            switch self {
            case .f32:
                for i in output.indices {
                    output[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)))
                }
            case .bf16:
                for i in output.indices { output[i] = Float(bitPattern: UInt32(half(i)) << 16) }
            case .f16:
                for i in output.indices { output[i] = halfToFloat(half(i)) }
            }
        }
    }

    /// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24  // subnormal (or zero): mantissa * 2^-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }
}

/// The JSON header: tensor entries in file order, and the metadata.
private struct Header: Decodable {
    struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]

        enum CodingKeys: String, CodingKey, CaseIterable {
            case dtype, shape
            case offsets = "data_offsets"
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            let known = Set(CodingKeys.allCases.map(\.rawValue))
            if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
                throw DecodingError.dataCorruptedError(
                    forKey: unknown, in: container, debugDescription: "unknown field \"\(unknown.stringValue)\"")
            }
            let fields = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try fields.decode(String.self, forKey: .dtype)
            shape = try fields.decode([Int].self, forKey: .shape)
            offsets = try fields.decode([Int].self, forKey: .offsets)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var entries: [(String, Entry)] = []
    var metadata: [String: String] = [:]

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys {
            if key.stringValue == Safetensors.metadataKey {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(Entry.self, forKey: key)))
            }
        }
        entries.sort { $0.0 < $1.0 }
    }
}

// MARK: - Writing

extension Safetensors {
    /// The bytes of the file: F32 data in name order, header padded with spaces to a multiple of 8.
    public func encoded(file: String? = nil) throws -> Data {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            guard name != Safetensors.metadataKey else {
                throw SafetensorsError(.invalidTensor(tensor: name, reason: "the name is reserved for metadata"), file: file)
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.shape.reduce(1, *) == tensor.values.count else {
                throw SafetensorsError(
                    .invalidTensor(tensor: name, reason: "shape \(tensor.shape) does not hold \(tensor.values.count) values"),
                    file: file)
            }
            let end = offset + 4 * tensor.values.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\(jsonString(Safetensors.metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        let header = "{" + entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        headerBytes += Array(repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8)

        var bytes = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: headerBytes)
        for name in names {
            let littleEndian = tensors[name]!.values.map { $0.bitPattern.littleEndian }
            littleEndian.withUnsafeBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// `text` as a JSON string literal.
    private func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

// MARK: - Errors

/// A safetensors file that cannot be read or written. `description` names the file and the reason.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong.
    public enum Problem: Equatable, Sendable {
        /// The file could not be opened or read.
        case unreadable(reason: String)
        /// The file could not be written.
        case unwritable(reason: String)
        /// Fewer than the 8 bytes of the header length.
        case tooShort(size: Int)
        /// The header length points past the end of the file.
        case headerLengthPastEnd(headerLength: UInt64, fileSize: Int)
        /// The header is not JSON, or not the shape safetensors requires.
        case malformedHeader(reason: String)
        /// A tensor's dtype is not F32, F16 or BF16.
        case unknownDType(tensor: String, dtype: String)
        /// A tensor's shape and dtype need a different byte count than its offsets give.
        case shapeMismatch(tensor: String, shape: [Int], dtype: String, bytes: Int)
        /// A tensor's offsets are reversed or reach outside the data section.
        case offsetsOutsideData(tensor: String, begin: Int, end: Int, dataSize: Int)
        /// Two tensors' byte ranges overlap.
        case overlappingTensors(String, String)
        /// A tensor that cannot be written (shape and value count disagree, or a reserved name).
        case invalidTensor(tensor: String, reason: String)
    }

    /// What is wrong.
    public var problem: Problem
    /// The file, when there is one.
    public var file: String?

    /// An error for `problem`, naming `file`.
    public init(_ problem: Problem, file: String? = nil) {
        self.problem = problem
        self.file = file
    }

    public var description: String {
        let prefix = file.map { "safetensors file \($0): " } ?? "safetensors: "
        switch problem {
        case .unreadable(let reason):
            return prefix + "unreadable: \(reason)"
        case .unwritable(let reason):
            return prefix + "cannot write: \(reason)"
        case .tooShort(let size):
            return prefix + "too short: \(size) bytes, the header length alone needs 8"
        case .headerLengthPastEnd(let length, let size):
            return prefix + "header length \(length) reaches past the end of the file (\(size) bytes)"
        case .malformedHeader(let reason):
            return prefix + "malformed header: \(reason)"
        case .unknownDType(let tensor, let dtype):
            return prefix + "tensor \"\(tensor)\" has unknown dtype \"\(dtype)\" (supported: F32, F16, BF16)"
        case .shapeMismatch(let tensor, let shape, let dtype, let bytes):
            return prefix + "tensor \"\(tensor)\": shape \(shape) of \(dtype) does not match data_offsets spanning \(bytes) bytes"
        case .offsetsOutsideData(let tensor, let begin, let end, let size):
            return prefix + "tensor \"\(tensor)\": data_offsets [\(begin), \(end)] lie outside the data (\(size) bytes)"
        case .overlappingTensors(let first, let second):
            return prefix + "tensors \"\(first)\" and \"\(second)\" have overlapping data_offsets"
        case .invalidTensor(let tensor, let reason):
            return prefix + "tensor \"\(tensor)\": \(reason)"
        }
    }
}
