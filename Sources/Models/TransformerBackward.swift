import Foundation
import Kernels

/// What a forward pass keeps for the backward pass to its input embeddings: per layer the inputs
/// of every nonlinear step (norms, attention, activation), and the rows of the output layer.
/// The cache must still hold the batch's keys and values when `backward` runs.
public final class ForwardTape {
    /// One layer's saved values, each rows x width of its step.
    struct Layer {
        /// The residual stream entering the layer (input of the attention norm).
        var input: [Float]
        /// q and k before their RMS norms (when the architecture has q/k norms).
        var queryBeforeNorm: [Float] = []
        var keyBeforeNorm: [Float] = []
        /// The queries attention ran with (after norm and RoPE).
        var rotatedQuery: [Float] = []
        /// Attention output projection, before the post-attention norm.
        var attentionProjected: [Float] = []
        /// The residual stream between the two blocks (input of the FFN norm).
        var middle: [Float] = []
        /// Gate projection before the activation, and the up projection.
        var gateBeforeActivation: [Float] = []
        var up: [Float] = []
        /// FFN down projection, before the post-FFN norm.
        var ffnProjected: [Float] = []

        init(input: [Float]) { self.input = input }
    }

    var layers: [Layer] = []
    var positions: [Int32] = []
    var mask = AttentionMask.causal(0)
    var cache: KVCache?
    var cacheStart = 0
    var outputRows: [Int] = []
    /// The output rows of the residual stream before the final norm.
    var finalInput: [Float] = []
    /// The guess head the output rows' logits came from (compact, in its token order), or nil
    /// for the full output layer.
    var outputHead: GuessHead?

    /// An empty tape for one forward pass.
    public init() {}

    func begin(positions: [Int32], mask: AttentionMask, cache: KVCache, cacheStart: Int, outputRows: [Int]) {
        layers = []
        self.positions = positions
        self.mask = mask
        self.cache = cache
        self.cacheStart = cacheStart
        self.outputRows = outputRows
        outputHead = nil
    }
}

extension Transformer {
    /// A forward pass that also fills `tape` for `backward`. Same arguments and result as
    /// `forward`; the batch's keys and values stay in `cache` (truncate it after the backward).
    /// Throws for a model with `.int8` arithmetic: the backward pass differentiates the float32
    /// products, so its gradients would belong to another function.
    public func forward(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache, logitRows: [Int]?,
        interventions: Interventions? = nil, recordingInto tape: ForwardTape
    ) throws -> Logits {
        try requireFloatArithmetic()
        return try run(
            embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: logitRows, hook: nil,
            interventions: interventions, tape: tape)
    }

    /// `forward(embeddings:...recordingInto:)` with every logit row restricted to `head`: the
    /// result's rows are compact, `head.tokens.count` wide in the head's token order (its
    /// `vocabSize` is that count), each value bitwise the full output layer's logit for that
    /// token. `backward` then takes gradients of that width, and the output layer's backward
    /// reads only the head's rows. Training prompt tokens for a decoder that ranks their guesses
    /// with this head costs `head.relativeCost` of the output layer per row.
    public func forward(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache, logitRows: [Int]?, head: GuessHead,
        recordingInto tape: ForwardTape
    ) throws -> Logits {
        try requireFloatArithmetic()
        guard head.vocabSize == config.vocabSize, head.columns == config.hiddenSize, head.encodedRows != nil else {
            throw ModelError("\(file.path): the guess head was made for another model or for int8 arithmetic")
        }
        _ = try run(
            embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: logitRows, hook: nil, tape: tape,
            outputLayer: false)
        let rows = tape.outputRows.count, k = head.tokens.count, hidden = config.hiddenSize
        var normed = tape.finalInput
        Norms.rmsNorm(&normed, rows: rows, width: hidden, weight: weights.outputNorm, eps: config.rmsEps)
        var compact = [Float](repeating: 0, count: rows * k)
        normed.withUnsafeBufferPointer { x in
            compact.withUnsafeMutableBufferPointer {
                head.multiply(x.baseAddress!, count: rows, into: $0.baseAddress!, outputStride: k, pool: pool)
            }
        }
        tape.outputHead = head
        return Logits(rows: tape.outputRows, vocabSize: k, values: compact, lease: nil)
    }

    /// Throws for `.int8` arithmetic: a tape's backward differentiates the float32 products.
    private func requireFloatArithmetic() throws {
        guard arithmetic == .float32 else {
            throw ModelError("\(file.path): training needs float32 arithmetic (the backward pass differentiates the float products); load the model with arithmetic: .float32")
        }
    }

    /// The gradient of a scalar loss with respect to the input embeddings of the recorded forward
    /// pass (rows x hidden), from its gradient with respect to the returned logits
    /// (`tape.outputRows.count` x vocab). The weights and the cached keys and values of earlier
    /// slots are constants: only input gradients flow, through the output layer, the norms, the
    /// gated FFN, attention (to the batch's own queries, keys and values), RoPE and the q/k norms.
    public func backward(_ tape: ForwardTape, gradLogits: [Float]) throws -> [Float] {
        let c = config
        let n = tape.positions.count
        let hidden = c.hiddenSize
        let outputs = tape.outputRows.count
        let width = tape.outputHead?.tokens.count ?? c.vocabSize
        guard let cache = tape.cache, tape.layers.count == c.layerCount, gradLogits.count == outputs * width else {
            throw ModelError("backward: the tape is not from a complete forward pass with \(outputs) logit rows of \(width)")
        }
        guard cache.count >= tape.cacheStart + n else {
            throw ModelError("backward: the cache no longer holds the batch's keys and values (truncated before the backward)")
        }

        // Output layer and final norm.
        var gradSelected = [Float](repeating: 0, count: outputs * hidden)
        if let encoded = tape.outputHead?.encodedRows {
            // The head's rows only (its stored matrix repeats the last row to a multiple of 4).
            let rows = QuantizedMatrix(data: encoded.data, type: encoded.type, rows: width, columns: hidden)
            rows.multiplyTransposed(gradLogits, count: outputs, into: &gradSelected, pool: pool)
        } else {
            weights.output.multiplyTransposed(gradLogits, count: outputs, into: &gradSelected, pool: pool)
        }
        var gradFinal = [Float](repeating: 0, count: outputs * hidden)
        Norms.rmsNormBackward(
            input: tape.finalInput, gradOutput: gradSelected, gradInput: &gradFinal, rows: outputs, width: hidden,
            weight: weights.outputNorm, eps: c.rmsEps)
        var dx = [Float](repeating: 0, count: n * hidden)  // gradient of the residual stream
        for (k, row) in tape.outputRows.enumerated() {
            for j in 0..<hidden { dx[row * hidden + j] += gradFinal[k * hidden + j] }
        }

        let (global, local) = ropeTables(tape.positions)
        let slotPositions = cache.positions
        let cacheStart = tape.cacheStart
        let slotCount = cacheStart + n
        let mask = tape.mask

        var gradProjected = [Float](repeating: 0, count: n * hidden)
        var gradNormed = [Float](repeating: 0, count: n * hidden)
        var gradResidual = [Float](repeating: 0, count: n * hidden)
        var gradActivation = [Float](repeating: 0, count: n * c.ffnSize)
        var gradGate = [Float](repeating: 0, count: n * c.ffnSize)
        var gradUp = [Float](repeating: 0, count: n * c.ffnSize)
        var gradAttention = [Float](repeating: 0, count: n * c.qWidth)
        var gradQuery = [Float](repeating: 0, count: n * c.qWidth)
        var gradQueryNormed = [Float](repeating: 0, count: n * c.qWidth)
        var gradKeySlots = [Float](repeating: 0, count: slotCount * c.kvWidth)
        var gradValueSlots = [Float](repeating: 0, count: slotCount * c.kvWidth)
        var scratch = [Float](repeating: 0, count: n * hidden)

        /// gradIn <- d norm(x) given d out, for `rows` rows of `width` (weight w).
        func normBackward(_ input: [Float], _ gradOut: [Float], _ gradIn: inout [Float], rows: Int, width: Int, weight: [Float]) {
            Norms.rmsNormBackward(
                input: input, gradOutput: gradOut, gradInput: &gradIn, rows: rows, width: width, weight: weight, eps: c.rmsEps)
        }

        for l in stride(from: c.layerCount - 1, through: 0, by: -1) {
            let w = weights.layers[l]
            let saved = tape.layers[l]

            // FFN block: x_out = middle + post(down(act(gate) * up)), gate/up = W norm(middle).
            if let post = w.postFFNNorm {
                normBackward(saved.ffnProjected, dx, &gradProjected, rows: n, width: hidden, weight: post)
            } else {
                gradProjected = dx
            }
            w.down.multiplyTransposed(gradProjected, count: n, into: &gradActivation, pool: pool)
            switch c.activation {
            case .geluTanh:
                Activations.geluTanhGateBackward(
                    gate: saved.gateBeforeActivation, up: saved.up, gradOutput: gradActivation, gradGate: &gradGate,
                    gradUp: &gradUp, count: n * c.ffnSize)
            case .silu:
                Activations.siluGateBackward(
                    gate: saved.gateBeforeActivation, up: saved.up, gradOutput: gradActivation, gradGate: &gradGate,
                    gradUp: &gradUp, count: n * c.ffnSize)
            }
            w.gate.multiplyTransposed(gradGate, count: n, into: &gradNormed, pool: pool)
            w.up.multiplyTransposed(gradUp, count: n, into: &scratch, pool: pool)
            for i in 0..<gradNormed.count { gradNormed[i] += scratch[i] }
            normBackward(saved.middle, gradNormed, &gradResidual, rows: n, width: hidden, weight: w.ffnNorm)
            for i in 0..<dx.count { dx[i] += gradResidual[i] }

            // Attention block: middle = input + post(W_o attention(q, K, V)).
            if let post = w.postAttentionNorm {
                normBackward(saved.attentionProjected, dx, &gradProjected, rows: n, width: hidden, weight: post)
            } else {
                gradProjected = dx
            }
            w.attentionOutput.multiplyTransposed(gradProjected, count: n, into: &gradAttention, pool: pool)
            let isLocal = c.isLocal(layer: l)
            let visible = visibility(
                mask: mask, cacheStart: cacheStart, positions: tape.positions, slotPositions: slotPositions,
                window: isLocal ? c.slidingWindow : nil)
            for i in 0..<gradKeySlots.count {
                gradKeySlots[i] = 0
                gradValueSlots[i] = 0
            }
            cache.withLayer(l) { keys, values in
                Attention.backward(
                    queries: saved.rotatedQuery, queryCount: n, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                    keys: keys, values: values, slotCount: slotCount, scale: c.attentionScale, visible: visible,
                    gradOutput: gradAttention, gradQueries: &gradQuery, gradKeys: &gradKeySlots, gradValues: &gradValueSlots,
                    pool: pool)
            }
            // Only the batch's own keys and values depend on its inputs.
            var gradKey = Array(gradKeySlots[(cacheStart * c.kvWidth)...])
            let gradValue = Array(gradValueSlots[(cacheStart * c.kvWidth)...])
            let angles = isLocal ? local : global
            gradQuery.withUnsafeMutableBufferPointer { qb in
                gradKey.withUnsafeMutableBufferPointer { kb in
                    for i in 0..<n {
                        Rope.applyBackward(
                            qb.baseAddress! + i * c.qWidth, heads: c.heads, dims: c.headDim, cos: angles[i].cos, sin: angles[i].sin,
                            pairing: c.ropePairing)
                        Rope.applyBackward(
                            kb.baseAddress! + i * c.kvWidth, heads: c.kvHeads, dims: c.headDim, cos: angles[i].cos,
                            sin: angles[i].sin, pairing: c.ropePairing)
                    }
                }
            }
            var gradKeyInput = gradKey
            if let qNorm = w.queryNorm, let kNorm = w.keyNorm {
                normBackward(saved.queryBeforeNorm, gradQuery, &gradQueryNormed, rows: n * c.heads, width: c.headDim, weight: qNorm)
                normBackward(saved.keyBeforeNorm, gradKey, &gradKeyInput, rows: n * c.kvHeads, width: c.headDim, weight: kNorm)
            } else {
                gradQueryNormed = gradQuery
            }
            w.query.multiplyTransposed(gradQueryNormed, count: n, into: &gradNormed, pool: pool)
            w.key.multiplyTransposed(gradKeyInput, count: n, into: &scratch, pool: pool)
            for i in 0..<gradNormed.count { gradNormed[i] += scratch[i] }
            w.value.multiplyTransposed(gradValue, count: n, into: &scratch, pool: pool)
            for i in 0..<gradNormed.count { gradNormed[i] += scratch[i] }
            normBackward(saved.input, gradNormed, &gradResidual, rows: n, width: hidden, weight: w.attentionNorm)
            for i in 0..<dx.count { dx[i] += gradResidual[i] }
        }
        return dx
    }
}
