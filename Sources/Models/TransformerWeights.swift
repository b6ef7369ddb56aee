import GGUF
import Kernels

/// The weights of one decoder layer. Matrices stay encoded in the mapped file; norm vectors are
/// decoded to floats (they are small).
struct LayerWeights {
    var attentionNorm: [Float]
    var query: QuantizedMatrix
    var key: QuantizedMatrix
    var value: QuantizedMatrix
    var attentionOutput: QuantizedMatrix
    var queryNorm: [Float]?
    var keyNorm: [Float]?
    var postAttentionNorm: [Float]?
    var ffnNorm: [Float]
    var gate: QuantizedMatrix
    var up: QuantizedMatrix
    var down: QuantizedMatrix
    var postFFNNorm: [Float]?
}

/// All weights of a transformer, checked against its config: a missing tensor or a wrong shape
/// is a thrown error naming the file, the tensor and the expected shape.
struct TransformerWeights {
    var tokenEmbedding: QuantizedMatrix
    var layers: [LayerWeights]
    var outputNorm: [Float]
    var output: QuantizedMatrix

    init(file: GGUFFile, config c: TransformerConfig) throws {
        func matrix(_ name: String, rows: Int, columns: Int) throws -> QuantizedMatrix {
            let info = try file.requireTensor(name)
            guard info.shape == [columns, rows] else {
                throw ModelError("\(file.path): tensor '\(name)' has shape \(info.shape), expected [\(columns), \(rows)]")
            }
            guard columns % 32 == 0 else {
                throw ModelError("\(file.path): tensor '\(name)' rows of \(columns) are not a multiple of 32")
            }
            return QuantizedMatrix(data: file.data(of: info), type: info.type, rows: rows, columns: columns)
        }
        func vector(_ name: String, _ length: Int) throws -> [Float] {
            let info = try file.requireTensor(name)
            guard info.shape == [length] else {
                throw ModelError("\(file.path): tensor '\(name)' has shape \(info.shape), expected [\(length)]")
            }
            return file.floats(of: info)
        }
        let hidden = c.hiddenSize
        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabSize, columns: hidden)
        output = c.tiedOutput ? tokenEmbedding : try matrix("output.weight", rows: c.vocabSize, columns: hidden)
        outputNorm = try vector("output_norm.weight", hidden)
        layers = try (0..<c.layerCount).map { i in
            let b = "blk.\(i)."
            return LayerWeights(
                attentionNorm: try vector(b + "attn_norm.weight", hidden),
                query: try matrix(b + "attn_q.weight", rows: c.qWidth, columns: hidden),
                key: try matrix(b + "attn_k.weight", rows: c.kvWidth, columns: hidden),
                value: try matrix(b + "attn_v.weight", rows: c.kvWidth, columns: hidden),
                attentionOutput: try matrix(b + "attn_output.weight", rows: hidden, columns: c.qWidth),
                queryNorm: c.hasQKNorm ? try vector(b + "attn_q_norm.weight", c.headDim) : nil,
                keyNorm: c.hasQKNorm ? try vector(b + "attn_k_norm.weight", c.headDim) : nil,
                postAttentionNorm: c.hasPostNorms ? try vector(b + "post_attention_norm.weight", hidden) : nil,
                ffnNorm: try vector(b + "ffn_norm.weight", hidden),
                gate: try matrix(b + "ffn_gate.weight", rows: c.ffnSize, columns: hidden),
                up: try matrix(b + "ffn_up.weight", rows: c.ffnSize, columns: hidden),
                down: try matrix(b + "ffn_down.weight", rows: hidden, columns: c.ffnSize),
                postFFNNorm: c.hasPostNorms ? try vector(b + "post_ffw_norm.weight", hidden) : nil)
        }
    }
}

extension TransformerWeights {
    /// The weights with every matrix product computing with `arithmetic`. The token embedding
    /// is only looked up (decoded rows), so it stays as stored; the output layer gets its own
    /// repacked copy even when tied to it. `consumed` gets the encoded bytes each repacking read
    /// (see `QuantizedMatrix.computing(with:consumed:)`).
    func computing(
        with arithmetic: MatrixArithmetic, consumed: ((UnsafeRawPointer, Int) -> Void)? = nil
    ) -> TransformerWeights {
        guard arithmetic != .float32 else { return self }
        func repacked(_ m: QuantizedMatrix) -> QuantizedMatrix { m.computing(with: arithmetic, consumed: consumed) }
        var copy = self
        copy.output = repacked(output)
        copy.layers = layers.map { layer in
            var l = layer
            l.query = repacked(layer.query)
            l.key = repacked(layer.key)
            l.value = repacked(layer.value)
            l.attentionOutput = repacked(layer.attentionOutput)
            l.gate = repacked(layer.gate)
            l.up = repacked(layer.up)
            l.down = repacked(layer.down)
            return l
        }
        return copy
    }
}
