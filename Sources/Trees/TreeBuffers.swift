import Foundation
import Models

/// The input layout of one PPD verification step: which token or prompt-token embedding goes in
/// each batch slot, at which position, under which parent, and how to read candidates back.
///
/// The layout follows the paper's `generate_buffers` (prompt/model/model.py). Every slot has an
/// *extended path*: a candidate node has its path of ranks; prompt slot k (1-based) under a node
/// with path p has the path p + [-1, -2, ..., -k]; the root has the empty path and its chain has
/// the slots [-1], [-1, -2], ... up to the number of prompt tokens N. Batch slot 0 is the root;
/// the other slots follow sorted by (length of extended path, extended path lexicographically).
/// A slot's position offset is the length of its extended path, and its parent is the slot of
/// its extended path without the last entry (the root for length 1).
///
/// Prompt slots per node: by default (`PromptSlotRule.exact`) a node with prompt-token count n
/// gets exactly slots 1...n, so n = 0 means none. The paper's code instead hangs slot 1 under
/// every listed node, whatever its n (`PromptSlotRule.atLeastOne`). We default to `exact`
/// because the tree file's n then means what it says and the input length is exactly
/// 1 + N + nodes + sum(n), the quantity a hardware-aware tree is sized by; the paper's builder
/// never writes n < 1, so for the paper's trees both rules give the same layout. The paper
/// needs its rule because its next step looks up the tree keyed by the accepted node's
/// prompt-token count and has no tree for 0; with `exact`, a decoder that accepts a node with no
/// prompt tokens runs the next step with an empty tree (root and its chain only).
public struct TreeBuffers: Sendable, Equatable {
    /// How many prompt slots a listed node gets for its prompt-token count n.
    public enum PromptSlotRule: Sendable, Equatable {
        /// Exactly n slots (n = 0 gives none). The default.
        case exact
        /// max(n, 1) slots, as the paper's `generate_buffers` does.
        case atLeastOne

        /// Number of prompt slots for a node whose prompt-token count is `count`.
        public func slots(for count: Int) -> Int {
            switch self {
            case .exact: return count
            case .atLeastOne: return max(count, 1)
            }
        }
    }

    /// What fills one batch slot.
    public enum Source: Sendable, Equatable, Hashable {
        /// The token the model produced last (the root of the tree).
        case root
        /// The guess of the given top-k rank (0-based) at the given distance (1-based).
        case guess(distance: Int, rank: Int)
        /// The embedding of prompt token `index` (0-based: prompt slot k uses index k - 1).
        case promptToken(index: Int)
    }

    /// Ranks must be below this.
    public let topK: Int
    /// Number of prompt tokens N (the length of the root's chain).
    public let promptTokens: Int
    /// The rule that decided prompt slots per node.
    public let rule: PromptSlotRule
    /// The listed nodes in layout order, sorted by (path length, path). `nodeIndex[i + 1]` and
    /// `promptSlots[i + 1]` belong to `nodes[i]`.
    public let nodes: [TokenTree.Node]
    /// Number of batch slots (the input length).
    public let count: Int
    /// Each slot's position offset from the current sequence length (its depth; root 0).
    public let positions: [Int]
    /// Each slot's parent slot; nil for the root. A parent always comes earlier.
    public let parents: [Int?]
    /// What fills each slot.
    public let source: [Source]
    /// One list per leaf of the candidate tree (a node with no child node; prompt slots do not
    /// count): the batch slots from the root (slot 0) to the leaf. Leaves come in the paper's
    /// order, the reverse of layout order. A tree with no nodes has the single path `[0]`.
    public let retrievePaths: [[Int]]
    /// Batch slot of the root (entry 0, always 0) and of each of `nodes`.
    public let nodeIndex: [Int]
    /// For the root (entry 0) and each of `nodes`, the batch slots of its prompt-token chain,
    /// in chain order (prompt token 0 first).
    public let promptSlots: [[Int]]

    /// Lays out `tree` for top-k `topK` and `promptTokens` prompt tokens. Throws `TreeError` if a
    /// rank is not below `topK`, a path is longer than `promptTokens`, or a node's prompt-token
    /// count exceeds `promptTokens`.
    public init(tree: TokenTree, topK: Int, promptTokens: Int, rule: PromptSlotRule = .exact) throws {
        try TokenTree.check(tree.nodes, promptTokens: promptTokens, topK: topK)
        self.topK = topK
        self.promptTokens = promptTokens
        self.rule = rule

        // 1. Candidate nodes in layout order.
        let nodes = tree.nodes.sorted { TreeBuffers.precedes($0.path, $1.path) }
        self.nodes = nodes

        // 2. Every slot except the root, with its extended path and source.
        func chain(under path: [Int], length: Int) -> [(path: [Int], source: Source)] {
            (0..<length).map { k in (path + (1...(k + 1)).map { -$0 }, .promptToken(index: k)) }
        }
        var slots = chain(under: [], length: promptTokens)
        for node in nodes {
            slots.append((node.path, .guess(distance: node.path.count, rank: node.path[node.path.count - 1])))
            slots += chain(under: node.path, length: rule.slots(for: node.promptTokens))
        }
        slots.sort { TreeBuffers.precedes($0.path, $1.path) }

        // 3. Batch index of each extended path (root = slot 0).
        var index: [[Int]: Int] = [[]: 0]
        for (i, slot) in slots.enumerated() { index[slot.path] = i + 1 }

        // 4. Positions, parents and sources per batch slot.
        count = slots.count + 1
        positions = [0] + slots.map(\.path.count)
        parents = [nil] + slots.map { index[Array($0.path.dropLast())] }
        source = [.root] + slots.map(\.source)

        // 5. Candidate nodes and their prompt chains.
        let candidatePaths = [[]] + nodes.map(\.path)
        nodeIndex = candidatePaths.map { index[$0] ?? 0 }
        promptSlots = candidatePaths.map { path in
            var chainSlots: [Int] = []
            var extended = path
            while let slot = index[extended + [-(extended.count - path.count + 1)]] {
                chainSlots.append(slot)
                extended.append(-(extended.count - path.count + 1))
            }
            return chainSlots
        }

        // 6. Retrieval paths: root-to-leaf slot lists, leaves in reverse layout order.
        let parentPaths = Set(nodes.map { Array($0.path.dropLast()) })
        let leaves = nodes.reversed().filter { !parentPaths.contains($0.path) }
        retrievePaths =
            leaves.isEmpty
            ? [[0]]
            : leaves.map { leaf in [0] + (1...leaf.path.count).map { index[Array(leaf.path.prefix($0))] ?? 0 } }
    }

    /// The tree attention mask: each slot sees the root, its ancestors and itself.
    public var attentionMask: AttentionMask { get throws { try .tree(parents: parents) } }

    /// The token of every slot that holds one, nil for prompt slots: the root slot gets `root`,
    /// a guess slot gets `guesses[distance - 1][rank]`. `guesses` rows are distances 1, 2, ...
    /// and hold the top-k token ids in rank order. Throws if a guess the tree needs is missing.
    public func tokens(root: Int32, guesses: [[Int32]]) throws -> [Int32?] {
        try source.map { slot in
            switch slot {
            case .root:
                return root
            case .promptToken:
                return nil
            case .guess(let distance, let rank):
                guard distance - 1 < guesses.count, rank < guesses[distance - 1].count else {
                    throw TreeError(.missingGuess(distance: distance, rank: rank))
                }
                return guesses[distance - 1][rank]
            }
        }
    }

    /// Layout order of extended paths: shorter first, then lexicographic.
    static func precedes(_ a: [Int], _ b: [Int]) -> Bool {
        a.count != b.count ? a.count < b.count : a.lexicographicallyPrecedes(b)
    }
}
