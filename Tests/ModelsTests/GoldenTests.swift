import Foundation
import Models
import XCTest

/// The real default model against llama.cpp and the float64 oracle (Fixtures/PROVENANCE.md).
///
/// Tolerances (measured 2026-11-26): our engine keeps activations and the KV cache in float32 and
/// sits within 1.6e-5 to 2.8e-5 (depending on the kernel's summation order) of the float64 oracle
/// over the top-5 logits of all 5 x 64 teacher-forced steps; the test allows 1e-3, so that a
/// change of summation order passes but a real error (a wrong norm or RoPE base: 1e-2 and up)
/// does not. llama.cpp quantizes activations to 8 bits and keeps the KV cache in f16: along its
/// own path its logits differ from ours by a mean of 0.20 and at most 1.45 (on the code prompt),
/// so the test bounds the mean by 0.3 and the maximum by 1.6, and requires the greedy choices to
/// agree except where llama.cpp's own top-2 margin is under 1.0 (measured: 6 disagreements, at
/// margins up to 0.26).
final class GoldenTests: XCTestCase {
    static let oracleTolerance = 1e-3
    static let llamaMeanTolerance: Float = 0.3
    static let llamaMaxTolerance: Float = 1.6
    static let llamaTieMargin: Float = 1.0

    func logitsAlong(_ model: Transformer, prompt: [Int32], path: [Int32]) throws -> [ArraySlice<Float>] {
        try RealModel.logitsAlong(model, prompt: prompt, path: path)
    }

    func testLogitsTrackTheFloat64Oracle() throws {
        let model = try RealModel.load()
        var worst = 0.0
        for prompt in try RealModel.prompts() {
            XCTAssertEqual(prompt.oracleSteps.count, 64)
            let ours = try logitsAlong(model, prompt: prompt.promptTokens, path: prompt.oracleTokens)
            for (step, top5) in prompt.oracleSteps.enumerated() {
                for (id, value) in top5 {
                    let difference = abs(Double(ours[step][ours[step].startIndex + Int(id)]) - value)
                    worst = max(worst, difference)
                    XCTAssertLessThan(difference, Self.oracleTolerance, "\(prompt.text) step \(step) token \(id)")
                }
                XCTAssertEqual(Int32(ours[step].argmax()), top5[0].0, "\(prompt.text) step \(step): greedy choice")
            }
        }
        print("largest |ours - float64 oracle| over all top-5 logits: \(worst)")
    }

    func testGreedyContinuationEqualsTheOracle() throws {
        let model = try RealModel.load()
        for prompt in try RealModel.prompts() {
            let cache = model.makeCache(capacity: 128)
            var logits = try model.forward(tokens: prompt.promptTokens, cache: cache, logitRows: [prompt.promptTokens.count - 1])
            var generated: [Int32] = []
            for _ in 0..<64 {
                let next = Int32(logits.last.argmax())
                generated.append(next)
                logits = try model.forward(tokens: [next], cache: cache)
            }
            XCTAssertEqual(generated, prompt.oracleTokens, prompt.text)
        }
    }

    func testAgreesWithLlamaCppAlongItsPath() throws {
        let model = try RealModel.load()
        var differences: [Float] = []
        var disagreementMargins: [Float] = []
        for prompt in try RealModel.prompts() {
            let ours = try logitsAlong(model, prompt: prompt.promptTokens, path: prompt.llamaTokens)
            for (step, top5) in prompt.llamaSteps.enumerated() {
                for (id, value) in top5 { differences.append(abs(ours[step][ours[step].startIndex + Int(id)] - value)) }
                if Int32(ours[step].argmax()) != prompt.llamaTokens[step] { disagreementMargins.append(top5[0].1 - top5[1].1) }
            }
        }
        let mean = differences.reduce(0, +) / Float(differences.count)
        let worst = differences.max() ?? 0
        print("|ours - llama.cpp| over its top-5 logits along its path: mean \(mean), max \(worst); greedy disagreements at llama.cpp margins \(disagreementMargins)")
        XCTAssertEqual(differences.count, 5 * 64 * 5)
        XCTAssertLessThan(mean, Self.llamaMeanTolerance)
        XCTAssertLessThan(worst, Self.llamaMaxTolerance)
        // Where the two engines pick different tokens, llama.cpp itself was nearly tied.
        for margin in disagreementMargins { XCTAssertLessThan(margin, Self.llamaTieMargin) }
        XCTAssertLessThanOrEqual(disagreementMargins.count, 10)
    }
}
