@testable import Kernels

/// Random encoded rows with finite, small scale fields, for kernel tests.
struct RandomBlocks {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }

    mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + (range.upperBound - range.lowerBound) * Float(next() % 1_000_000) / 1_000_000
    }

    mutating func halfBytes(_ value: Float) -> [UInt8] {
        let bits = Float16(value).bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    /// `rows` x `columns` elements of `type`, row-major.
    mutating func matrix(_ type: TensorType, rows: Int, columns: Int) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<rows * columns / type.blockSize {
            var block = (0..<type.bytesPerBlock).map { _ in UInt8(truncatingIfNeeded: next()) }
            func put(_ at: Int, _ value: Float) { block.replaceSubrange(at..<at + 2, with: halfBytes(value)) }
            switch type {
            case .f32: block = withUnsafeBytes(of: uniform(-1...1).bitPattern) { Array($0) }
            case .f16: block = halfBytes(uniform(-1...1))
            case .bf16: block = withUnsafeBytes(of: UInt16(uniform(-1...1).bitPattern >> 16)) { Array($0) }
            case .q4_0, .q5_0, .q8_0: put(0, uniform(0.001...0.05))
            case .q4_1, .q5_1:
                put(0, uniform(0.001...0.05))
                put(2, uniform(-0.5...0.5))
            case .q4_K, .q5_K:
                put(0, uniform(0.001...0.05))
                put(2, uniform(0.001...0.05))
            case .q6_K: put(208, uniform(0.001...0.05))
            }
            out += block
        }
        return out
    }
}
