import Decoding
import GGUF
import Foundation
import Models
import TestSupport
import Tokenizer
import XCTest

@testable import Training

/// Examples, checkpoints and resume on a tiny model.
final class TrainerTests: XCTestCase {
    func tiny() throws -> (Transformer, SentencePieceTokenizer) { try tinyTrainingModel() }

    func testExamplesCutInsideTheReplyWithRoomForEveryPromptToken() throws {
        let (model, tokenizer) = try tiny()
        let conversation = Conversation(id: "x", turns: [(.user, "abc abc"), (.assistant, "abcabcabc abc abc abc")])
        var random = RandomSource(seed: 1)
        for reply in [TrainingExamples.Reply.selfDistilled(tokens: 12), .dataset] {
            let examples = TrainingExamples(template: .plain, reply: reply, maxLength: 64, cutsPerSequence: 5, promptTokens: 3)
            let example = try XCTUnwrap(try examples.example(conversation, model: model, tokenizer: tokenizer, random: &random))
            XCTAssertEqual(Array(example.tokens.prefix(example.replyStart)), tokenizer.encode(PromptTemplate.plain.prompt("abc abc")))
            XCTAssertFalse(example.cuts.isEmpty)
            XCTAssertEqual(example.cuts, example.cuts.sorted())
            for cut in example.cuts {
                XCTAssertGreaterThanOrEqual(cut, example.replyStart)
                XCTAssertLessThanOrEqual(cut + 3, example.tokens.count - 1)
            }
            if case .selfDistilled = reply {
                let greedy = try AutoregressiveGenerator(model: model).generate(
                    prompt: Array(example.tokens.prefix(example.replyStart)), options: GenerationOptions(maxTokens: 12))
                XCTAssertEqual(Array(example.tokens.suffix(from: example.replyStart)), greedy.tokens)
            }
        }
        // No user turn, or a context longer than the limit: no example.
        let examples = TrainingExamples(maxLength: 8, promptTokens: 3)
        XCTAssertNil(try examples.example(Conversation(id: "y", turns: [(.assistant, "hi")]), model: model, tokenizer: tokenizer, random: &random))
        XCTAssertNil(try examples.example(conversation, model: model, tokenizer: tokenizer, random: &random))
    }

    /// Preparing examples saves them as it goes, and a preparation resumed from the saved ones
    /// adds only conversations it does not hold, up to the number wanted.
    func testPreparationCheckpointsAndResumes() throws {
        let (model, tokenizer) = try tiny()
        let pool = (0..<9).map { Conversation(id: "c\($0)", turns: [(.user, "abc \($0)"), (.assistant, "abc")]) }
        let examples = TrainingExamples(reply: .selfDistilled(tokens: 10), cutsPerSequence: 2, promptTokens: 2)
        var random = RandomSource(seed: 1)
        var saved: [[TrainingExamples.Example]] = []
        let first = try examples.prepare(
            pool: pool, wanted: 5, existing: [], model: model, tokenizer: tokenizer, random: &random, checkpointEvery: 2,
            checkpoint: { saved.append($0) })
        XCTAssertEqual(first.map(\.id), ["c0", "c1", "c2", "c3", "c4"])
        XCTAssertEqual(saved.map(\.count), [2, 4, 5])
        // Resume from the second checkpoint with the pool in another order.
        let resumed = try examples.prepare(
            pool: pool.reversed(), wanted: 7, existing: saved[1], model: model, tokenizer: tokenizer, random: &random)
        XCTAssertEqual(resumed.map(\.id), ["c0", "c1", "c2", "c3", "c8", "c7", "c6"])
        XCTAssertEqual(Array(resumed.prefix(4)), saved[1])
        // Enough already: nothing is prepared or saved.
        saved = []
        let enough = try examples.prepare(
            pool: pool, wanted: 3, existing: first, model: model, tokenizer: tokenizer, random: &random, checkpoint: { saved.append($0) })
        XCTAssertEqual(enough, Array(first.prefix(3)))
        XCTAssertTrue(saved.isEmpty)
    }

    /// Self-distilled replies generated several conversations at a time give exactly the examples
    /// of one at a time (the same replies, cuts drawn in pool order), checkpoints included, also
    /// when some conversations give no example and the last batch is cut short.
    func testBatchedPreparationGivesTheSameExamples() throws {
        let (model, tokenizer) = try tiny()
        var pool = (0..<11).map { Conversation(id: "c\($0)", turns: [(.user, String(repeating: "ab ", count: 1 + $0 % 4)), (.assistant, "abc")]) }
        pool.insert(Conversation(id: "none", turns: [(.assistant, "no user turn")]), at: 3)
        let examples = TrainingExamples(reply: .selfDistilled(tokens: 9), cutsPerSequence: 3, promptTokens: 2)
        func prepare(batch: Int) throws -> ([TrainingExamples.Example], [Int]) {
            var random = RandomSource(seed: 4)
            var saved: [Int] = []
            let made = try examples.prepare(
                pool: pool, wanted: 10, existing: [], model: model, tokenizer: tokenizer, random: &random, batchSize: batch,
                checkpointEvery: 3, checkpoint: { saved.append($0.count) })
            return (made, saved)
        }
        let (single, singleSaved) = try prepare(batch: 1)
        XCTAssertEqual(single.count, 10)
        XCTAssertFalse(single.contains { $0.id == "none" })
        for batch in [2, 4, 16] {
            let (batched, saved) = try prepare(batch: batch)
            XCTAssertEqual(batched, single, "batch \(batch)")
            XCTAssertEqual(saved, singleSaved, "batch \(batch)")
        }
    }

    func testCheckpointRoundTripAndResume() throws {
        let (model, _) = try tiny()
        let tokens: [Int32] = [2] + (0..<24).map { Int32(4 + $0 % 40) }
        let sequence = try TrainingSequence(model: model, tokens: tokens, cuts: [4, 9, 15], promptTokens: 2, virtualTokens: 1)
        let initial = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 3, scale: 1)
        let objective = PromptTokenObjective(model: model)

        // Four steps straight, against two steps, a checkpoint, a resumed trainer and two more.
        let straight = PromptTokenTrainer(objective: objective, tokens: initial, learningRate: 1e-2, totalSteps: 4)
        for _ in 0..<4 { try straight.train(on: sequence) }
        let first = PromptTokenTrainer(objective: objective, tokens: initial, learningRate: 1e-2, totalSteps: 4)
        for _ in 0..<2 { try first.train(on: sequence) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try first.saveCheckpoint(to: url, summary: "test")
        let loaded = try PromptTokens.load(from: url)
        XCTAssertEqual(loaded.embeddings, first.tokens.embeddings)
        XCTAssertEqual(loaded.trainingSummary, "test")
        let state = try XCTUnwrap(try PromptTokenTrainer.optimizerState(from: url))
        XCTAssertEqual(state.step, 2)
        let resumed = PromptTokenTrainer(objective: objective, tokens: loaded, learningRate: 1e-2, totalSteps: 4, state: state)
        for _ in 0..<2 { try resumed.train(on: sequence) }
        XCTAssertEqual(resumed.step, 4)
        // The moments were stored in float32: the resumed run follows the straight one closely.
        let difference = zip(resumed.tokens.embeddings, straight.tokens.embeddings).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(difference, 1e-5)
        // Plain prompt-token files have no optimizer state.
        try initial.save(to: url)
        XCTAssertNil(try PromptTokenTrainer.optimizerState(from: url))
    }

    func testExamplesFileRoundTripAndModelCheck() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("examples-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let examples = [TrainingExamples.Example(id: "a", tokens: [2, 5, 6, 7, 8, 9], replyStart: 2, cuts: [2, 3])]
        try TrainingExamples.File(modelSHA256: "abc", description: "test", examples: examples).save(to: url)
        XCTAssertEqual(try TrainingExamples.File.load(from: url, modelSHA256: "abc").examples, examples)
        XCTAssertThrowsError(try TrainingExamples.File.load(from: url, modelSHA256: "def")) {
            XCTAssertTrue("\($0)".contains(url.path) && "\($0)".contains("abc"), "\($0)")
        }
        try Data("[1]".utf8).write(to: url)
        XCTAssertThrowsError(try TrainingExamples.File.load(from: url, modelSHA256: "abc")) { XCTAssertTrue("\($0)".contains(url.path)) }
    }
}
