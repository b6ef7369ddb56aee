import Foundation
import Models

/// How the next token is chosen from logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax); otherwise logits are divided by this before the softmax.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0: all).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (1: all).
    public var topP: Float
    /// Seed of the random source.
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters()

    /// Whether this samples at all.
    public var isGreedy: Bool { temperature <= 0 }
}

/// Draws tokens from logits according to `SamplingParameters`.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: RandomSource

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = RandomSource(seed: parameters.seed)
    }

    /// The next token: the argmax when greedy, else a draw from `distribution(logits)`. Without
    /// top-k and top-p the draw walks the softmax in token order (no sort of the vocabulary).
    public mutating func sample(_ logits: ArraySlice<Float>) -> Int32 {
        if parameters.isGreedy { return Int32(logits.argmax()) }
        return TokenDistribution(logits, parameters).sample(random.nextUnit())
    }

    /// The sampling distribution after temperature, top-k and top-p, as (token, probability)
    /// pairs sorted by decreasing probability; probabilities sum to 1.
    public static func distribution(_ logits: ArraySlice<Float>, _ p: SamplingParameters) -> [(token: Int32, probability: Double)] {
        let temperature = Double(max(p.temperature, 1e-6))
        var pairs: [(token: Int32, logit: Float)]
        if p.topK > 0 && p.topK < logits.count {
            pairs = logits.topK(p.topK).map { (Int32($0.index), $0.value) }
        } else {
            pairs = logits.enumerated().map { (Int32($0.offset), $0.element) }
            pairs.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.token < $1.token) }
        }
        let maximum = Double(pairs.first?.logit ?? 0)
        var weights = pairs.map { exp((Double($0.logit) - maximum) / temperature) }
        var total = weights.reduce(0, +)
        if p.topP < 1 {
            var cumulative = 0.0
            var keep = weights.count
            for (i, w) in weights.enumerated() {
                cumulative += w / total
                if cumulative >= Double(p.topP) {
                    keep = i + 1
                    break
                }
            }
            weights.removeLast(weights.count - keep)
            pairs.removeLast(pairs.count - keep)
            total = weights.reduce(0, +)
        }
        return zip(pairs, weights).map { ($0.token, $1 / total) }
    }
}
