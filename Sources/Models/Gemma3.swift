import GGUF
import Kernels

extension TransformerConfig {
    /// Gemma 3 (`general.architecture = gemma3`): GELU-tanh gated FFN, q/k norms, norms before and
    /// after attention and FFN, embeddings scaled by sqrt(hidden), NEOX RoPE with base 10000 on
    /// sliding-window layers and `rope.freq_base` on every 6th (global) layer, tied output.
    /// The converter already added 1 to the norm weights, so norms multiply by the weight as is.
    static func gemma3(_ file: GGUFFile) throws -> TransformerConfig {
        let p = "gemma3."
        let hidden = try file.requireInt(p + "embedding_length")
        let heads = try file.requireInt(p + "attention.head_count")
        let headDim = try file.int(p + "attention.key_length", default: hidden / heads)
        let window = try file.int(p + "attention.sliding_window", default: 0)
        return TransformerConfig(
            architecture: "gemma3",
            hiddenSize: hidden,
            layerCount: try file.requireInt(p + "block_count"),
            heads: heads,
            kvHeads: try file.int(p + "attention.head_count_kv", default: heads),
            headDim: headDim,
            ffnSize: try file.requireInt(p + "feed_forward_length"),
            vocabSize: try vocabularySize(file),
            contextLength: try file.int(p + "context_length", default: 8192),
            rmsEps: Float(try file.double(p + "attention.layer_norm_rms_epsilon", default: 1e-6)),
            ropeBase: try file.double(p + "rope.freq_base", default: 1_000_000),
            ropeBaseLocal: 10_000,
            ropePairing: .halves,
            slidingWindow: window > 0 ? window : nil,
            globalLayerPeriod: 6,
            embeddingScale: Float(hidden).squareRoot(),
            attentionScale: 1 / Float(headDim).squareRoot(),
            hasQKNorm: true,
            hasPostNorms: true,
            activation: .geluTanh,
            tiedOutput: file.tensorInfo("output.weight") == nil)
    }

    /// The vocabulary size: the token list's length, else the embedding matrix's rows.
    static func vocabularySize(_ file: GGUFFile) throws -> Int {
        if let tokens = file.metadata["tokenizer.ggml.tokens"]?.arrayValue { return tokens.count }
        let embedding = try file.requireTensor("token_embd.weight")
        return embedding.shape.count > 1 ? embedding.shape[1] : 1
    }
}
