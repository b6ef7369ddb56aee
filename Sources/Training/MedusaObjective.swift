import Foundation
import Models

/// The loss of Medusa-style heads at the cuts of a `MedusaSequence`, and its gradient with
/// respect to the heads' weights and biases: head k's output `h + SiLU(W_k h + b_k)` is read by
/// the model's output layer (float32; the whole vocabulary or a guess head's tokens), and the
/// loss is the prompt tokens' (`DistillationLoss`, head k in the place of prompt token k, so with
/// the same decay per distance). The model and its output layer are frozen: gradients flow to
/// W and b only.
public struct MedusaObjective {
    /// The model whose output layer the heads read (float32 arithmetic for the backward pass).
    public let model: Transformer
    /// The objective.
    public var loss: DistillationLoss
    /// The output rows the heads' logits cover (nil: the whole vocabulary); a float32 head.
    public var head: GuessHead?

    public init(model: Transformer, loss: DistillationLoss = DistillationLoss(), head: GuessHead? = nil) {
        self.model = model
        self.loss = loss
        self.head = head
    }

    /// What the cuts of one sequence give.
    public struct Evaluation {
        /// The loss at each cut.
        public var losses: [Double]
        /// The sum over the cuts of d loss / d parameters: weights (as `MedusaHeads.weights`)
        /// then biases; zeros without a backward pass.
        public var gradient: [Float]
        /// Per cut, per head: the rank of the target token among the head's logits (0 = its
        /// top guess; `Int.max` when a guess head does not hold the target).
        public var ranks: [[Int]]
    }

    /// Loss, ranks and (with `backward`) the gradient of `heads` at every cut of `sequence`.
    public func evaluate(_ sequence: MedusaSequence, heads: MedusaHeads, backward: Bool = true) throws -> Evaluation {
        let k = heads.count, h = heads.hiddenSize, cuts = sequence.cuts.count
        guard sequence.heads >= k else {
            throw ModelError("the Medusa sequence was prepared for \(sequence.heads) heads, not \(k)")
        }
        let width = head?.tokens.count ?? model.config.vocabSize
        guard sequence.width == width, h == model.config.hiddenSize else {
            throw ModelError("the Medusa sequence's teacher rows are \(sequence.width) wide but the heads' logits are \(width)")
        }
        let pass = try heads.outputs(sequence.hidden, rows: cuts)
        let logits = try model.outputLayer(pass.outputs, rows: cuts * k, head: head)
        var losses: [Double] = []
        var ranks: [[Int]] = []
        var gradLogits: [Float] = []
        if backward { gradLogits.reserveCapacity(logits.count) }
        for j in 0..<cuts {
            let student = Array(logits[(j * k * width)..<((j + 1) * k * width)])
            // The sequence may hold teacher rows for more heads than are trained: take the first k.
            let teacherBase = j * sequence.heads * width
            let teacher = Array(sequence.teacher[teacherBase..<(teacherBase + k * width)])
            let (value, grad) = loss.evaluate(student: student, teacher: teacher, promptTokens: k, virtualTokens: 1, vocab: width)
            losses.append(value)
            if backward { gradLogits += grad }
            ranks.append((0..<k).map { d in
                let target = sequence.targets[j][d]
                let index: Int
                if let head {
                    guard let found = head.index(of: target) else { return Int.max }
                    index = found
                } else {
                    index = Int(target)
                }
                let row = student[(d * width)..<((d + 1) * width)]
                let score = row[row.startIndex + index]
                return row.reduce(0) { $1 > score ? $0 + 1 : $0 }
            })
        }
        var gradient = [Float](repeating: 0, count: heads.parameterCount)
        guard backward else { return Evaluation(losses: losses, gradient: gradient, ranks: ranks) }

        let gradOutputs = try model.outputLayerBackward(gradLogits, rows: cuts * k, head: head)
        let biasBase = heads.weights.count
        gradient.withUnsafeMutableBufferPointer { g in
            sequence.hidden.withUnsafeBufferPointer { x in
                for j in 0..<cuts {
                    let input = x.baseAddress! + j * h
                    for d in 0..<k {
                        let row = (j * k + d) * h
                        for i in 0..<h {
                            // d out / d a = silu'(a) (the residual h is the frozen input).
                            let da = gradOutputs[row + i] * MedusaHeads.siluDerivative(pass.preActivations[row + i])
                            guard da != 0 else { continue }
                            g[biasBase + d * h + i] += da
                            let weightRow = g.baseAddress! + (d * h + i) * h
                            for c in 0..<h { weightRow[c] += da * input[c] }
                        }
                    }
                }
            }
        }
        return Evaluation(losses: losses, gradient: gradient, ranks: ranks)
    }
}
