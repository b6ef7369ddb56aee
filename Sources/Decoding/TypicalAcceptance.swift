import Foundation
import Models

/// Typical acceptance (Medusa; the paper's `evaluate_posterior` with `sampling='greedy'` at
/// temperature > 0): a guess is kept when its probability under the model at its parent,
/// softmax(logits / temperature), exceeds min(`posteriorThreshold`, `posteriorAlpha` * exp(-H)),
/// H the entropy of that distribution. Of the longest accepted paths the most likely one wins.
/// The next token is drawn from the model's distribution at the last accepted node with every
/// token below the same threshold removed (the paper's `get_typical_one_token`).
///
/// Faster than lossless sampling on creative text, but not lossless: the output distribution
/// differs from the model's. At temperature 0 it is greedy acceptance.
public struct TypicalAcceptance: AcceptancePolicy {
    /// Softmax temperature.
    public let temperature: Float
    /// The hard threshold epsilon (the paper's and Medusa's default 0.09).
    public let posteriorThreshold: Double
    /// The entropy-scaled threshold factor delta (default 0.3).
    public let posteriorAlpha: Double
    private var random: RandomSource

    /// Typical acceptance with the given settings; `seed` seeds the draws of next tokens.
    public init(temperature: Float, posteriorThreshold: Double = 0.09, posteriorAlpha: Double = 0.3, seed: UInt64 = 0) {
        self.temperature = temperature
        self.posteriorThreshold = posteriorThreshold
        self.posteriorAlpha = posteriorAlpha
        random = RandomSource(seed: seed)
    }

    public var name: String { "typical" }

    public mutating func firstToken(_ logits: ArraySlice<Float>) -> Int32 {
        if temperature <= 0 { return Int32(logits.argmax()) }
        return typicalDraw(Posterior(logits, self))
    }

    /// At temperature 0 it is greedy acceptance.
    public var decidesByBestToken: Bool { temperature <= 0 }

    public mutating func accept(_ tree: CandidateTree, logits: (Int) -> ArraySlice<Float>) -> Acceptance {
        if temperature <= 0 { return GreedyAcceptance.walk(tree, logits: logits) }
        var posteriors: [Int: Posterior] = [:]
        func posterior(_ node: Int) -> Posterior {
            if let known = posteriors[node] { return known }
            let made = Posterior(logits(node), self)
            posteriors[node] = made
            return made
        }
        // Depth-first over accepted children; keep the longest path, then the most likely.
        var best: (path: [Int], logLikelihood: Double) = ([], 0)
        func visit(_ node: Int, path: [Int], logLikelihood: Double) {
            if path.count > best.path.count || (path.count == best.path.count && logLikelihood > best.logLikelihood) {
                best = (path, logLikelihood)
            }
            let here = posterior(node)
            for child in tree.children[node] {
                let p = here.probabilities[Int(tree.tokens[child])]
                if p > here.threshold { visit(child, path: path + [child], logLikelihood: logLikelihood + log(p)) }
            }
        }
        visit(0, path: [], logLikelihood: 0)
        let last = best.path.last ?? 0
        return Acceptance(path: best.path, next: typicalDraw(posterior(last)))
    }

    /// A draw from `posterior` with the tokens below its threshold removed.
    private mutating func typicalDraw(_ posterior: Posterior) -> Int32 {
        var total = 0.0
        for p in posterior.probabilities where p >= posterior.threshold { total += p }
        let target = random.nextUnit() * total
        var cumulative = 0.0
        var last = 0
        for (token, p) in posterior.probabilities.enumerated() where p >= posterior.threshold {
            cumulative += p
            last = token
            if target < cumulative { return Int32(token) }
        }
        return Int32(last)
    }

    /// The tempered distribution at one node and its acceptance threshold.
    struct Posterior {
        let probabilities: [Double]
        let threshold: Double

        init(_ logits: ArraySlice<Float>, _ policy: TypicalAcceptance) {
            probabilities = TokenDistribution.softmax(logits, temperature: policy.temperature)
            var entropy = 0.0
            for p in probabilities where p > 0 { entropy -= p * log(p + 1e-5) }
            threshold = min(policy.posteriorThreshold, exp(-entropy) * policy.posteriorAlpha)
        }
    }
}
