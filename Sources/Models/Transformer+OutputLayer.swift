import Kernels

extension Transformer {
    /// The final norm of residual-stream rows (`rows` x hiddenSize): what the output layer reads.
    public func finalNorm(_ residual: [Float], rows: Int) -> [Float] {
        var normed = residual
        Norms.rmsNorm(&normed, rows: rows, width: config.hiddenSize, weight: weights.outputNorm, eps: config.rmsEps)
        return normed
    }

    /// The output layer's logits of normalised rows (`rows` x hiddenSize, as `finalNorm` gives):
    /// `rows` x vocabSize, or with `head` `rows` x `head.tokens.count` in the head's token order
    /// (each value the full layer's logit for that token, computed as a forward pass computes it).
    /// Throws while a forward pass runs, or for a head of another model.
    public func outputLayer(_ normalized: [Float], rows: Int, head: GuessHead?) throws -> [Float] {
        let hidden = config.hiddenSize
        guard normalized.count == rows * hidden else {
            throw ModelError("output layer: \(normalized.count) values are not \(rows) rows of \(hidden)")
        }
        if let head {
            guard head.vocabSize == config.vocabSize, head.columns == hidden else {
                throw ModelError("output layer: the guess head was made for another model")
            }
        }
        guard rows > 0 else { return [] }
        let width = head?.tokens.count ?? config.vocabSize
        var out = [Float](repeating: 0, count: rows * width)
        try runningAlone {
            normalized.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    if let head {
                        head.multiply(x.baseAddress!, count: rows, into: y.baseAddress!, outputStride: width, pool: pool)
                    } else {
                        weights.output.multiply(x.baseAddress!, count: rows, into: y.baseAddress!, pool: pool)
                    }
                }
            }
        }
        return out
    }

    /// The gradient with respect to the normalised rows of `outputLayer`'s logits, given the
    /// gradient with respect to those logits (`rows` x width): the transposed product of the
    /// float32 weights (the full layer's, or the head's copied rows). Throws for a model or head
    /// that computes with int8 (its products are not the float function being differentiated).
    public func outputLayerBackward(_ gradLogits: [Float], rows: Int, head: GuessHead?) throws -> [Float] {
        guard arithmetic == .float32 else {
            throw ModelError("\(file.path): the output layer's backward needs float32 arithmetic; load the model with arithmetic: .float32")
        }
        let hidden = config.hiddenSize
        let matrix: QuantizedMatrix
        if let head {
            guard let encoded = head.encodedRows, head.vocabSize == config.vocabSize else {
                throw ModelError("output layer backward: the guess head was made for another model or for int8 arithmetic")
            }
            // The head's rows only (its stored matrix repeats the last row to a multiple of 4).
            matrix = QuantizedMatrix(data: encoded.data, type: encoded.type, rows: head.tokens.count, columns: hidden)
        } else {
            matrix = weights.output
        }
        guard gradLogits.count == rows * matrix.rows else {
            throw ModelError("output layer backward: \(gradLogits.count) values are not \(rows) rows of \(matrix.rows)")
        }
        var gradInput = [Float](repeating: 0, count: rows * hidden)
        guard rows > 0 else { return [] }
        try runningAlone { matrix.multiplyTransposed(gradLogits, count: rows, into: &gradInput, pool: pool) }
        return gradInput
    }
}
