import Decoding
import Foundation
import Models

/// Whether a way of sampling draws the first two generated tokens from the model's own sampling
/// distribution: the exact joint p(t1) p(t2 | t1) under `SamplingParameters` (one decode step
/// per likely first token), and Pearson's chi-square of observed draws against it. Plain
/// sampling and lossless rejection sampling over a tree should pass; typical acceptance, which
/// favours likely guesses, should not.
public struct TwoTokenSamplingCheck: Sendable {
    /// Probability of each (first, second) pair whose first token has at least the threshold's
    /// probability.
    public let expected: [[Int32]: Double]
    /// The probability those pairs cover (the rest is one pooled cell).
    public let coveredMass: Double

    /// The result of testing draws against `expected`.
    public struct Result: Sendable {
        /// Pearson's statistic, its degrees of freedom and its p-value (Wilson-Hilferty's normal
        /// approximation of the chi-square distribution).
        public var statistic: Double
        public var degreesOfFreedom: Int
        public var pValue: Double
        /// Half the L1 distance between the observed and expected cell frequencies.
        public var totalVariation: Double
        /// Draws tested.
        public var draws: Int
    }

    /// The exact distribution for `prompt`: first tokens with probability at least
    /// `minimumFirstTokenProbability` (at most `maximumFirstTokens` of them), each followed by
    /// its second-token distribution.
    public init(
        model: Transformer, prompt: [Int32], sampling: SamplingParameters, minimumFirstTokenProbability: Double = 1e-4,
        maximumFirstTokens: Int = 400
    ) throws {
        guard !prompt.isEmpty else { throw EvaluationError("the sampling check needs a non-empty prompt") }
        let cache = model.makeCache(capacity: prompt.count + 1)
        let prefill = try model.forward(tokens: prompt, cache: cache, logitRows: [prompt.count - 1])
        let first = Sampler.distribution(prefill.last, sampling)
            .filter { $0.probability >= minimumFirstTokenProbability }.prefix(maximumFirstTokens)
        var expected: [[Int32]: Double] = [:]
        for (token, p) in first {
            let next = try model.forward(tokens: [token], cache: cache)
            for (second, q) in Sampler.distribution(next.last, sampling) where q > 0 { expected[[token, second], default: 0] += p * q }
            try cache.truncate(to: prompt.count)
        }
        self.expected = expected
        coveredMass = expected.values.reduce(0, +)
    }

    /// Pearson's test of `draws` (each the first two generated tokens) against the exact
    /// distribution; pairs expected fewer than 5 times and pairs outside it share one cell.
    public func test(_ draws: [[Int32]]) -> Result {
        let n = Double(draws.count)
        var observed: [[Int32]: Int] = [:]
        for draw in draws { observed[Array(draw.prefix(2)), default: 0] += 1 }
        var statistic = 0.0, distance = 0.0
        var cells = 0
        var pooledExpected = max(0, 1 - coveredMass) * n
        var pooledObserved = Double(observed.filter { expected[$0.key] == nil }.values.reduce(0, +))
        for (pair, p) in expected {
            let e = p * n, o = Double(observed[pair] ?? 0)
            if e < 5 {
                pooledExpected += e
                pooledObserved += o
            } else {
                statistic += (o - e) * (o - e) / e
                distance += abs(o - e)
                cells += 1
            }
        }
        if pooledExpected > 0 || pooledObserved > 0 {
            // A draw the model gives no probability makes the statistic huge, as it should.
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / max(pooledExpected, 1e-9)
            distance += abs(pooledObserved - pooledExpected)
            cells += 1
        }
        let k = Double(max(cells - 1, 1))
        let z = (pow(statistic / k, 1.0 / 3) - (1 - 2 / (9 * k))) / (2 / (9 * k)).squareRoot()
        return Result(
            statistic: statistic, degreesOfFreedom: Int(k), pValue: 0.5 * erfc(z / 2.0.squareRoot()),
            totalVariation: n > 0 ? distance / (2 * n) : 0, draws: draws.count)
    }
}
