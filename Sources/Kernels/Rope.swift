import Foundation

/// Rotary position embeddings.
public enum Rope {
    /// How a head's dimensions are paired for rotation.
    public enum Pairing: Sendable {
        /// Pairs (i, i + d/2): GPT-NeoX / HF "rotate half" (Gemma).
        case halves
        /// Pairs (2i, 2i + 1): the original (LLaMA in GGUF, whose q/k rows the converter permuted).
        case adjacent
    }

    /// cos and sin of angle position * base^(-2i/dims) for i in 0..<dims/2, computed in double
    /// precision and rounded once.
    public static func table(position: Int, dims: Int, base: Double) -> (cos: [Float], sin: [Float]) {
        var c = [Float](repeating: 0, count: dims / 2), s = c
        for i in 0..<dims / 2 {
            let angle = Double(position) * pow(base, -2 * Double(i) / Double(dims))
            c[i] = Float(cos(angle))
            s[i] = Float(sin(angle))
        }
        return (c, s)
    }

    /// Rotates `heads` consecutive heads of `dims` floats at `x` by the angles in `cos`/`sin`.
    @inlinable
    public static func apply(
        _ x: UnsafeMutablePointer<Float>, heads: Int, dims: Int, cos: [Float], sin: [Float], pairing: Pairing
    ) {
        let half = dims / 2
        for h in 0..<heads {
            let v = x + h * dims
            for i in 0..<half {
                let (a, b) = pairing == .halves ? (i, i + half) : (2 * i, 2 * i + 1)
                let x0 = v[a], x1 = v[b]
                v[a] = x0 * cos[i] - x1 * sin[i]
                v[b] = x0 * sin[i] + x1 * cos[i]
            }
        }
    }
}
