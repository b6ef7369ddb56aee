import Foundation

/// Medusa-style heads (Cai et al. 2024, the paper's main peer), in Medusa's lighter form: head k
/// (0-based) maps the model's final hidden state h (after the final norm) to
/// `h + SiLU(W_k h + b_k)` and reads it with the model's own output layer, shared by every head.
/// From the hidden state of the row that chose the next token, head k guesses the token k + 1
/// places after it: the distance prompt token k guesses at.
///
/// Each head adds hidden x (hidden + 1) floats (Gemma 3 270M: 410,240 per head, 1.6 MB); a
/// Medusa head with its own output layer would add vocab x hidden more (168M floats here).
/// Zero weights and biases make every head the model's own next-token distribution.
public struct MedusaHeads: Sendable, Equatable {
    /// Number of heads (distances guessed).
    public let count: Int
    /// Width of the hidden state.
    public let hiddenSize: Int
    /// `count` matrices of hidden x hidden (out x in, row-major), one after another.
    public var weights: [Float]
    /// `count` bias vectors of `hiddenSize`.
    public var biases: [Float]
    /// SHA-256 of the model file the heads were trained for, when known.
    public var baseModelSHA256: String?
    /// How the heads were trained (free text), when known.
    public var trainingSummary: String?

    /// `count` heads of width `hiddenSize` with zero weights and biases (each head starts as the
    /// model's next-token distribution, as Medusa initialises its residual blocks).
    public init(count: Int, hiddenSize: Int) throws {
        guard count >= 1, hiddenSize >= 1 else {
            throw ModelError("Medusa heads: \(count) heads of width \(hiddenSize) (need at least one head of width 1)")
        }
        self.init(
            count: count, hiddenSize: hiddenSize, weights: [Float](repeating: 0, count: count * hiddenSize * hiddenSize),
            biases: [Float](repeating: 0, count: count * hiddenSize))
    }

    /// Heads from their parameters; throws when the sizes do not match `count` and `hiddenSize`.
    public init(count: Int, hiddenSize: Int, weights: [Float], biases: [Float], baseModelSHA256: String? = nil, trainingSummary: String? = nil) throws {
        guard count >= 1, hiddenSize >= 1, weights.count == count * hiddenSize * hiddenSize, biases.count == count * hiddenSize else {
            throw ModelError(
                "Medusa heads: \(weights.count) weights and \(biases.count) biases do not make \(count) heads of width \(hiddenSize) (need \(count * hiddenSize * hiddenSize) and \(count * hiddenSize))")
        }
        self.init(count: count, hiddenSize: hiddenSize, weights: weights, biases: biases)
        self.baseModelSHA256 = baseModelSHA256
        self.trainingSummary = trainingSummary
    }

    private init(count: Int, hiddenSize: Int, weights: [Float], biases: [Float]) {
        self.count = count
        self.hiddenSize = hiddenSize
        self.weights = weights
        self.biases = biases
    }

    /// Parameters in all (weights and biases).
    public var parameterCount: Int { weights.count + biases.count }

    /// Bytes the heads add to the model at inference (float32 parameters).
    public var addedBytes: Int { parameterCount * MemoryLayout<Float>.size }

    /// What `outputs` computes, with the pre-activations the backward pass needs.
    public struct Pass: Sendable {
        /// `rows` x `count` x hidden: row r's head k output at `(r * count + k) * hidden`.
        public var outputs: [Float]
        /// The same layout: W_k h + b_k before the SiLU.
        public var preActivations: [Float]
    }

    /// The heads' outputs `h + SiLU(W_k h + b_k)` for normalised hidden rows (`rows` x hidden),
    /// row-major by row then head, for the first `first` heads (default: all). Each row is
    /// computed alone, in a fixed order.
    public func outputs(_ normalized: [Float], rows: Int, first: Int? = nil) throws -> Pass {
        let h = hiddenSize
        guard normalized.count == rows * h else {
            throw ModelError("Medusa heads: \(normalized.count) values are not \(rows) hidden rows of \(h)")
        }
        let count = min(first ?? self.count, self.count)
        var outputs = [Float](repeating: 0, count: rows * count * h)
        var pre = outputs
        weights.withUnsafeBufferPointer { w in
            normalized.withUnsafeBufferPointer { x in
                for r in 0..<rows {
                    let input = x.baseAddress! + r * h
                    for k in 0..<count {
                        let base = (r * count + k) * h
                        for i in 0..<h {
                            let a = Self.dot(w.baseAddress! + (k * h + i) * h, input, h) + biases[k * h + i]
                            pre[base + i] = a
                            outputs[base + i] = input[i] + Self.silu(a)
                        }
                    }
                }
            }
        }
        return Pass(outputs: outputs, preActivations: pre)
    }

    /// The heads' logits for normalised hidden rows: (`rows` x heads) rows of the output layer
    /// (the whole vocabulary, or `head`'s tokens in its order), row-major by row then head, for
    /// the first `first` heads (default: all; a tree of depth d needs only d).
    public func logits(_ normalized: [Float], rows: Int, model: LanguageModel, head: GuessHead?, first: Int? = nil) throws -> [Float] {
        guard model.config.hiddenSize == hiddenSize else {
            throw ModelError("Medusa heads of width \(hiddenSize) do not fit a model of hidden size \(model.config.hiddenSize)")
        }
        let used = min(first ?? count, count)
        let pass = try outputs(normalized, rows: rows, first: used)
        return try model.outputLayer(pass.outputs, rows: rows * used, head: head)
    }

    /// silu(x) = x / (1 + e^-x).
    @inline(__always) static func silu(_ x: Float) -> Float { x / (1 + Foundation.exp(-x)) }

    /// d silu / dx = s (1 + x (1 - s)), s = 1 / (1 + e^-x).
    @inline(__always) public static func siluDerivative(_ x: Float) -> Float {
        let s = 1 / (1 + Foundation.exp(-x))
        return s * (1 + x * (1 - s))
    }

    /// A dot product of n floats: 16 lanes of partial sums in index order, then the lanes and
    /// the tail in a fixed order (every row gives the same bits wherever it is computed).
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var lanes = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes.addProduct(x, y)
            i += 16
        }
        var sum = lanes.sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }
}
