import Foundation
import GGUF
import Kernels

/// Writes tiny random models in the Gemma 3 and LLaMA layouts with the project's own GGUF
/// writer, for tests of exact invariants (prefill == decode, tree == paths, PPD == AR).
public struct TinyModel {
    public enum Architecture: String, CaseIterable, Sendable { case gemma3, llama }

    public var architecture: Architecture
    public var hidden = 64
    public var layers = 2
    public var heads = 4
    public var kvHeads = 2
    public var headDim = 32
    public var ffn = 128
    public var vocab = 96
    public var context = 256
    /// Gemma only: keys further back than this are invisible on local layers.
    public var slidingWindow = 8
    public var seed: UInt64 = 1
    /// Encodings used for the weight matrices, cycled through tensor by tensor.
    public var matrixTypes: [TensorType] = [.q8_0, .f16, .q4_0, .f32]
    /// Scale of the random weights.
    public var weightScale: Float = 0.25
    /// Leave this tensor out (to test the error for a missing tensor).
    public var omitTensor: String?
    /// Give this tensor a wrong shape (to test the error for it).
    public var misshapeTensor: String?

    public init(_ architecture: Architecture) {
        self.architecture = architecture
        if architecture == .gemma3 {
            layers = 6  // layer 5 is the first global (full-attention) layer
            kvHeads = 1  // Gemma's head dim is independent of the hidden size
        } else {
            hidden = heads * headDim  // LLaMA's head dim is hidden / heads
        }
    }

    /// A tiny model whose every matrix has an int8 form (`MatrixArithmetic.int8`): rows
    /// multiples of 4, columns of 128, Q8_0 and Q4_0 matrices.
    public static func int8Ready(_ architecture: Architecture, seed: UInt64, vocab: Int) -> TinyModel {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = vocab
        spec.context = 192
        spec.hidden = 128
        spec.headDim = 32
        spec.ffn = 256
        spec.matrixTypes = [.q8_0, .q4_0]
        return spec
    }

    /// Writes the model to a new temporary file and returns its path.
    public func write() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("tiny-\(architecture.rawValue)-\(seed)-\(UUID().uuidString).gguf").path
        try writer().write(to: path)
        return path
    }

    public func writer() throws -> GGUFWriter {
        var w = GGUFWriter()
        let a = architecture.rawValue
        w.set("general.architecture", .string(a))
        w.set("general.name", .string("tiny random \(a)"))
        w.set("\(a).context_length", .uint32(UInt32(context)))
        w.set("\(a).embedding_length", .uint32(UInt32(hidden)))
        w.set("\(a).block_count", .uint32(UInt32(layers)))
        w.set("\(a).feed_forward_length", .uint32(UInt32(ffn)))
        w.set("\(a).attention.head_count", .uint32(UInt32(heads)))
        w.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.set("\(a).rope.freq_base", .float32(architecture == .gemma3 ? 1_000_000 : 10_000))
        if architecture == .gemma3 {
            w.set("gemma3.attention.key_length", .uint32(UInt32(headDim)))
            w.set("gemma3.attention.value_length", .uint32(UInt32(headDim)))
            w.set("gemma3.attention.sliding_window", .uint32(UInt32(slidingWindow)))
        } else {
            w.set("llama.rope.dimension_count", .uint32(UInt32(headDim)))
        }
        w.set("tokenizer.ggml.model", .string("llama"))
        w.set("tokenizer.ggml.tokens", .array(elementType: .string, values: GGUFArray((0..<vocab).map { .string(tokenText($0)) })))
        w.set("tokenizer.ggml.scores", .array(elementType: .float32, values: GGUFArray((0..<vocab).map { .float32(-Float($0)) })))
        w.set("tokenizer.ggml.token_type", .array(elementType: .int32, values: GGUFArray((0..<vocab).map { .int32($0 < 4 ? 3 : 1) })))
        w.set("tokenizer.ggml.bos_token_id", .uint32(2))
        w.set("tokenizer.ggml.eos_token_id", .uint32(1))
        w.set("tokenizer.ggml.unknown_token_id", .uint32(3))
        w.set("tokenizer.ggml.padding_token_id", .uint32(0))

        var random = SplitMix(state: seed)
        var matrixIndex = 0
        func add(_ name: String, _ shape: [Int], norm: Bool = false) throws {
            if name == omitTensor { return }
            var shape = shape
            if name == misshapeTensor { shape[shape.count - 1] += 1 }
            let count = shape.reduce(1, *)
            if norm {
                // Norm weights near 1 (Gemma's converter stores 1 + w).
                try w.addTensor(name, shape: shape, type: .f32, values: (0..<count).map { _ in 1 + 0.2 * random.normal() })
                return
            }
            let type = matrixTypes[matrixIndex % matrixTypes.count]
            matrixIndex += 1
            try w.addTensor(name, shape: shape, type: type, values: (0..<count).map { _ in weightScale * random.normal() })
        }
        let q = heads * headDim, kv = kvHeads * headDim
        try add("token_embd.weight", [hidden, vocab])
        try add("output_norm.weight", [hidden], norm: true)
        if architecture == .llama { try add("output.weight", [hidden, vocab]) }
        for l in 0..<layers {
            let b = "blk.\(l)."
            try add(b + "attn_norm.weight", [hidden], norm: true)
            try add(b + "attn_q.weight", [hidden, q])
            try add(b + "attn_k.weight", [hidden, kv])
            try add(b + "attn_v.weight", [hidden, kv])
            try add(b + "attn_output.weight", [q, hidden])
            try add(b + "ffn_norm.weight", [hidden], norm: true)
            try add(b + "ffn_gate.weight", [hidden, ffn])
            try add(b + "ffn_up.weight", [hidden, ffn])
            try add(b + "ffn_down.weight", [ffn, hidden])
            if architecture == .gemma3 {
                try add(b + "attn_q_norm.weight", [headDim], norm: true)
                try add(b + "attn_k_norm.weight", [headDim], norm: true)
                try add(b + "post_attention_norm.weight", [hidden], norm: true)
                try add(b + "post_ffw_norm.weight", [hidden], norm: true)
            }
        }
        return w
    }

    /// Token texts: control tokens first, then short letter strings.
    func tokenText(_ id: Int) -> String {
        switch id {
        case 0: return "<pad>"
        case 1: return "<eos>"
        case 2: return "<bos>"
        case 3: return "<unk>"
        default:
            let letters = Array("abcdefghijklmnopqrstuvwxyz")
            let i = id - 4
            return i < 26 ? String(letters[i]) : "\u{2581}" + String(letters[i % 26]) + String(letters[(i / 26) % 26])
        }
    }
}

/// A seeded generator with a normal distribution, for test weights.
public struct SplitMix {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Uniform integer in 0..<n.
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// `count` values uniform in [-scale, scale] (on a grid of 1/1000).
    public mutating func values(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in (Float(int(2001)) / 1000 - 1) * scale }
    }
}
