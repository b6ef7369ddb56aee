import Models

/// Lossless acceptance for sampling at temperature > 0 over a tree of deterministic (top-k)
/// guesses: recursive rejection sampling over siblings, as in SpecInfer and the lossless variants
/// of Medusa and EAGLE.
///
/// At a node with target distribution p (the model's logits under `sampling`: temperature, top-k,
/// top-p), the children c1, c2, ... (rank order) are tried in turn against the residual r, which
/// starts as p: child c is accepted with probability r(c) / sum(r); when rejected, c is struck out
/// of r. An accepted child becomes the node and the walk repeats below it; when every child is
/// rejected (or there is none), the next token is drawn from the residual. Each draft is a point
/// mass, so accepting c with probability r(c) and otherwise drawing from r without c is exactly a
/// draw from r: every emitted token is distributed as autoregressive sampling would draw it.
/// At temperature 0 this is greedy acceptance.
public struct RejectionSampling: AcceptancePolicy {
    /// The target distribution's settings (also the seed of the random stream).
    public let sampling: SamplingParameters
    private var random: RandomSource

    /// Rejection sampling against the distribution `sampling` defines.
    public init(sampling: SamplingParameters) {
        self.sampling = sampling
        random = RandomSource(seed: sampling.seed)
    }

    public var name: String { "rejection" }

    public mutating func firstToken(_ logits: ArraySlice<Float>) -> Int32 {
        if sampling.isGreedy { return Int32(logits.argmax()) }
        return TokenDistribution(logits, sampling).sample(random.nextUnit())
    }

    /// Greedy sampling makes it greedy acceptance.
    public var decidesByBestToken: Bool { sampling.isGreedy }

    public mutating func accept(_ tree: CandidateTree, logits: (Int) -> ArraySlice<Float>) -> Acceptance {
        if sampling.isGreedy { return GreedyAcceptance.walk(tree, logits: logits) }
        var node = 0
        var path: [Int] = []
        descend: while true {
            var residual = TokenDistribution(logits(node), sampling)
            for child in tree.children[node] {
                let token = tree.tokens[child]
                let p = residual.probability(of: token)
                if p > 0 && random.nextUnit() < p {
                    path.append(child)
                    node = child
                    continue descend
                }
                residual.remove(token)
            }
            return Acceptance(path: path, next: residual.sample(random.nextUnit()))
        }
    }
}
