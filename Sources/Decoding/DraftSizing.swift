/// Decides, step by step, whether a draft is verified together with the prompt tokens' tree or
/// alone (root and draft rows only), by predicted tokens per unit of time.
///
/// The model (written down in ARCHITECTURE.md, "Drafters"): let a(k) be the probability that the
/// tree's guesses are accepted to distance k and d(k) that the draft's first k tokens are, both
/// measured online in this generation (Beta(1, 1) priors: 0.5 until seen). Taking the two as
/// independent, a merged step emits E = 1 + sum over k of [1 - (1 - a(k)) (1 - d(k))] tokens,
/// the draft alone E = 1 + sum of d(k) (a(k) = 0 beyond the tree's depth, d(k) = 0 beyond the
/// draft). Each costs `cost(exact rows, guess rows)` (the machine's cost profile, relative to one
/// row). The option with the larger E / cost runs. Ignored: verifying the draft alone leaves the
/// next step without the prompt tokens' guesses (it then runs the depth-0 tree if merged wins).
public struct DraftSizing: Sendable {
    /// Relative latency of a forward with the given full-vocabulary rows and guess-head rows.
    public let cost: @Sendable (_ exactRows: Int, _ guessRows: Int) -> Double

    /// Sizing with the latency curve of `profile`; prompt rows are priced on the guess head's
    /// curve when `guessHeadSize` is given and the profile measured a head of that size.
    public init(profile: CostProfile, guessHeadSize: Int? = nil) {
        let headed = guessHeadSize.map { profile.pricesGuessHead(size: $0) } ?? false
        cost = { exact, guess in
            headed ? profile.relativeCost(exactRows: exact, guessRows: guess) : profile.relativeCost(rows: exact + guess)
        }
    }

    /// Sizing with an explicit cost function.
    public init(cost: @escaping @Sendable (_ exactRows: Int, _ guessRows: Int) -> Double) {
        self.cost = cost
    }

    /// Acceptance counts by distance (index k - 1): hits and trials, from the Beta(1, 1) prior.
    public struct Statistics: Sendable, Equatable {
        /// The tree's guesses accepted to distance k, and steps where the tree reached k.
        public var treeHits: [Double] = [], treeTrials: [Double] = []
        /// The draft's first k tokens accepted, and steps whose draft had k tokens verified.
        public var draftHits: [Double] = [], draftTrials: [Double] = []

        /// Empty statistics (every probability 0.5).
        public init() {}

        /// P(tree accepted to distance k), k from 1.
        public func tree(_ k: Int) -> Double { Self.rate(treeHits, treeTrials, k) }
        /// P(draft accepted to its k-th token), k from 1.
        public func draft(_ k: Int) -> Double { Self.rate(draftHits, draftTrials, k) }

        /// Adds one observation: `reached` distances were verified, `accepted` of them accepted.
        mutating func record(tree accepted: Int, of reached: Int) {
            Self.add(&treeHits, &treeTrials, accepted: accepted, reached: reached)
        }

        mutating func record(draft accepted: Int, of reached: Int) {
            Self.add(&draftHits, &draftTrials, accepted: accepted, reached: reached)
        }

        private static func rate(_ hits: [Double], _ trials: [Double], _ k: Int) -> Double {
            let index = k - 1
            let h = index < hits.count ? hits[index] : 0
            let t = index < trials.count ? trials[index] : 0
            return (h + 1) / (t + 2)
        }

        private static func add(_ hits: inout [Double], _ trials: inout [Double], accepted: Int, reached: Int) {
            while trials.count < reached {
                trials.append(0)
                hits.append(0)
            }
            for k in 0..<reached {
                trials[k] += 1
                if k < accepted { hits[k] += 1 }
            }
        }
    }

    /// Predicted tokens per step of verifying the tree (to `depth`) and a draft of `draftLength`
    /// new tokens together, and of the draft alone.
    public func expectedTokens(depth: Int, draftLength: Int, statistics: Statistics) -> (merged: Double, alone: Double) {
        var merged = 1.0
        var alone = 1.0
        for k in 1...max(1, max(depth, draftLength)) {
            let a = k <= depth ? statistics.tree(k) : 0
            let d = k <= draftLength ? statistics.draft(k) : 0
            merged += 1 - (1 - a) * (1 - d)
            alone += d
        }
        return (merged, alone)
    }

    /// Whether the tree's rows join the draft (else the draft is verified alone), by predicted
    /// tokens per unit of time. The tree has `exactRows` rows on the full output layer and
    /// `guessRows` prompt rows and reaches `depth` distances; its first `shared` tokens of the
    /// draft are already tree nodes (they cost no row when merged); the first draft has
    /// `draftLength` tokens, and verified alone costs 1 + `draftLength` rows. Ties go to the draft
    /// alone (fewer rows). The draft is always verified whole: cutting it to the length of best
    /// predicted rate measured slower (ARCHITECTURE.md, "Drafters"). Rows of the prompt chain the
    /// draft carries (`chainExactRows`, `chainGuessRows`) join both options.
    public func keepsTree(
        exactRows: Int, guessRows: Int, depth: Int, shared: Int, draftLength: Int, statistics: Statistics,
        chainExactRows: Int = 0, chainGuessRows: Int = 0
    ) -> Bool {
        let tokens = expectedTokens(depth: depth, draftLength: draftLength, statistics: statistics)
        let merged = tokens.merged / cost(exactRows + max(0, draftLength - shared) + chainExactRows, guessRows + chainGuessRows)
        let alone = tokens.alone / cost(1 + draftLength + chainExactRows, chainGuessRows)
        return merged > alone
    }
}
