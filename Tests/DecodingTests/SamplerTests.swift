import Decoding
import Foundation
import XCTest

final class SamplerTests: XCTestCase {
    let logits: ArraySlice<Float> = [1.0, 3.0, 2.0, 0.5, 3.0][...]

    func testGreedyIsArgmaxWithFirstIndexOnTies() {
        var sampler = Sampler(.greedy)
        XCTAssertEqual(sampler.sample(logits), 1)
    }

    func testDistributionAppliesTemperatureTopKAndTopP() {
        let all = Sampler.distribution(logits, SamplingParameters(temperature: 0.5))
        let weights = logits.map { exp(Double($0) / 0.5) }
        let total = weights.reduce(0, +)
        XCTAssertEqual(all.count, 5)
        for (token, p) in all { XCTAssertEqual(p, weights[Int(token)] / total, accuracy: 1e-12) }
        XCTAssertEqual(all.map(\.token).prefix(3), [1, 4, 2])  // ties keep the smaller id first

        let topK = Sampler.distribution(logits, SamplingParameters(temperature: 1, topK: 2))
        XCTAssertEqual(topK.map(\.token), [1, 4])
        XCTAssertEqual(topK[0].probability, 0.5, accuracy: 1e-12)

        // p(1) = p(4) ~ 0.366, p(2) ~ 0.135: top-p 0.7 keeps two tokens, 0.8 keeps three.
        XCTAssertEqual(Sampler.distribution(logits, SamplingParameters(temperature: 1, topP: 0.7)).count, 2)
        XCTAssertEqual(Sampler.distribution(logits, SamplingParameters(temperature: 1, topP: 0.8)).count, 3)
    }

    func testSamplingFollowsTheDistributionAndRepeatsWithTheSeed() {
        let parameters = SamplingParameters(temperature: 1, seed: 42)
        var sampler = Sampler(parameters)
        var counts = [Int](repeating: 0, count: 5)
        let draws = 20_000
        let sequence = (0..<draws).map { _ in sampler.sample(logits) }
        for t in sequence { counts[Int(t)] += 1 }
        let expected = Dictionary(uniqueKeysWithValues: Sampler.distribution(logits, parameters).map { ($0.token, $0.probability) })
        // Chi-square with 4 degrees of freedom; 18.5 is the 0.999 quantile.
        let chiSquare = (0..<5).map { i -> Double in
            let e = expected[Int32(i)]! * Double(draws)
            return pow(Double(counts[i]) - e, 2) / e
        }.reduce(0, +)
        XCTAssertLessThan(chiSquare, 18.5)
        var again = Sampler(parameters)
        XCTAssertEqual((0..<draws).map { _ in again.sample(logits) }, sequence)
        var other = Sampler(SamplingParameters(temperature: 1, seed: 43))
        XCTAssertNotEqual((0..<100).map { _ in other.sample(logits) }, Array(sequence.prefix(100)))
    }
}
