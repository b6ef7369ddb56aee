import Models

/// One verification step whose candidate tree carries, beside the prompt tokens' guesses,
/// continuations from a `TokenDrafter`: the draft tokens are walked down the candidate tree from
/// the root, following a child wherever one already holds the same token (de-duplicated), and
/// the rest of each draft hangs below as a chain of new token rows appended after the layout's
/// rows. New rows see their token ancestors and themselves, sit one position below their
/// parent, and carry no prompt tokens: when the last accepted node is a draft node, the next
/// step has no guesses from the prompt tokens (its tree is the root and its chain).
///
/// Siblings keep their order with drafted children last, so the acceptance policies, which try
/// children in order, prefer the prompt tokens' ranked guesses; every token of a node's children
/// is distinct, as rejection sampling requires.
public struct DraftMerge: Sendable {
    /// The merged candidate tree: the layout's nodes first, then the drafted nodes.
    public let candidates: CandidateTree
    /// Batch row of each candidate node.
    public let nodeRows: [Int]
    /// Number of nodes that came from the layout (root included); the rest were drafted.
    public let layoutNodes: Int
    /// Tokens of the appended rows, in row order.
    public let draftTokens: [Int32]
    /// Position offsets of the appended rows (from the current sequence length).
    public let draftPositions: [Int]
    /// The mask over the layout's rows and the appended ones.
    public let mask: AttentionMask

    /// Number of appended rows.
    public var draftRows: Int { draftTokens.count }

    /// Merges `drafts` into `candidates` laid out by `layout`, appending at most `rowLimit` rows.
    public init(layout: VerificationLayout, candidates: CandidateTree, drafts: [[Int32]], rowLimit: Int) throws {
        let base = layout.buffers.nodeIndex.map { layout.slotRows[$0][0] }
        var tokens = candidates.tokens
        var parents = candidates.parents
        var children = candidates.children
        var rows = base
        var positions: [Int] = []
        let baseRows = layout.count
        for draft in drafts {
            var node = 0
            for token in draft {
                if let child = children[node].first(where: { tokens[$0] == token }) {
                    node = child
                    continue
                }
                guard positions.count < rowLimit else { break }
                let child = tokens.count
                tokens.append(token)
                parents.append(node)
                children.append([])
                children[node].append(child)
                let parentRow = rows[node]
                let parentPosition = parentRow < baseRows ? layout.positions[parentRow] : positions[parentRow - baseRows]
                rows.append(baseRows + positions.count)
                positions.append(parentPosition + 1)
                node = child
            }
        }
        self.candidates = CandidateTree(tokens: tokens, parents: parents)
        nodeRows = rows
        layoutNodes = candidates.count
        draftTokens = Array(tokens[candidates.count...])
        draftPositions = positions
        mask = try DraftMerge.mask(base: layout.mask, rows: rows, parents: parents, firstDrafted: candidates.count)
    }

    /// How many leading tokens of `draft` the merged tree holds as a path from the root.
    public func verifiedLength(of draft: [Int32]) -> Int { candidates.matchedLength(of: draft) }

    /// The layout's mask grown by the drafted rows: a drafted row sees what its parent row sees
    /// (its token ancestors, never a prompt row) and itself.
    private static func mask(base: AttentionMask, rows: [Int], parents: [Int?], firstDrafted: Int) throws -> AttentionMask {
        let old = base.batchSize
        let n = old + rows.count - firstDrafted
        guard n > old else { return base }
        var visible = [Bool](repeating: false, count: n * n)
        for i in 0..<old {
            for j in 0..<old where base.sees(i, j) { visible[i * n + j] = true }
        }
        for node in firstDrafted..<rows.count {
            let row = rows[node]
            let parentRow = rows[parents[node]!]
            for j in 0..<n where visible[parentRow * n + j] { visible[row * n + j] = true }
            visible[row * n + row] = true
        }
        return try AttentionMask(batchSize: n, batchVisibility: visible)
    }
}

extension CandidateTree {
    /// How many leading tokens of `tokens` this tree holds as a path from the root (the root's
    /// own token not counted: `tokens` continue after it).
    public func matchedLength(of tokens: [Int32]) -> Int {
        var node = 0
        for (index, token) in tokens.enumerated() {
            guard let child = children[node].first(where: { self.tokens[$0] == token }) else { return index }
            node = child
        }
        return tokens.count
    }
}
