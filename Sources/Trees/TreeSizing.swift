import Foundation

/// Hardware-aware tree sizing: for each candidate tree, the tokens a step is expected to emit
/// (from the guess accuracies) against what a step costs on this machine (from the cost
/// profile), and the tree that maximises their ratio.
///
/// A step at depth s runs `rows_s` batch rows and costs latency(rows_s); the depth chain says
/// what fraction of steps run at each depth. Predicted speedup over autoregressive decoding =
/// expected tokens per step / (sum_s share_s * latency(rows_s) / latency(1)). It leaves out the
/// per-step work outside the forward pass (acceptance, cache compaction), which the measured
/// speedups of `Example-TreeAblation` include.
public struct TreeSizing: Sendable {
    /// One sized tree and its prediction.
    public struct Candidate: Sendable {
        /// "dynamic", "naive" or "static".
        public var kind: String
        /// Input length limit (dynamic, naive) or node count (static).
        public var size: Int
        /// The tree.
        public var tree: DynamicTree
        /// Expected batch rows per step (averaged over the depth chain).
        public var meanRows: Double
        /// Largest batch of any depth.
        public var maxRows: Int
        /// Expected tokens per step.
        public var tokensPerStep: Double
        /// Expected step latency relative to one autoregressive step.
        public var relativeCost: Double
        /// tokensPerStep / relativeCost.
        public var predictedSpeedup: Double { tokensPerStep / relativeCost }
    }

    /// Builds the trees.
    public let builder: TreeBuilder
    /// The machine's cost curve.
    public let profile: CostProfile
    /// Virtual tokens per prompt token (rows per prompt slot).
    public let virtualTokens: Int
    /// Whether prompt-token rows take their logits from a guess head (priced by the profile's
    /// guess curves when it has them for that head).
    public let guessHeadSize: Int?

    /// Sizing for `builder`'s accuracies on `profile`'s machine with V = `virtualTokens`; with
    /// `guessHeadSize`, prompt rows are priced as guess-head rows.
    public init(builder: TreeBuilder, profile: CostProfile, virtualTokens: Int = 1, guessHeadSize: Int? = nil) {
        self.builder = builder
        self.profile = profile
        self.virtualTokens = virtualTokens
        self.guessHeadSize = guessHeadSize
    }

    /// The relative cost of a step of `tokens` token rows and `prompt` prompt rows.
    func relativeCost(tokens: Int, prompt: Int) -> Double {
        if let size = guessHeadSize, profile.pricesGuessHead(size: size) {
            return profile.relativeCost(exactRows: tokens, guessRows: prompt)
        }
        return profile.relativeCost(rows: tokens + prompt)
    }

    /// The dynamic tree for input length limit `limit`, with its prediction.
    public func dynamic(inputLimit limit: Int) throws -> Candidate {
        try candidate(try builder.dynamicTree(inputLimit: limit))
    }

    /// Fig. 8a's naive tree for input length limit `limit` (`TreeBuilder.naiveTree`), with its
    /// prediction.
    public func naive(inputLimit limit: Int) throws -> Candidate {
        var naive = try candidate(try builder.naiveTree(inputLimit: limit))
        naive.kind = "naive"
        return naive
    }

    /// The prediction for a built dynamic tree.
    func candidate(_ built: TreeBuilder.Built) throws -> Candidate {
        let limit = built.inputLimit
        let split = built.rowSplit(virtualTokens: virtualTokens)
        let rows = split.map { $0.tokens + $0.prompt }
        var meanRows = 0.0
        var cost = 0.0
        for (share, part) in zip(built.depthShares, split) {
            meanRows += share * Double(part.tokens + part.prompt)
            cost += share * relativeCost(tokens: part.tokens, prompt: part.prompt)
        }
        return Candidate(
            kind: "dynamic", size: limit, tree: built.tree, meanRows: meanRows, maxRows: rows.max() ?? 1,
            tokensPerStep: built.expectedTokensPerStep, relativeCost: cost)
    }

    /// The static tree of `nodes` nodes (each carrying all N prompt tokens), with its prediction.
    public func staticTree(nodes: Int) throws -> Candidate {
        let n = builder.promptTokens
        let tokenRows = 1 + nodes, promptRows = n * virtualTokens * (1 + nodes)
        let rows = tokenRows + promptRows
        return Candidate(
            kind: "static", size: nodes, tree: try builder.staticTree(nodes: nodes), meanRows: Double(rows), maxRows: rows,
            tokensPerStep: builder.expectedTokensPerStep(staticNodes: nodes),
            relativeCost: relativeCost(tokens: tokenRows, prompt: promptRows))
    }

    /// Dynamic trees for every input length limit from 2 up to the largest whose steps fit in
    /// the profile's measured rows (or until the trees stop growing: with few prompt tokens and
    /// ranks there are only so many nodes), in order of limit.
    public func dynamicCurve() throws -> [Candidate] {
        var result: [Candidate] = []
        var limit = 2
        while true {
            let built = try builder.dynamicTree(inputLimit: limit)
            let candidate = try self.candidate(built)
            if candidate.maxRows > profile.maxRows { break }
            result.append(candidate)
            if (built.inputLengths.max() ?? 0) < limit { break }
            limit += 1
        }
        return result
    }

    /// The same sizing with only the first `count` prompt tokens (fewer rows per step: the root's
    /// chain and every node's chain are shorter, the guesses reach fewer distances).
    public func usingPromptTokens(_ count: Int) -> TreeSizing {
        TreeSizing(
            builder: TreeBuilder(accuracies: builder.accuracies.truncated(toDistances: count), variant: builder.variant),
            profile: profile, virtualTokens: virtualTokens, guessHeadSize: guessHeadSize)
    }

    /// The dynamic tree with the highest predicted speedup (the first on ties) over every input
    /// length limit and, when `choosePromptTokens`, every number of prompt tokens 1...N used.
    public func best(choosePromptTokens: Bool = true) throws -> Candidate {
        let counts = choosePromptTokens ? Array(1...builder.promptTokens) : [builder.promptTokens]
        let curve = try counts.flatMap { try usingPromptTokens($0).dynamicCurve() }
        guard var best = curve.first else {
            throw TreeBuilderError(.inputLimitTooSmall(profile.maxRows))
        }
        for candidate in curve.dropFirst() where candidate.predictedSpeedup > best.predictedSpeedup {
            best = candidate
        }
        return best
    }
}
