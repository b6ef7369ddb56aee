import Foundation

/// Builds candidate trees from a guess-accuracy table.
///
/// Two kinds of tree:
/// - **Static** (Medusa-style): the n paths with the highest probability of being accepted,
///   the probability of a path being the product of its per-distance rank accuracies. Every node
///   carries the full chain of prompt tokens.
/// - **Dynamic** (the paper's two-stage pruning, `prompt/inference/sparse_tree_builder.py`): for
///   an input length limit L (nodes + prompt tokens, the root and its chain not counted), one tree
///   per depth d = 1...N. Stage one takes the best t_d paths of length at most d. Stage two hangs
///   N prompt tokens under every node, then removes them one at a time, always the one whose
///   removal loses least (the node's probability of being the last one accepted times the drop
///   in expected accepted length of the next step's tree), until nodes plus prompt tokens fit in
///   L. The node counts (t_1, ..., t_N) are searched for the best long-run accepted length under
///   the depth Markov chain (`DepthChain`).
///
/// `Variant.paper` reproduces the paper's builder output bit for bit (its float32 path
/// products rounded to 5 decimals, t_1 fixed at the number of ranks, t_d for d > 1 searched in
/// L/(N+1) ... L/2, its objective with a spurious "nothing accepted" step, and its failure below
/// L = 2 * ranks). `Variant.corrected`, the default, fixes those: exact path probabilities,
/// every t_d searched from 1, prompt-token counts allowed down to 0 (the next step then has no
/// guesses), and the chain in which a step that accepts nothing goes straight to depth N.
public struct TreeBuilder: Sendable {
    /// Which builder to run.
    public enum Variant: String, Sendable, CaseIterable {
        /// The paper's builder, reproduced exactly, quirks included.
        case paper
        /// The paper's method with its quirks fixed (the default).
        case corrected
    }

    /// A path of ranks and its probability of being accepted.
    public struct ScoredPath: Sendable, Equatable {
        /// Top-k ranks from the root.
        public var path: [Int]
        /// Product of the per-distance accuracies of its ranks (paper: float32, rounded to 5 decimals).
        public var probability: Double
    }

    /// A dynamic tree and what the builder predicts for it.
    public struct Built: Sendable {
        /// The trees, keyed by depth 1...N.
        public let tree: DynamicTree
        /// The input length limit it was built for.
        public let inputLimit: Int
        /// Nodes per depth key (t_1, ..., t_N).
        public let nodeCounts: [Int]
        /// Nodes plus prompt tokens per depth key (each at most `inputLimit`).
        public let inputLengths: [Int]
        /// Long-run fraction of steps at each depth 0...N, under the corrected chain.
        public let depthShares: [Double]
        /// Expected tokens per step (accepted candidates plus the bonus token), corrected chain.
        public let expectedTokensPerStep: Double
        /// The value the builder maximised (the paper's objective for `.paper`; for
        /// `.corrected`, the expected accepted candidates per step).
        public let objective: Double

        /// Batch rows of a step at each depth 0...N with `virtualTokens` rows per prompt token.
        public func rows(virtualTokens: Int) -> [Int] {
            rowSplit(virtualTokens: virtualTokens).map { $0.tokens + $0.prompt }
        }

        /// The rows of a step at each depth 0...N split into token rows (the root and the
        /// nodes: their logits decide tokens) and prompt-token rows (their logits only guess).
        public func rowSplit(virtualTokens: Int) -> [(tokens: Int, prompt: Int)] {
            let n = tree.promptTokens
            return [(1, n * virtualTokens)] + (1...n).map { d in
                let nodes = tree.trees[d]?.nodes ?? []
                return (1 + nodes.count, virtualTokens * (n + nodes.reduce(0) { $0 + $1.promptTokens }))
            }
        }
    }

    /// The accuracy table (rows: distances; columns: ranks).
    public let accuracies: GuessAccuracies
    /// Which builder.
    public let variant: Variant

    /// A builder for `accuracies` (its number of rows is the number of prompt tokens N).
    public init(accuracies: GuessAccuracies, variant: Variant = .corrected) {
        self.accuracies = accuracies
        self.variant = variant
    }

    /// Number of prompt tokens (distances) the trees are built for.
    public var promptTokens: Int { accuracies.distances }

    // MARK: Static trees

    /// All paths of length 1...`maxDepth`, best first, at most `limit` of them. Ties keep the
    /// depth-first order of generation ([0], [0, 0], [0, 0, 0], [0, 0, 1], ..., [1], ...).
    public func rankedPaths(maxDepth: Int, limit: Int) -> [ScoredPath] {
        let width = accuracies.ranks
        let table = accuracies.perRank
        var scored: [(score: Double, order: Int, path: [Int])] = []
        var path: [Int] = []
        func visit(_ exact: Double, _ single: Float) {
            guard path.count < maxDepth else { return }
            for rank in 0..<width {
                let accuracy = table[path.count][rank]
                path.append(rank)
                let nextExact = exact * accuracy
                let nextSingle = single * Float(accuracy)
                scored.append((variant == .paper ? Double(nextSingle) : nextExact, scored.count, path))
                visit(nextExact, nextSingle)
                path.removeLast()
            }
        }
        visit(1, 1)
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.order < $1.order }
        return scored.prefix(max(limit, 0)).map {
            ScoredPath(path: $0.path, probability: variant == .paper ? TreeBuilder.roundedTo5($0.score) : $0.score)
        }
    }

    /// The best static tree of `nodes` nodes: the most probable paths of length at most N, each
    /// node carrying all N prompt tokens, weights = path probabilities.
    public func staticTree(nodes: Int) throws -> DynamicTree {
        let paths = rankedPaths(maxDepth: promptTokens, limit: nodes)
        let tree = try TokenTree(
            nodes: paths.map { TokenTree.Node($0.path, weight: $0.probability, promptTokens: promptTokens) },
            promptTokens: promptTokens)
        return DynamicTree(staticTree: tree)
    }

    /// Expected tokens per step of a static tree: every step has all N distances, so it is one
    /// plus the sum of its path probabilities.
    public func expectedTokensPerStep(staticNodes nodes: Int) -> Double {
        1 + rankedPaths(maxDepth: promptTokens, limit: nodes).reduce(0) { $0 + $1.probability }
    }

    // MARK: Dynamic trees

    /// The dynamic tree for input length limit `inputLimit` (nodes + prompt tokens per depth).
    /// Throws `TreeBuilderError` for a limit below 2, and, for `.paper`, where the paper's builder
    /// itself fails.
    public func dynamicTree(inputLimit: Int) throws -> Built {
        let n = promptTokens
        guard inputLimit >= 2 else { throw TreeBuilderError(.inputLimitTooSmall(inputLimit)) }
        let candidates = (1...n).map { rankedPaths(maxDepth: $0, limit: inputLimit) }
        // V[d][s]: expected accepted candidates of depth d's best s paths (sum in list order).
        let values: [[Double]] = candidates.map { list in
            var sums = [0.0]
            for p in list { sums.append(sums.last! + p.probability) }
            return sums
        }
        var weightCache: [[Int: [Double]]] = Array(repeating: [:], count: n)
        func weights(depth d: Int, nodes t: Int) -> [Double] {
            if let cached = weightCache[d - 1][t] { return cached }
            let computed = Self.lastAcceptedWeights(candidates[d - 1].prefix(t))
            weightCache[d - 1][t] = computed
            return computed
        }

        // The node counts to try, per depth.
        let ranges: [ClosedRange<Int>] = (1...n).map { d in
            let available = candidates[d - 1].count
            switch variant {
            case .paper:
                if d == 1 { return accuracies.ranks...accuracies.ranks }
                let low = inputLimit / (n + 1), high = inputLimit / 2
                return low <= high ? low...high : 1...0
            case .corrected:
                return 1...max(1, min(available, inputLimit))
            }
        }
        if ranges.contains(where: { $0.isEmpty }) { throw TreeBuilderError(.paperBuilderFails(inputLimit: inputLimit)) }

        var best: (objective: Double, counts: [Int], promptCounts: [[Int]])?
        var counts = ranges.map(\.lowerBound)
        while true {
            let value = { (k: Int, d: Int) -> Double in k == 0 ? 0 : values[k - 1][min(counts[k - 1], values[k - 1].count - 1)] }
            var promptCounts: [[Int]] = []
            for d in 1...n {
                let w = weights(depth: d, nodes: counts[d - 1])
                do {
                    promptCounts.append(try allocatePromptTokens(weights: w, budget: inputLimit - counts[d - 1], value: { value($0, d) }))
                } catch {
                    throw TreeBuilderError(.paperBuilderFails(inputLimit: inputLimit))
                }
            }
            let objective = objectiveValue(counts: counts, promptCounts: promptCounts, weights: weights, value: { value($0, 0) })
            if best == nil || objective > best!.objective {
                best = (objective, counts, promptCounts)
            }
            // Next combination: the last depth varies fastest (the paper's nested loops).
            var d = n - 1
            while d >= 0 {
                if counts[d] < ranges[d].upperBound {
                    counts[d] += 1
                    break
                }
                counts[d] = ranges[d].lowerBound
                d -= 1
            }
            if d < 0 { break }
        }
        guard let chosen = best else { throw TreeBuilderError(.paperBuilderFails(inputLimit: inputLimit)) }
        return try assemble(
            candidates: candidates, counts: chosen.counts, promptCounts: chosen.promptCounts,
            weights: { weights(depth: $0, nodes: $1) }, inputLimit: inputLimit, objective: chosen.objective)
    }

    /// Fig. 8a's naive tree for input length limit `inputLimit`: for every depth key d the best
    /// L/(N+1) paths of length at most d (stage one with equal node counts), each node carrying
    /// all N prompt tokens (no stage two). It is one of the choices the dynamic search weighs,
    /// so the corrected dynamic tree of the same limit is expected to accept at least as much.
    /// Throws `TreeBuilderError` below N + 1 (one node with its N prompt tokens).
    public func naiveTree(inputLimit: Int) throws -> Built {
        let n = promptTokens
        guard inputLimit >= n + 1 else { throw TreeBuilderError(.naiveLimitTooSmall(inputLimit: inputLimit, promptTokens: n)) }
        let candidates = (1...n).map { rankedPaths(maxDepth: $0, limit: inputLimit / (n + 1)) }
        let counts = candidates.map(\.count)
        return try assemble(
            candidates: candidates, counts: counts, promptCounts: counts.map { [Int](repeating: n, count: $0) },
            weights: { Self.lastAcceptedWeights(candidates[$0 - 1].prefix($1)) }, inputLimit: inputLimit, objective: nil)
    }

    /// The probability that each path of `list` is the last one accepted: its own probability
    /// less its children's in the list.
    static func lastAcceptedWeights(_ list: ArraySlice<ScoredPath>) -> [Double] {
        list.map { node in
            var children = 0.0
            for other in list where other.path.count == node.path.count + 1 && Array(other.path.dropLast()) == node.path {
                children += other.probability
            }
            return node.probability - children
        }
    }

    /// The trees of the chosen node and prompt-token counts per depth, with the corrected
    /// chain's predictions; `objective` nil: the expected accepted candidates per step.
    private func assemble(
        candidates: [[ScoredPath]], counts: [Int], promptCounts: [[Int]], weights: (Int, Int) -> [Double], inputLimit: Int,
        objective: Double?
    ) throws -> Built {
        let n = promptTokens
        var trees: [Int: [TokenTree.Node]] = [:]
        for d in 1...n {
            let list = candidates[d - 1].prefix(counts[d - 1])
            let w = weights(d, counts[d - 1])
            trees[d] = zip(list, zip(w, promptCounts[d - 1])).map {
                TokenTree.Node($0.0.path, weight: $0.1.0, promptTokens: $0.1.1)
            }
        }
        let tree = try DynamicTree(promptTokens: n, trees: trees)
        let chain = correctedChain(counts: counts, promptCounts: promptCounts, weights: weights)
        let shares = chain.stationary()
        var accepted = 0.0
        var nodeCounts: [Int] = []
        var inputLengths: [Int] = []
        for d in 1...n {
            let list = candidates[d - 1].prefix(counts[d - 1])
            accepted += shares[d] * list.reduce(0) { $0 + $1.probability }
            let nodes: [TokenTree.Node] = trees[d] ?? []
            nodeCounts.append(nodes.count)
            inputLengths.append(nodes.count + nodes.reduce(0) { $0 + $1.promptTokens })
        }
        return Built(
            tree: tree, inputLimit: inputLimit, nodeCounts: nodeCounts, inputLengths: inputLengths,
            depthShares: shares, expectedTokensPerStep: 1 + accepted, objective: objective ?? accepted)
    }

    /// Stage two for one depth: start every node at N prompt tokens, then remove the cheapest one
    /// at a time until the prompt tokens fit in `budget`. Removing one from a node with k costs
    /// `weight * (value(k - 1) - value(k))` (`value(k)`: expected accepted candidates of depth k's
    /// tree); the least negative cost goes first, the earliest node on ties.
    func allocatePromptTokens(weights: [Double], budget: Int, value: (Int) -> Double) throws -> [Int] {
        let n = promptTokens
        var counts = [Int](repeating: n, count: weights.count)
        var total = n * weights.count
        func loss(_ i: Int) -> Double { weights[i] * (value(counts[i] - 1) - value(counts[i])) }
        switch variant {
        case .paper:
            // The paper's scan: nodes at 1 are skipped; if every node is at 1 it still takes
            // node 0 (down to 0), and a node at 0 makes the next scan fail (a KeyError there).
            while total > budget {
                var bestLoss = -Double.infinity
                var chosen = 0
                for i in counts.indices where counts[i] != 1 {
                    if counts[i] == 0 { throw TreeBuilderError(.paperBuilderFails(inputLimit: -1)) }
                    let l = loss(i)
                    if l > bestLoss {
                        bestLoss = l
                        chosen = i
                    }
                }
                counts[chosen] -= 1
                total -= 1
            }
        case .corrected:
            var heap = RemovalHeap()
            for i in counts.indices { heap.push(loss: loss(i), index: i) }
            while total > budget, let i = heap.pop() {
                counts[i] -= 1
                total -= 1
                if counts[i] > 0 { heap.push(loss: loss(i), index: i) }
            }
        }
        return counts
    }

    /// The quantity the search maximises for one choice of node counts.
    private func objectiveValue(
        counts: [Int], promptCounts: [[Int]], weights: (Int, Int) -> [Double], value: (Int) -> Double
    ) -> Double {
        let chain = depthChain(counts: counts, promptCounts: promptCounts, weights: weights, papers: variant == .paper)
        let shares = chain.stationary()
        var total = 0.0
        for d in 1...promptTokens { total += shares[d] * value(d) }
        return total
    }

    /// The true depth chain: a step that accepts nothing goes to depth N (the root's chain);
    /// a node with k prompt tokens leads to depth k, k = 0 being a step without guesses.
    private func correctedChain(counts: [Int], promptCounts: [[Int]], weights: (Int, Int) -> [Double]) -> DepthChain {
        depthChain(counts: counts, promptCounts: promptCounts, weights: weights, papers: false)
    }

    /// The depth chain of a choice of trees: from depth d, a node with k prompt tokens that is
    /// the last one accepted (probability: its weight) leads to depth k. Where nothing is
    /// accepted: the true chain goes to depth N (the root's prompt tokens); the paper's chain
    /// (`papers`) goes to state 0, a step that yields nothing and then leads to depth N.
    private func depthChain(
        counts: [Int], promptCounts: [[Int]], weights: (Int, Int) -> [Double], papers: Bool
    ) -> DepthChain {
        let n = promptTokens
        var transitions = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n + 1)
        transitions[0][n] = 1
        for d in 1...n {
            let w = weights(d, counts[d - 1])
            var row = [Double](repeating: 0, count: n + 1)
            for (weight, k) in zip(w, promptCounts[d - 1]) { row[k] += weight }
            if papers {
                var accepted = 0.0
                for k in 1...n { accepted += row[k] }
                row[0] = 1 - accepted
            } else {
                row[n] += max(0, 1 - w.reduce(0, +))
            }
            transitions[d] = row
        }
        return DepthChain(transitions: transitions)
    }

    /// `x` rounded to 5 decimals as Python's `round(x, 5)` does (correctly rounded decimal).
    static func roundedTo5(_ x: Double) -> Double {
        Double(String(format: "%.5f", x)) ?? x
    }
}

/// A max-heap of removal candidates: the largest loss first, the smallest index on ties.
private struct RemovalHeap {
    private var items: [(loss: Double, index: Int)] = []

    private static func above(_ a: (loss: Double, index: Int), _ b: (loss: Double, index: Int)) -> Bool {
        a.loss != b.loss ? a.loss > b.loss : a.index < b.index
    }

    mutating func push(loss: Double, index: Int) {
        items.append((loss, index))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard RemovalHeap.above(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        items[0] = items[items.count - 1]
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var largest = parent
            if left < items.count, RemovalHeap.above(items[left], items[largest]) { largest = left }
            if right < items.count, RemovalHeap.above(items[right], items[largest]) { largest = right }
            if largest == parent { break }
            items.swapAt(parent, largest)
            parent = largest
        }
        return top.index
    }
}

/// A tree the builder cannot make.
public struct TreeBuilderError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Problem: Equatable, Sendable {
        /// An input length limit below 2 (one node and one prompt token).
        case inputLimitTooSmall(Int)
        /// The paper's builder fails (or loops over nothing) for this limit.
        case paperBuilderFails(inputLimit: Int)
        /// A naive tree's limit below one node with all its prompt tokens.
        case naiveLimitTooSmall(inputLimit: Int, promptTokens: Int)
    }

    /// What went wrong.
    public var problem: Problem

    /// An error for `problem`.
    public init(_ problem: Problem) { self.problem = problem }

    public var description: String {
        switch problem {
        case .inputLimitTooSmall(let limit):
            return "input length limit \(limit) is too small: a tree needs at least 2 (one node and one prompt token)"
        case .paperBuilderFails(let limit):
            return "the paper's builder fails for input length limit \(limit) (it fixes as many depth-1 nodes as ranks "
                + "and searches deeper trees of L/(N+1)...L/2 nodes); use the corrected variant"
        case .naiveLimitTooSmall(let limit, let n):
            return "input length limit \(limit) is too small for a naive tree: each node carries all \(n) prompt tokens, so it needs at least \(n + 1)"
        }
    }
}
