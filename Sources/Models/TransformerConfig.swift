import Kernels

/// The shape and the architectural switches of a decoder-only transformer, read from GGUF metadata.
public struct TransformerConfig: Sendable, Equatable {
    /// `general.architecture` (`gemma3`, `llama`).
    public var architecture: String
    public var hiddenSize: Int
    public var layerCount: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffnSize: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var rmsEps: Float
    /// RoPE base of global-attention layers.
    public var ropeBase: Double
    /// RoPE base of sliding-window layers (equal to `ropeBase` when there are none).
    public var ropeBaseLocal: Double
    public var ropePairing: Rope.Pairing
    /// Keys further back than this many positions are invisible on sliding-window layers (nil: none).
    public var slidingWindow: Int?
    /// Every `globalLayerPeriod`-th layer (1-based) attends globally; the rest use the window.
    public var globalLayerPeriod: Int
    /// Inputs are multiplied by this after the embedding lookup (sqrt(hidden) for Gemma, 1 otherwise).
    public var embeddingScale: Float
    /// Attention scores are multiplied by this.
    public var attentionScale: Float
    /// Gemma: RMS norms on q and k per head, and extra norms after attention and after the FFN.
    public var hasQKNorm: Bool
    public var hasPostNorms: Bool
    /// Gated FFN activation: GELU-tanh (Gemma) or SiLU (LLaMA).
    public var activation: Activation
    /// The output layer shares the token embedding matrix.
    public var tiedOutput: Bool

    public enum Activation: String, Sendable { case geluTanh, silu }

    /// Whether layer `index` (0-based) uses the sliding window.
    public func isLocal(layer index: Int) -> Bool {
        slidingWindow != nil && (index + 1) % globalLayerPeriod != 0
    }

    public var qWidth: Int { heads * headDim }
    public var kvWidth: Int { kvHeads * headDim }
}
