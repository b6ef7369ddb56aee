import Models

/// Medusa-style heads as a drafter: from the final hidden state of the row that chose the root,
/// head k ranks its guesses for the token k + 1 places after the root, and a static tree of rank
/// paths (Medusa's form: `[0]`, `[1]`, `[0, 0]`, ...; path element k is a rank among head k's
/// guesses) turns them into continuations, most likely path first. The decoder verifies them as
/// any drafter's (`DraftMerge`), alone (`DynamicTree.rootOnly`) or beside the prompt tokens.
public struct MedusaDrafter: TokenDrafter {
    /// The heads.
    public let heads: MedusaHeads
    /// The model whose output layer the heads share.
    public let model: LanguageModel
    /// When set, the heads' guesses are ranked among its tokens only (a fraction of the output
    /// layer's cost), as prompt-token guesses are.
    public let guessHead: GuessHead?
    /// Rank paths of the static tree, parents before children.
    public let paths: [[Int]]
    /// Guesses kept per head: one more than the largest rank at that depth.
    private let ranks: [Int]

    public var name: String { "medusa" }
    public var readsHiddenState: Bool { true }
    /// The heads' parameters (float32).
    public var addedBytes: Int { heads.addedBytes }

    /// A drafter of `heads` on `model` with the static tree `tree` (its node paths; prompt-token
    /// counts in it are ignored). Throws when the tree is deeper than there are heads, or when
    /// the heads do not fit the model.
    public init(heads: MedusaHeads, model: LanguageModel, tree: TokenTree, guessHead: GuessHead? = nil) throws {
        guard heads.hiddenSize == model.config.hiddenSize else {
            throw ModelError("Medusa heads of width \(heads.hiddenSize) do not fit a model of hidden size \(model.config.hiddenSize)")
        }
        guard tree.depth <= heads.count else {
            throw ModelError("the Medusa tree is \(tree.depth) deep but there are only \(heads.count) heads")
        }
        // Shallower paths first, the file's order within a depth (a parent before its children).
        let paths = tree.nodes.map(\.path).enumerated().filter { !$0.element.isEmpty }
            .sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }.map(\.element)
        var ranks = [Int](repeating: 0, count: tree.depth)
        for path in paths {
            for (k, rank) in path.enumerated() { ranks[k] = max(ranks[k], rank + 1) }
        }
        let width = guessHead?.tokens.count ?? model.config.vocabSize
        if let rank = ranks.max(), rank > width {
            throw ModelError("the Medusa tree asks for rank \(rank - 1) but a head ranks only \(width) tokens")
        }
        self.heads = heads
        self.model = model
        self.guessHead = guessHead
        self.paths = paths
        self.ranks = ranks
    }

    /// Without a hidden state there is nothing to draft from.
    public mutating func draft(after tokens: [Int32], limit: Int) -> [[Int32]] { [] }

    public mutating func draft(after tokens: [Int32], hiddenState: [Float]?, limit: Int) throws -> [[Int32]] {
        guard let hiddenState, !paths.isEmpty, limit > 0 else { return [] }
        let guesses = try rankedGuesses(hiddenState)
        // Continuations in path order, stopping before the tree they make exceeds `limit` nodes;
        // a path whose parent path is not in the tree is skipped.
        var seen: Set<[Int]> = []
        var drafts: [[Int32]] = []
        for path in paths {
            guard seen.count < limit else { break }
            if path.count > 1 && !seen.contains(Array(path.dropLast())) { continue }
            seen.insert(path)
            drafts.append(path.enumerated().map { k, rank in guesses[k][rank] })
        }
        // Each path adds one node below its parent's (DraftMerge shares the common prefixes).
        return drafts
    }

    /// Per head (up to the tree's depth), its best tokens in rank order.
    public func rankedGuesses(_ hiddenState: [Float]) throws -> [[Int32]] {
        let width = guessHead?.tokens.count ?? model.config.vocabSize
        let depth = ranks.count
        let logits = try heads.logits(hiddenState, rows: 1, model: model, head: guessHead, first: depth)
        return (0..<depth).map { k in
            Logits.topTokens(ranks[k], of: logits[(k * width)..<((k + 1) * width)], tokens: guessHead?.tokens, vocabSize: model.config.vocabSize)
                .map(\.token)
        }
    }
}
