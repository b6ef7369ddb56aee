import GGUF
import Kernels

extension TransformerConfig {
    /// LLaMA family (`general.architecture = llama`: LLaMA 1/2, Vicuna, TinyLlama, MobileLLaMA):
    /// RMS norms before attention and FFN, SwiGLU FFN, RoPE on adjacent pairs (the GGUF converter
    /// permutes q/k rows for this), grouped-query attention, separate or tied output matrix.
    static func llama(_ file: GGUFFile) throws -> TransformerConfig {
        let p = "llama."
        let hidden = try file.requireInt(p + "embedding_length")
        let heads = try file.requireInt(p + "attention.head_count")
        let headDim = try file.int(p + "rope.dimension_count", default: hidden / heads)
        guard headDim == hidden / heads else {
            throw ModelError("\(file.path): partial rotary dimensions (\(headDim) of \(hidden / heads)) are not supported")
        }
        return TransformerConfig(
            architecture: "llama",
            hiddenSize: hidden,
            layerCount: try file.requireInt(p + "block_count"),
            heads: heads,
            kvHeads: try file.int(p + "attention.head_count_kv", default: heads),
            headDim: headDim,
            ffnSize: try file.requireInt(p + "feed_forward_length"),
            vocabSize: try vocabularySize(file),
            contextLength: try file.int(p + "context_length", default: 2048),
            rmsEps: Float(try file.double(p + "attention.layer_norm_rms_epsilon", default: 1e-5)),
            ropeBase: try file.double(p + "rope.freq_base", default: 10_000),
            ropeBaseLocal: try file.double(p + "rope.freq_base", default: 10_000),
            ropePairing: .adjacent,
            slidingWindow: nil,
            globalLayerPeriod: 1,
            embeddingScale: 1,
            attentionScale: 1 / Float(headDim).squareRoot(),
            hasQKNorm: false,
            hasPostNorms: false,
            activation: .silu,
            tiedOutput: file.tensorInfo("output.weight") == nil)
    }
}
