import Decoding
import Foundation
import Models
import TestSupport
import XCTest

final class GeneratorTests: XCTestCase {
    func testGreedyGenerationIsTheArgmaxChainAndStops() throws {
        let model = try ModelLoader.load(path: try TinyModel(.gemma3).write())
        let generator = AutoregressiveGenerator(model: model)
        let prompt: [Int32] = [2, 10, 11, 12]
        var streamed: [Int32] = []
        let result = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12)) {
            streamed.append($0)
            return true
        }
        XCTAssertEqual(result.tokens.count, 12)
        XCTAssertEqual(streamed, result.tokens)
        XCTAssertEqual(result.stopReason, .maxTokens)
        XCTAssertEqual(result.decodeSteps, 11)
        // Recompute the chain by hand with full prefills.
        var context = prompt
        for token in result.tokens {
            let logits = try model.forward(tokens: context, cache: model.makeCache(capacity: 64), logitRows: [context.count - 1])
            XCTAssertEqual(Int32(logits.last.argmax()), token)
            context.append(token)
        }
        // Stop at the first stop token (included), and on request of the callback.
        let stop = result.tokens[4]
        let stopped = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12, stopTokens: [stop]))
        XCTAssertEqual(stopped.tokens, Array(result.tokens.prefix(through: result.tokens.firstIndex(of: stop)!)))
        XCTAssertEqual(stopped.stopReason, .stopToken)
        let cancelled = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12)) { _ in false }
        XCTAssertEqual(cancelled.tokens.count, 1)
        XCTAssertEqual(cancelled.stopReason, .cancelled)
        XCTAssertEqual(result.topLogits.count, 5)
    }

    func testPromptLongerThanTheContextIsAClearError() throws {
        var spec = TinyModel(.llama)
        spec.context = 32
        let model = try ModelLoader.load(path: try spec.write())
        let generator = AutoregressiveGenerator(model: model)
        XCTAssertThrowsError(try generator.generate(prompt: [Int32](repeating: 5, count: 40), options: GenerationOptions())) {
            XCTAssertTrue("\($0)".contains("40 tokens"), "\($0)")
            XCTAssertTrue("\($0)".contains("context of 32"), "\($0)")
        }
        let full = try generator.generate(prompt: [Int32](repeating: 5, count: 30), options: GenerationOptions(maxTokens: 10))
        XCTAssertEqual(full.stopReason, .contextFull)
        XCTAssertEqual(full.tokens.count, 3, "32 slots: the prompt, two fed tokens; the third token is emitted, never fed")
    }
}
