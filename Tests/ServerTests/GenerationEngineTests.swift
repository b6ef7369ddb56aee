import Foundation
import PPD
import Serving
import XCTest

/// The engine's limits on the real model: the queue bound, the request timeout, cancellation by
/// dropping a stream. (Each engine here shares the fixture's model while its server is idle.)
final class GenerationEngineTests: XCTestCase {
    private func request(_ prompt: String, maxTokens: Int, decoding: DecodingMode = .ppd) throws -> (ServedModel, PreparedRequest) {
        let model = try ServerFixture.start().engine.model
        let parsed = CompletionRequest(kind: .completion, prompt: .text(prompt), maxTokens: maxTokens, decoding: decoding)
        return (model, try model.prepare(parsed, limits: ServingLimits()))
    }

    func testAFullQueueAnswers429AndCountsTheRejection() throws {
        let (model, prepared) = try request("Hello", maxTokens: 4)
        let engine = GenerationEngine(model: model, limits: ServingLimits(queueCapacity: 0))
        defer { engine.shutdown() }
        XCTAssertThrowsError(try engine.submit(prepared)) { error in
            XCTAssertEqual((error as? APIError)?.status, 429)
            XCTAssertEqual((error as? APIError)?.code, "queue_full")
        }
        XCTAssertEqual(engine.statistics.rejected, 1)
        XCTAssertEqual(engine.statistics.accepted, 0)
    }

    func testARequestOverItsTimeAnswers503() async throws {
        let (model, prepared) = try request("List the numbers from 1 to 1000:", maxTokens: 2000, decoding: .plain)
        let engine = GenerationEngine(model: model, limits: ServingLimits(requestTimeout: 0.3))
        defer { engine.shutdown() }
        var texts = 0
        do {
            for try await event in try engine.submit(prepared) {
                if case .finished = event { XCTFail("a 2000-token generation finished within 0.3 s") }
                texts += 1
            }
            XCTFail("the stream ended without an error")
        } catch let error as APIError {
            XCTAssertEqual(error.status, 503)
            XCTAssertEqual(error.code, "timeout")
        }
        XCTAssertGreaterThan(texts, 0, "the request streamed nothing before its time ran out")
        XCTAssertEqual(engine.statistics.timedOut, 1)
    }

    func testDroppingTheStreamCancelsTheGeneration() async throws {
        let (model, prepared) = try request("List the numbers from 1 to 1000:", maxTokens: 2000)
        let engine = GenerationEngine(model: model, limits: ServingLimits())
        defer { engine.shutdown() }
        let started = ContinuousClock.now
        var seen = 0
        for try await _ in try engine.submit(prepared) {
            seen += 1
            if seen == 3 { break }
        }
        for _ in 0..<200 where engine.statistics.cancelled == 0 { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertEqual(engine.statistics.cancelled, 1)
        XCTAssertEqual(engine.statistics.completed, 0)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(4), "the cancelled generation ran on")
    }

    func testPromptsOverTheContextAndBudgetsOverTheLimitAreRefused() throws {
        let model = try ServerFixture.start().engine.model
        let context = model.transformer.config.contextLength
        let long = CompletionRequest(kind: .completion, prompt: .tokens(Array(repeating: 2, count: context)))
        XCTAssertThrowsError(try model.prepare(long, limits: ServingLimits())) { error in
            XCTAssertEqual((error as? APIError)?.code, "context_length_exceeded")
        }
        let greedy = CompletionRequest(kind: .completion, prompt: .text("Hi"), maxTokens: 5000)
        XCTAssertThrowsError(try model.prepare(greedy, limits: ServingLimits(maxTokens: 4096))) { error in
            XCTAssertEqual((error as? APIError)?.param, "max_tokens")
        }
        let other = CompletionRequest(kind: .completion, model: "gpt-4", prompt: .text("Hi"))
        XCTAssertThrowsError(try model.prepare(other, limits: ServingLimits())) { error in
            XCTAssertEqual((error as? APIError)?.status, 404)
        }
        let outside = CompletionRequest(kind: .completion, prompt: .tokens([Int32(model.transformer.config.vocabSize)]))
        XCTAssertThrowsError(try model.prepare(outside, limits: ServingLimits())) { error in
            XCTAssertEqual((error as? APIError)?.param, "prompt")
        }
        let fits = try model.prepare(CompletionRequest(kind: .completion, prompt: .text("Hi")), limits: ServingLimits(defaultMaxTokens: 77))
        XCTAssertEqual(fits.maxTokens, 77)
        XCTAssertEqual(fits.promptTokens, model.tokenizer.encode("Hi"))
    }
}
