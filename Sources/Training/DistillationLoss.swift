import Foundation

/// The training objective of prompt tokens, per cut: for prompt token k (0-based) with student
/// logits z_k (the mean of its virtual tokens' logits) and the frozen model's logits t_k for the
/// same future token, loss = (1/N) * sum_k decay^k * D_k, where D_k is
/// - `distillation`: KL(softmax(t_k) || softmax(z_k)) (the paper's default), or
/// - `crossEntropy`: -log softmax(z_k)[argmax t_k] (the paper's ablation without distillation).
/// Sums over the vocabulary run in Double.
public struct DistillationLoss: Sendable {
    /// The two objectives.
    public enum Kind: String, Sendable, CaseIterable {
        case distillation, crossEntropy = "cross-entropy"
    }

    /// Which objective.
    public var kind: Kind
    /// Weight decay per distance (the paper's 0.8).
    public var decay: Double

    /// The paper's objective: distillation with decay 0.8.
    public init(kind: Kind = .distillation, decay: Double = 0.8) {
        self.kind = kind
        self.decay = decay
    }

    /// Loss and its gradient with respect to the student's logit rows.
    /// - student: [N * V, vocab], prompt token k's V virtual rows consecutive (k-major).
    /// - teacher: [N, vocab], the frozen model's logits for prompt token k's target.
    public func evaluate(student: [Float], teacher: [Float], promptTokens n: Int, virtualTokens v: Int, vocab: Int)
        -> (loss: Double, gradient: [Float])
    {
        precondition(student.count == n * v * vocab && teacher.count == n * vocab)
        var gradient = [Float](repeating: 0, count: student.count)
        var loss = 0.0
        var mean = [Double](repeating: 0, count: vocab)
        for k in 0..<n {
            // Student logits of prompt token k: the mean of its virtual rows.
            for i in 0..<vocab { mean[i] = 0 }
            for r in 0..<v {
                let base = (k * v + r) * vocab
                for i in 0..<vocab { mean[i] += Double(student[base + i]) }
            }
            for i in 0..<vocab { mean[i] /= Double(v) }
            let studentLogNormaliser = DistillationLoss.logSumExp(mean)
            let teacherRow = teacher[(k * vocab)..<((k + 1) * vocab)].map(Double.init)
            let weight = pow(decay, Double(k)) / Double(n)

            var term = 0.0
            var target = [Double](repeating: 0, count: vocab)  // the distribution the student is pulled to
            switch kind {
            case .distillation:
                let teacherLogNormaliser = DistillationLoss.logSumExp(teacherRow)
                for i in 0..<vocab {
                    let logP = teacherRow[i] - teacherLogNormaliser
                    let p = exp(logP)
                    target[i] = p
                    if p > 0 { term += p * (logP - (mean[i] - studentLogNormaliser)) }
                }
            case .crossEntropy:
                var best = 0
                for i in 1..<vocab where teacherRow[i] > teacherRow[best] { best = i }
                target[best] = 1
                term = -(mean[best] - studentLogNormaliser)
            }
            loss += weight * term
            // d/dz_k = weight * (softmax(z_k) - target); each virtual row gets 1/V of it.
            for i in 0..<vocab {
                let g = weight * (exp(mean[i] - studentLogNormaliser) - target[i]) / Double(v)
                for r in 0..<v { gradient[(k * v + r) * vocab + i] = Float(g) }
            }
        }
        return (loss, gradient)
    }

    /// log(sum(exp(x))) computed stably.
    static func logSumExp(_ x: [Double]) -> Double {
        let maximum = x.max() ?? 0
        var total = 0.0
        for value in x { total += exp(value - maximum) }
        return maximum + log(total)
    }
}
