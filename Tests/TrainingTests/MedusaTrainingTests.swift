import Decoding
import Foundation
import Models
import TestSupport
import XCTest

@testable import Training

/// Medusa-style heads' training: the teacher pass keeps the right hidden states and targets,
/// zero heads are the model's next-token distribution, the heads' gradient against central
/// differences (whole vocabulary and a guess head), and the training run (loss falls, resume
/// from a checkpoint continues the same run).
final class MedusaTrainingTests: XCTestCase {
    func tinyModel(_ architecture: TinyModel.Architecture, seed: UInt64) throws -> Transformer {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = 24
        return try ModelLoader.load(path: try spec.write(), threads: 2)
    }

    /// The kept hidden state of row c - 1 gives, through the output layer, bitwise the forward's
    /// logits of that row; the teacher rows are the forward's rows c ... c + K - 1; targets are
    /// the sequence's tokens; zero heads give the next-token logits of the hidden row.
    func testSequenceKeepsTheRowsTheCutsNeed() throws {
        for architecture in TinyModel.Architecture.allCases {
            let model = try tinyModel(architecture, seed: 3)
            var random = SplitMix(state: 5)
            let tokens: [Int32] = [2] + (0..<18).map { _ in Int32(4 + random.int(20)) }
            let cuts = [4, 9, 15]
            let sequence = try MedusaSequence(model: model, tokens: tokens, cuts: cuts, heads: 3, head: nil)
            let full = try model.forward(tokens: tokens, cache: model.makeCache(capacity: tokens.count))
            let vocab = model.config.vocabSize, hidden = model.config.hiddenSize
            for (j, cut) in cuts.enumerated() {
                let row = Array(sequence.hidden[(j * hidden)..<((j + 1) * hidden)])
                XCTAssertEqual(try model.outputLayer(row, rows: 1, head: nil), Array(full.row(cut - 1)), "\(architecture) cut \(cut)")
                for k in 0..<3 {
                    let base = (j * 3 + k) * vocab
                    XCTAssertEqual(Array(sequence.teacher[base..<(base + vocab)]), Array(full.row(cut + k)))
                    XCTAssertEqual(sequence.targets[j][k], tokens[cut + k + 1])
                }
                let zero = try MedusaHeads(count: 3, hiddenSize: hidden)
                let logits = try zero.logits(row, rows: 1, model: model, head: nil)
                for k in 0..<3 { XCTAssertEqual(Array(logits[(k * vocab)..<((k + 1) * vocab)]), Array(full.row(cut - 1))) }
            }
            XCTAssertThrowsError(try MedusaSequence(model: model, tokens: tokens, cuts: [16], heads: 3, head: nil)) {
                XCTAssertTrue("\($0)".contains("cut 16"), "\($0)")
            }
        }
    }

    /// d loss / d (W, b) against central differences at random coordinates, over the whole
    /// vocabulary and over a guess head, distillation and cross-entropy.
    func testHeadGradientMatchesFiniteDifferences() throws {
        for (architecture, kind, useHead) in [
            (TinyModel.Architecture.gemma3, DistillationLoss.Kind.distillation, false), (.llama, .crossEntropy, false), (.gemma3, .distillation, true),
        ] {
            let model = try tinyModel(architecture, seed: 4)
            let head = useHead ? try model.makeGuessHead(tokens: (4..<20).map(Int32.init)) : nil
            var random = SplitMix(state: 8)
            let tokens: [Int32] = [2] + (0..<18).map { _ in Int32(4 + random.int(16)) }
            let sequence = try MedusaSequence(model: model, tokens: tokens, cuts: [5, 11], heads: 2, head: head)
            let heads = try MedusaHeads.random(count: 2, hidden: model.config.hiddenSize, seed: 3, scale: 0.3)
            let objective = MedusaObjective(model: model, loss: DistillationLoss(kind: kind, decay: 0.8), head: head)
            let evaluation = try objective.evaluate(sequence, heads: heads)
            func loss(_ h: MedusaHeads) throws -> Double {
                try objective.evaluate(sequence, heads: h, backward: false).losses.reduce(0, +)
            }
            let scale = evaluation.gradient.map { abs(Double($0)) }.max() ?? 0
            XCTAssertGreaterThan(scale, 0)
            var worst = 0.0
            for sample in 0..<24 {
                // Half the samples among the biases, half among the weights.
                let i = sample % 2 == 0 ? random.int(heads.weights.count) : heads.weights.count + random.int(heads.biases.count)
                func moved(_ delta: Float) throws -> MedusaHeads {
                    var h = heads
                    if i < h.weights.count { h.weights[i] += delta } else { h.biases[i - h.weights.count] += delta }
                    return h
                }
                let numeric = (try loss(moved(1e-2)) - loss(moved(-1e-2))) / 2e-2
                worst = max(worst, abs(numeric - Double(evaluation.gradient[i])) / scale)
            }
            XCTAssertLessThan(worst, 5e-3, "\(architecture) \(kind) head \(useHead)")
        }
    }

    /// Four training and two held-out examples, cuts prepared for 3 tokens.
    func data() -> TrainingData {
        let examples = (0..<6).map { i in
            TrainingExamples.Example(
                id: "e\(i)", tokens: [2] + (0..<20).map { Int32(4 + ($0 * (i + 3)) % 20) }, replyStart: 3, cuts: [3, 8 + i, 17])
        }
        return TrainingData(training: Array(examples.prefix(4)), heldOut: Array(examples.suffix(2)), description: "test")
    }

    /// The run lowers the training loss over epochs, reports held-out accuracy, and a run
    /// stopped at a checkpoint and resumed ends where the uninterrupted run ends.
    func testRunLowersLossAndResumes() throws {
        let model = try tinyModel(.gemma3, seed: 6)
        var recipe = TrainingRecipe(conversations: 4, heldOut: 2)
        recipe.promptTokens = 2
        recipe.epochs = 6
        recipe.learningRate = 1e-2
        let run = try MedusaTrainingRun(recipe: recipe, student: model, teacher: model, modelSHA256: "x", studentHead: nil, teacherHead: nil)
        var losses: [Double] = []
        let outcome = try run.run(on: data(), events: { if case .step(let p) = $0 { losses.append(p.loss) } })
        XCTAssertEqual(outcome.steps, 24)
        XCTAssertLessThan(losses.suffix(4).reduce(0, +), losses.prefix(4).reduce(0, +) * 0.9, "\(losses)")
        let before = try XCTUnwrap(outcome.before), after = try XCTUnwrap(outcome.after)
        XCTAssertEqual(after.cuts, 6)
        XCTAssertLessThan(after.loss, before.loss)
        XCTAssertEqual(outcome.heads.baseModelSHA256, "x")

        // Stopped after 10 steps by a curve, then resumed from the checkpoint.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("medusa-ckpt-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let stopping = MedusaTrainingRun.Curve(
            every: 10, measure: { _ in .init(perRank: [], loss: 0, cuts: 0) }, stopWhen: { $0.step >= 10 })
        let first = try run.run(on: data(), checkpointing: .init(url: url, every: 5), curve: stopping)
        XCTAssertTrue(first.stoppedEarly)
        XCTAssertEqual(first.steps, 10)
        let resumed = try run.run(on: data(), checkpointing: .init(url: url, every: 5, resume: true))
        XCTAssertEqual(resumed.steps, 14)
        let gap = zip(resumed.heads.weights + resumed.heads.biases, outcome.heads.weights + outcome.heads.biases).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(gap, 1e-5, "the resumed run continues the same run (moments stored in float32)")
    }
}
