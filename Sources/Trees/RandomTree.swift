/// Random candidate trees: a baseline for tree ablations (how much does the builder's choice of
/// nodes matter at a given input length?).
extension DynamicTree {
    /// A random dynamic tree over `promptTokens` prompt tokens: for each depth d, nodes are added
    /// one at a time under a random existing node (or the root) whose path is shorter than d, with
    /// a random unused rank below `ranks` and a random prompt-token count in 1...N, until nodes
    /// plus prompt tokens reach `inputLimit` (at least 2). Deterministic for a given generator.
    public static func random(
        promptTokens n: Int, inputLimit: Int, ranks: Int = 10, using random: inout RandomSource
    ) throws -> DynamicTree {
        guard n >= 1 else { throw TreeError(.invalidPromptTokenCount(n)) }
        guard ranks >= 1 else { throw TreeError(.invalidTopK(ranks)) }
        var trees: [Int: [TokenTree.Node]] = [:]
        for depth in 1...n {
            var nodes: [TokenTree.Node] = []
            var used = Set<[Int]>()
            var length = 0
            var attempts = 0
            while inputLimit - length >= 2, attempts < 1000 {
                attempts += 1
                let parents = [[Int]()] + nodes.map(\.path).filter { $0.count < depth }
                let parent = parents[Int(random.next() % UInt64(parents.count))]
                let path = parent + [Int(random.next() % UInt64(ranks))]
                guard !used.contains(path) else { continue }
                let count = 1 + Int(random.next() % UInt64(min(n, inputLimit - length - 1)))
                used.insert(path)
                nodes.append(TokenTree.Node(path, weight: 0, promptTokens: count))
                length += 1 + count
            }
            trees[depth] = nodes
        }
        return try DynamicTree(promptTokens: n, trees: trees)
    }
}
