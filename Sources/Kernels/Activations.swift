import Foundation

/// Element-wise activations of gated feed-forward layers.
public enum Activations {
    /// gate <- gelu_tanh(gate) * up, elementwise over `count` values.
    /// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    @inlinable
    public static func geluTanhGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        let c: Float = 0.797_884_56  // sqrt(2/pi)
        for i in 0..<count {
            let x = gate[i]
            let inner = c * (x + 0.044715 * x * x * x)
            gate[i] = 0.5 * x * (1 + tanhf(inner)) * up[i]
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
