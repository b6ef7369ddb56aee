/// Encoders from floats to tensor encodings (the inverse of `Dequantize`), for writing models.
public enum Quantize {
    /// Errors for encodings this toolkit cannot write.
    public struct UnsupportedType: Error, CustomStringConvertible {
        public let type: TensorType
        public var description: String { "cannot encode tensors as \(type) (supported: F32, F16, BF16, Q8_0, Q4_0)" }
    }

    /// Encodes `values` (count a multiple of the block size) as `type`.
    public static func encode(_ values: [Float], as type: TensorType) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(type.byteCount(elements: values.count))
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        switch type {
        case .f32:
            values.forEach { put($0.bitPattern) }
        case .f16:
            values.forEach { put(Float16($0).bitPattern) }
        case .bf16:
            values.forEach { put(UInt16(truncatingIfNeeded: bf16RoundedBits($0))) }
        case .q8_0:
            for block in stride(from: 0, to: values.count, by: 32) {
                let chunk = values[block..<block + 32]
                let amax = chunk.map(abs).max() ?? 0
                let d = amax / 127
                let inverse: Float = d == 0 ? 0 : 1 / d
                put(Float16(d).bitPattern)
                chunk.forEach { out.append(UInt8(bitPattern: Int8(($0 * inverse).rounded()))) }
            }
        case .q4_0:
            for block in stride(from: 0, to: values.count, by: 32) {
                let chunk = Array(values[block..<block + 32])
                let extreme = chunk.max { abs($0) < abs($1) } ?? 0
                let d = extreme / -8
                let inverse: Float = d == 0 ? 0 : 1 / d
                put(Float16(d).bitPattern)
                for j in 0..<16 {
                    let lo = UInt8(min(15, max(0, Int((chunk[j] * inverse + 8.5).rounded(.down)))))
                    let hi = UInt8(min(15, max(0, Int((chunk[j + 16] * inverse + 8.5).rounded(.down)))))
                    out.append(lo | hi << 4)
                }
            }
        default:
            throw UnsupportedType(type: type)
        }
        return out
    }

    static func bf16RoundedBits(_ x: Float) -> UInt32 {
        let bits = x.bitPattern
        if x.isNaN { return (bits >> 16) | 0x40 }
        return (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
    }
}
