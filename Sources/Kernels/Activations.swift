import Foundation

/// Element-wise activations of gated feed-forward layers.
public enum Activations {
    /// gate <- gelu_tanh(gate) * up, elementwise over `count` values.
    /// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    /// 16 lanes at a time with `VectorMath.tanh`, the tail with the same formula on one lane.
    @inlinable
    public static func geluTanhGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        let c: Float = 0.797_884_56  // sqrt(2/pi)
        var i = 0
        // Whole vectors with vector loads and stores (the lane-by-lane form below compiles to
        // scalar code); the same operations, so the same values.
        while i + 16 <= count {
            let x = Dot.load(gate + i), u = Dot.load(up + i)
            let inner = c * (x + 0.044715 * x * x * x)
            let y = 0.5 * x * (1 + VectorMath.tanh(inner)) * u
            UnsafeMutableRawPointer(gate + i).storeBytes(of: y, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            var x = SIMD16<Float>(), u = SIMD16<Float>()
            let lanes = min(16, count - i)
            for l in 0..<lanes {
                x[l] = gate[i + l]
                u[l] = up[i + l]
            }
            let inner = c * (x + 0.044715 * x * x * x)
            let y = 0.5 * x * (1 + VectorMath.tanh(inner)) * u
            for l in 0..<lanes { gate[i + l] = y[l] }
            i += 16
        }
    }

    /// gate <- silu(gate) * up, silu(x) = x / (1 + exp(-x)).
    @inlinable
    public static func siluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = gate[i]
            gate[i] = x / (1 + expf(-x)) * up[i]
        }
    }
}
