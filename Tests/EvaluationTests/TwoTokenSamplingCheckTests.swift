import Decoding
import Evaluation
import Foundation
import Models
import TestSupport
import XCTest

/// The sampling check on a tiny model: the exact joint distribution sums to one, plain sampling
/// and rejection sampling over a tree pass, and always taking the most likely tokens fails.
final class TwoTokenSamplingCheckTests: XCTestCase {
    func testPlainAndRejectionSamplingPassAndGreedyDrawsFail() throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 20
        spec.context = 64
        let model = try ModelLoader.load(path: try spec.write(), threads: 1)
        let prompt: [Int32] = [2, 7, 5, 11]
        let sampling = SamplingParameters(temperature: 1.5, seed: 0)
        let check = try TwoTokenSamplingCheck(model: model, prompt: prompt, sampling: sampling, minimumFirstTokenProbability: 0)
        XCTAssertEqual(check.coveredMass, 1, accuracy: 1e-9)
        XCTAssertEqual(check.expected.count, 20 * 20)

        let draws = 3000
        func drawn(_ generate: (GenerationOptions) throws -> [Int32]) throws -> [[Int32]] {
            try (0..<draws).map { try generate(GenerationOptions(maxTokens: 2, sampling: SamplingParameters(temperature: 1.5, seed: UInt64($0)))) }
        }
        let plain = check.test(try drawn { try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: $0).tokens })
        XCTAssertGreaterThanOrEqual(plain.pValue, 0.001, "\(plain)")
        XCTAssertEqual(plain.draws, draws)
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 3, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try .chain(promptTokens: 2))
        let rejection = check.test(try drawn {
            try decoder.generate(prompt: prompt, options: $0, policy: RejectionSampling(sampling: $0.sampling)).tokens
        })
        XCTAssertGreaterThanOrEqual(rejection.pValue, 0.001, "\(rejection)")
        // Always the most likely pair: far from the model's distribution.
        let greedy = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: GenerationOptions(maxTokens: 2)).tokens
        let biased = check.test(Array(repeating: greedy, count: draws))
        XCTAssertLessThan(biased.pValue, 1e-6)
        XCTAssertGreaterThan(biased.totalVariation, 4 * max(plain.totalVariation, rejection.totalVariation), "\(biased) \(plain)")
    }
}
