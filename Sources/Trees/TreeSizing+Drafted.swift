extension TreeSizing {
    /// The static tree of `nodes` drafted nodes with no prompt rows, as Medusa-style heads are
    /// verified (the accuracies are then the heads'): a step runs the root and the nodes, and
    /// emits one token plus the probabilities of its paths.
    public func draftedTree(nodes: Int) throws -> Candidate {
        let rows = 1 + nodes
        let tree = try builder.staticTree(nodes: nodes)
        return Candidate(
            kind: "drafted", size: nodes, tree: tree, meanRows: Double(rows), maxRows: rows,
            tokensPerStep: builder.expectedTokensPerStep(staticNodes: nodes), relativeCost: profile.relativeCost(rows: rows))
    }

    /// The drafted tree (`draftedTree`) with the highest predicted speedup over node counts from
    /// 1 up to what the profile measured (the first on ties).
    public func bestDraftedTree() throws -> Candidate {
        var best = try draftedTree(nodes: 1)
        for nodes in stride(from: 2, to: max(profile.maxRows, 2), by: 1) {
            let candidate = try draftedTree(nodes: nodes)
            if candidate.predictedSpeedup > best.predictedSpeedup { best = candidate }
        }
        return best
    }
}
