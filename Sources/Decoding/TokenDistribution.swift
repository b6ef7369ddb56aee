import Foundation
import Models

/// A categorical distribution over tokens that can have tokens struck out (the residual of
/// rejection sampling) and be sampled from. Weights are unnormalised, in Double.
///
/// Built from logits with `SamplingParameters`: with neither top-k nor top-p it is dense over the
/// whole vocabulary (no sort); otherwise it holds only the tokens `Sampler.distribution` keeps.
struct TokenDistribution {
    /// The tokens of a sparse distribution; nil when dense (weight i belongs to token i).
    private var tokens: [Int32]?
    /// Token -> index into `weights`, for a sparse distribution.
    private var index: [Int32: Int] = [:]
    private var weights: [Double]
    /// Sum of `weights`.
    private(set) var total: Double

    /// The sampling distribution of `logits` under `parameters` (temperature > 0).
    init(_ logits: ArraySlice<Float>, _ parameters: SamplingParameters) {
        if parameters.topK > 0 || parameters.topP < 1 {
            let pairs = Sampler.distribution(logits, parameters)
            tokens = pairs.map(\.token)
            weights = pairs.map(\.probability)
            for (i, token) in pairs.enumerated() { index[token.token] = i }
        } else {
            tokens = nil
            weights = TokenDistribution.softmax(logits, temperature: parameters.temperature)
        }
        total = weights.reduce(0, +)
    }

    /// softmax(logits / temperature) in Double.
    static func softmax(_ logits: ArraySlice<Float>, temperature: Float) -> [Double] {
        let t = Double(max(temperature, 1e-6))
        let maximum = Double(logits.max() ?? 0)
        var values = logits.map { exp((Double($0) - maximum) / t) }
        let sum = values.reduce(0, +)
        for i in values.indices { values[i] /= sum }
        return values
    }

    /// Normalised probability of `token` (0 when absent or struck out).
    func probability(of token: Int32) -> Double {
        guard total > 0, let i = slot(of: token) else { return 0 }
        return weights[i] / total
    }

    /// Strikes `token` out: its weight becomes 0 and the rest is renormalised implicitly.
    mutating func remove(_ token: Int32) {
        guard let i = slot(of: token) else { return }
        total -= weights[i]
        weights[i] = 0
    }

    /// The token at cumulative mass `u * total` (u in [0, 1)); the last token with weight when
    /// rounding runs past the end.
    func sample(_ u: Double) -> Int32 {
        let target = u * total
        var cumulative = 0.0
        var last = 0
        for (i, w) in weights.enumerated() where w > 0 {
            cumulative += w
            last = i
            if target < cumulative { return token(at: i) }
        }
        return token(at: last)
    }

    private func slot(of token: Int32) -> Int? {
        if tokens == nil { return token >= 0 && Int(token) < weights.count ? Int(token) : nil }
        return index[token]
    }

    private func token(at i: Int) -> Int32 { tokens?[i] ?? Int32(i) }
}
