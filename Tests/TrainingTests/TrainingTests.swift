import Decoding
import Foundation
import Models
import TestSupport
import XCTest

@testable import Training

/// The training objective and its gradients on tiny models, and a short training run that must
/// lower the loss and raise guess accuracy on held-out cuts.
final class TrainingTests: XCTestCase {
    func testLossGradientMatchesFiniteDifferences() {
        var random = SplitMix(state: 3)
        let n = 3, v = 2, vocab = 7
        let student = (0..<n * v * vocab).map { _ in random.normal() * 2 }
        let teacher = (0..<n * vocab).map { _ in random.normal() * 2 }
        for kind in DistillationLoss.Kind.allCases {
            let loss = DistillationLoss(kind: kind)
            let (value, gradient) = loss.evaluate(student: student, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab)
            XCTAssertGreaterThan(value, 0)
            for i in 0..<student.count {
                var plus = student, minus = student
                plus[i] += 1e-3
                minus[i] -= 1e-3
                let numeric =
                    (loss.evaluate(student: plus, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab).loss
                        - loss.evaluate(student: minus, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab).loss) / 2e-3
                XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 1e-3, "\(kind) logit \(i)")
            }
        }
        // A student equal to the teacher (every virtual row) has zero distillation loss.
        var copy: [Float] = []
        for k in 0..<n { for _ in 0..<v { copy += teacher[(k * vocab)..<((k + 1) * vocab)] } }
        XCTAssertEqual(DistillationLoss().evaluate(student: copy, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab).loss, 0, accuracy: 1e-9)
    }

    func tinyModel(_ architecture: TinyModel.Architecture, seed: UInt64) throws -> Transformer {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = 24
        return try ModelLoader.load(path: try spec.write(), threads: 2)
    }

    /// The gradient of the whole objective (prompt rows over the cached prefix, virtual-token
    /// masks, mean of virtual logits, KL) against central differences, for every attention type.
    func testObjectiveGradientMatchesFiniteDifferences() throws {
        for (architecture, attention) in [(TinyModel.Architecture.gemma3, PromptTokens.Attention.ensemble), (.llama, .decoder), (.gemma3, .encoder)] {
            let model = try tinyModel(architecture, seed: 2)
            var random = SplitMix(state: 9)
            let tokens: [Int32] = [2] + (0..<20).map { _ in Int32(4 + random.int(20)) }
            let sequence = try TrainingSequence(model: model, tokens: tokens, cuts: [6, 13], promptTokens: 2, virtualTokens: 2)
            var prompt = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 4, scale: 1)
            prompt.attention = attention
            let objective = PromptTokenObjective(model: model)
            let evaluation = try objective.evaluate(sequence, cut: 13, promptTokens: prompt)
            let scale = evaluation.gradient.map { abs(Double($0)) }.max() ?? 1
            XCTAssertGreaterThan(scale, 0)
            var worst = 0.0
            for _ in 0..<16 {
                let i = random.int(prompt.embeddings.count)
                func loss(_ delta: Float) throws -> Double {
                    var moved = prompt
                    moved.withMutableEmbeddings { $0[i] += delta }
                    return try objective.evaluate(sequence, cut: 13, promptTokens: moved, backward: false).loss
                }
                let numeric = (try loss(1e-2) - loss(-1e-2)) / 2e-2
                worst = max(worst, abs(numeric - Double(evaluation.gradient[i])) / scale)
            }
            XCTAssertLessThan(worst, 5e-3, "\(architecture) \(attention)")
            // A cut the sequence was not prepared for is an error, not a crash.
            XCTAssertThrowsError(try objective.evaluate(sequence, cut: 9, promptTokens: prompt)) {
                XCTAssertTrue("\($0)".contains("cut 9"), "\($0)")
            }
            // The sequence's cache is left as it was: evaluating again gives the same loss.
            XCTAssertEqual(try objective.evaluate(sequence, cut: 13, promptTokens: prompt, backward: false).loss, evaluation.loss)
        }
    }

    /// AdamW on a tiny model's own greedy continuations (self-distillation) lowers the held-out
    /// loss and raises the top-1 guess accuracy.
    func testTrainingLowersLossAndRaisesAccuracy() throws {
        let model = try tinyModel(.gemma3, seed: 5)
        let generator = AutoregressiveGenerator(model: model)
        var sequences: [TrainingSequence] = []
        for start in 0..<30 {
            let prompt: [Int32] = [2, Int32(4 + start % 20), Int32(4 + (start * 7) % 20), Int32(4 + (start * 3) % 19)]
            let continuation = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 30)).tokens
            let tokens = prompt + continuation
            sequences.append(try TrainingSequence(model: model, tokens: tokens, cuts: [5, 11, 17, 23], promptTokens: 2, virtualTokens: 1))
        }
        let training = Array(sequences.prefix(24)), heldOut = Array(sequences.suffix(6))
        var prompt = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 1, scale: 1)
        let objective = PromptTokenObjective(model: model)

        /// Mean loss, top-3 accuracy and mean rank of the teacher's greedy token over held-out cuts.
        func heldOutScore() throws -> (loss: Double, top3: Double, meanRank: Double) {
            var loss = 0.0, hits = 0, rankSum = 0, count = 0, cuts = 0
            for sequence in heldOut {
                for cut in sequence.cuts {
                    let e = try objective.evaluate(sequence, cut: cut, promptTokens: prompt, backward: false)
                    loss += e.loss
                    cuts += 1
                    hits += e.ranks.filter { $0 < 3 }.count
                    rankSum += e.ranks.reduce(0, +)
                    count += e.ranks.count
                }
            }
            return (loss / Double(cuts), Double(hits) / Double(count), Double(rankSum) / Double(count))
        }
        let before = try heldOutScore()
        var optimizer = AdamW(count: prompt.embeddings.count)
        let epochs = 3
        let schedule = CosineSchedule(peak: 2e-2, totalSteps: epochs * training.count * 4)
        var step = 0
        for _ in 0..<epochs {
            for sequence in training {
                for cut in sequence.cuts {
                    let e = try objective.evaluate(sequence, cut: cut, promptTokens: prompt)
                    prompt.withMutableEmbeddings { optimizer.update(&$0, gradient: e.gradient, rate: schedule.rate(at: step)) }
                    step += 1
                }
            }
        }
        let after = try heldOutScore()
        let report = "held-out loss \(before.loss) -> \(after.loss), top-3 \(before.top3) -> \(after.top3), mean rank \(before.meanRank) -> \(after.meanRank)"
        print(report)
        XCTAssertLessThan(after.loss, before.loss * 0.95, report)
        XCTAssertLessThan(after.meanRank, before.meanRank, report)
        XCTAssertGreaterThan(after.top3, before.top3, report)
    }

    func testAdamWAndCosineSchedule() {
        let schedule = CosineSchedule(peak: 0.01, totalSteps: 100)
        XCTAssertEqual(schedule.rate(at: 0), 0.01)
        XCTAssertEqual(schedule.rate(at: 50), 0.005, accuracy: 1e-12)
        XCTAssertEqual(schedule.rate(at: 100), 0, accuracy: 1e-12)
        // The first AdamW step moves each parameter by the learning rate against its gradient's sign.
        var optimizer = AdamW(count: 3)
        var values: [Float] = [1, 2, 3]
        values.withUnsafeMutableBufferPointer { optimizer.update(&$0, gradient: [0.5, -2, 0], rate: 0.1) }
        XCTAssertEqual(values[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(values[1], 2.1, accuracy: 1e-6)
        XCTAssertEqual(values[2], 3, accuracy: 1e-6)
    }
}
