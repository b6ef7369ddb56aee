import Decoding
import Foundation
import GGUF
import Models
import TestSupport
import Tokenizer
import XCTest

@testable import Training

/// The training loop of the library (`PromptTokenTrainingRun`) against the trainer stepped by
/// hand, resume, curves and early stops, and recipe checks, on a tiny model.
final class TrainingRunTests: XCTestCase {
    func tiny() throws -> (Transformer, SentencePieceTokenizer) { try tinyTrainingModel() }

    /// Four training and two held-out examples over the tiny vocabulary, cuts prepared for 3
    /// prompt tokens.
    func data() -> TrainingData {
        let examples = (0..<6).map { i in
            TrainingExamples.Example(
                id: "e\(i)", tokens: [2] + (0..<20).map { Int32(4 + ($0 * (i + 3)) % 40) }, replyStart: 3, cuts: [3, 8 + i, 17])
        }
        return TrainingData(training: Array(examples.prefix(4)), heldOut: Array(examples.suffix(2)), description: "test")
    }

    func recipe(epochs: Int = 2) -> TrainingRecipe {
        var recipe = TrainingRecipe(conversations: 4, heldOut: 2)
        recipe.promptTokens = 2
        recipe.epochs = epochs
        recipe.initialisation = .random(scale: 1)
        recipe.seed = 5
        return recipe
    }

    func testRunIsTheTrainerSteppedByHand() throws {
        let (model, tokenizer) = try tiny()
        let recipe = recipe()
        let run = try PromptTokenTrainingRun(recipe: recipe, student: model, teacher: model, tokenizer: tokenizer, modelSHA256: "x", guessHead: nil)
        let outcome = try run.run(on: data())

        let initial = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 5, scale: 1)
        let trainer = PromptTokenTrainer(
            objective: PromptTokenObjective(model: model, loss: DistillationLoss(kind: .distillation, decay: 0.8)), tokens: initial,
            learningRate: recipe.learningRate, totalSteps: 8)
        for _ in 0..<2 {
            for example in data().training {
                try trainer.train(on: TrainingSequence(model: model, tokens: example.tokens, cuts: example.cuts, promptTokens: 2, virtualTokens: 1))
            }
        }
        XCTAssertEqual(outcome.tokens.embeddings, trainer.tokens.embeddings)
        XCTAssertEqual(outcome.steps, 8)
        XCTAssertEqual(outcome.totalSteps, 8)
        XCTAssertFalse(outcome.stoppedEarly)
        XCTAssertEqual(outcome.tokens.baseModelSHA256, "x")
        // Held-out accuracy before and after, on the two held-out examples' 6 cuts.
        let before = try XCTUnwrap(outcome.before), after = try XCTUnwrap(outcome.after)
        XCTAssertEqual(before.cuts, 6)
        XCTAssertEqual(after.perRank.count, 2)
        XCTAssertNotEqual(after, before)
        let heldOut = try data().heldOut.map(run.sequence)
        XCTAssertEqual(try run.measure(trainer.tokens, on: heldOut), after)
    }

    /// A run stopped by its curve and resumed from the checkpoint ends where an uninterrupted
    /// run ends (the optimizer moments are stored in float32, so closely, not bitwise).
    func testStoppedRunResumesFromItsCheckpoint() throws {
        let (model, tokenizer) = try tiny()
        let run = try PromptTokenTrainingRun(recipe: recipe(), student: model, teacher: model, tokenizer: tokenizer, modelSHA256: "x", guessHead: nil)
        let straight = try run.run(on: data())

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var points: [Int] = []
        let curve = PromptTokenTrainingRun.Curve(
            every: 2, measure: { _ in .init(perRank: [[0]], loss: 0, cuts: 0) }, stopWhen: { $0.step >= 3 })
        let stopped = try run.run(
            on: data(), checkpointing: .init(url: url, every: 100), curve: curve,
            events: { if case .curve(let point) = $0 { points.append(point.step) } })
        XCTAssertEqual(points, [0, 2, 4])
        XCTAssertTrue(stopped.stoppedEarly)
        XCTAssertEqual(stopped.steps, 4)
        XCTAssertEqual(stopped.curve.map(\.step), [0, 2, 4])
        XCTAssertEqual(stopped.curve.map(\.trainingSeconds), stopped.curve.map(\.trainingSeconds).sorted())

        var resumedAt: Int?
        let resumed = try run.run(
            on: data(), checkpointing: .init(url: url, every: 100, resume: true),
            events: { if case .resumed(let step, _) = $0 { resumedAt = step } })
        XCTAssertEqual(resumedAt, 4)
        XCTAssertEqual(resumed.steps, 4)
        XCTAssertNil(resumed.before)
        let difference = zip(resumed.tokens.embeddings, straight.tokens.embeddings).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThan(difference, 1e-5)
    }

    /// Examples prepared for 3 prompt tokens train 4: cuts that leave too few tokens are
    /// dropped, examples without a usable cut are skipped (fewer steps).
    func testCutsFollowTheRecipesPromptTokens() throws {
        let (model, tokenizer) = try tiny()
        var recipe = recipe(epochs: 1)
        recipe.promptTokens = 4
        let run = try PromptTokenTrainingRun(recipe: recipe, student: model, teacher: model, tokenizer: tokenizer, modelSHA256: "x", guessHead: nil)
        var data = data()
        // 21 tokens: a cut at 17 leaves 3 after it, too few for 4 prompt tokens (5 needed).
        XCTAssertEqual(run.usableCuts(data.training[0]), [3, 8])
        data.training[1].cuts = [17]
        let outcome = try run.run(on: data)
        XCTAssertEqual(outcome.totalSteps, 3)
        XCTAssertEqual(outcome.tokens.count, 4)
    }

    func testRecipeErrorsNameTheField() {
        func message(_ change: (inout TrainingRecipe) -> Void) -> String {
            var recipe = TrainingRecipe()
            change(&recipe)
            do {
                try recipe.validate()
                return "valid"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message { _ in }, "valid")
        XCTAssertTrue(message { $0.virtualTokens = 0 }.contains("virtualTokens must be positive"))
        XCTAssertTrue(message { $0.template = "nope" }.contains("template \"nope\" is not a known template"))
        XCTAssertTrue(message { $0.learningRate = .nan }.contains("learningRate"))
        XCTAssertTrue(message { $0.heldOut = -1 }.contains("heldOut"))
        XCTAssertTrue(message { $0.initialisation = .random(scale: 0) }.contains("initialisation"))
        XCTAssertTrue(message { $0.initialisation = .text("") }.contains("text is empty"))
    }
}
