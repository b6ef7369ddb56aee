import Models

/// One verification step whose candidate tree carries, beside the prompt tokens' guesses,
/// continuations from a `TokenDrafter`: the draft tokens are walked down the candidate tree from
/// the root, following a child wherever one already holds the same token (de-duplicated), and
/// the rest of each draft hangs below as a chain of new token rows appended after the layout's
/// rows. New rows see their token ancestors and themselves and sit one position below their
/// parent. With a `PromptChain`, the last new node of the first draft also carries the prompt
/// tokens (their rows appended after the drafted ones, masked as a tree node's prompt chain):
/// when the whole draft is accepted, the next step has the prompt tokens' guesses. Other drafted
/// nodes carry none: when the last accepted node is one of them, the next step has no guesses
/// (its tree is the root and its chain).
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
    /// The candidate node carrying the prompt chain (the first draft's last new node), if any.
    public let chainNode: Int?
    /// Batch rows of the prompt chain: for each prompt token, its virtual tokens' rows (after
    /// the drafted rows); empty without a chain.
    public let chainRows: [[Int]]
    /// Position offset of each prompt token of the chain (one below the previous).
    public let chainPositions: [Int]
    /// The mask over the layout's rows and the appended ones.
    public let mask: AttentionMask

    /// Number of appended token rows (the prompt chain's rows not counted).
    public var draftRows: Int { draftTokens.count }

    /// Number of appended prompt rows (`chainRows` flattened).
    public var chainRowCount: Int { chainRows.reduce(0) { $0 + $1.count } }

    /// Prompt tokens hung under the first draft's last node: `promptTokens` of `virtualTokens`
    /// rows each, attending as `attention` (as in a `VerificationLayout`).
    public struct PromptChain: Sendable, Equatable {
        public let promptTokens: Int
        public let virtualTokens: Int
        public let attention: PromptTokens.Attention

        /// A chain of `promptTokens` prompt tokens of `virtualTokens` rows each (`DraftMerge.init`
        /// refuses fewer than 0 prompt tokens or 1 virtual token; 0 prompt tokens add no rows).
        public init(promptTokens: Int, virtualTokens: Int, attention: PromptTokens.Attention) {
            self.promptTokens = promptTokens
            self.virtualTokens = virtualTokens
            self.attention = attention
        }

        /// Rows the chain adds.
        public var rows: Int { promptTokens * virtualTokens }
    }

    /// Merges `drafts` into `candidates` laid out by `layout`, appending at most `rowLimit` token
    /// rows, and with a `promptChain`, its rows under the first draft's last new node.
    public init(
        layout: VerificationLayout, candidates: CandidateTree, drafts: [[Int32]], rowLimit: Int,
        promptChain: PromptChain? = nil
    ) throws {
        if let promptChain, promptChain.promptTokens < 0 || promptChain.virtualTokens < 1 {
            throw ModelError(
                "a draft's prompt chain has \(promptChain.promptTokens) prompt tokens of \(promptChain.virtualTokens) virtual tokens: it needs 0 or more of at least 1")
        }
        let base = layout.buffers.nodeIndex.map { layout.slotRows[$0][0] }
        var tokens = candidates.tokens
        var parents = candidates.parents
        var children = candidates.children
        var rows = base
        var positions: [Int] = []
        let baseRows = layout.count
        var firstDraftEnd: Int?
        for (index, draft) in drafts.enumerated() {
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
            // The first draft's last new node, where a prompt chain goes.
            if index == 0 && tokens.count > candidates.count { firstDraftEnd = tokens.count - 1 }
        }
        self.candidates = CandidateTree(tokens: tokens, parents: parents)
        nodeRows = rows
        layoutNodes = candidates.count
        draftTokens = Array(tokens[candidates.count...])
        draftPositions = positions
        var chainRows: [[Int]] = []
        var chainPositions: [Int] = []
        var chainNode: Int?
        if let promptChain, promptChain.promptTokens > 0, let end = firstDraftEnd {
            let endPosition = positions[rows[end] - baseRows]
            var next = baseRows + positions.count
            for k in 0..<promptChain.promptTokens {
                chainRows.append(Array(next..<next + promptChain.virtualTokens))
                chainPositions.append(endPosition + 1 + k)
                next += promptChain.virtualTokens
            }
            chainNode = end
        }
        self.chainNode = chainNode
        self.chainRows = chainRows
        self.chainPositions = chainPositions
        mask = try DraftMerge.mask(
            base: layout.mask, rows: rows, parents: parents, firstDrafted: candidates.count,
            chain: promptChain.map { (chainNode.map { rows[$0] } ?? 0, chainRows, $0.attention) })
    }

    /// The position offset of each appended row (drafted rows, then the chain's), in row order.
    public var appendedPositions: [Int] {
        draftPositions + chainPositions.flatMap { Array(repeating: $0, count: chainRows.first?.count ?? 0) }
    }

    /// What each appended row holds, in row order.
    public var appendedRoles: [RowRole] {
        draftPositions.map { RowRole.drafted(distance: $0) }
            + chainRows.enumerated().flatMap { k, rows in rows.indices.map { RowRole.promptToken(index: k, virtual: $0) } }
    }

    /// How many leading tokens of `draft` the merged tree holds as a path from the root.
    public func verifiedLength(of draft: [Int32]) -> Int { candidates.matchedLength(of: draft) }

    /// The layout's mask grown by the drafted rows: a drafted row sees what its parent row sees
    /// (its token ancestors, never a prompt row) and itself. A prompt-chain row sees what its
    /// node's row sees and, among the chain's rows, what the attention type allows
    /// (`VerificationLayout.visibleVirtuals`).
    private static func mask(
        base: AttentionMask, rows: [Int], parents: [Int?], firstDrafted: Int,
        chain: (nodeRow: Int, rows: [[Int]], attention: PromptTokens.Attention)?
    ) throws -> AttentionMask {
        let old = base.batchSize
        let chainRows = chain?.rows ?? []
        let n = old + rows.count - firstDrafted + chainRows.reduce(0) { $0 + $1.count }
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
        if let chain {
            let virtualTokens = chainRows.first?.count ?? 0
            for (k, tokenRows) in chainRows.enumerated() {
                for (v, row) in tokenRows.enumerated() {
                    for j in 0..<n where visible[chain.nodeRow * n + j] { visible[row * n + j] = true }
                    for earlier in 0...k {
                        for other in VerificationLayout.visibleVirtuals(
                            chain.attention, own: v, sameSlot: earlier == k, count: virtualTokens)
                        {
                            visible[row * n + chainRows[earlier][other]] = true
                        }
                    }
                }
            }
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
