import Models

/// The candidate tokens of one verification step as a tree: node 0 is the root (the token
/// produced last, not yet verified by anyone because it was chosen from the model's own
/// distribution), nodes 1... are the guesses in layout order.
public struct CandidateTree: Sendable, Equatable {
    /// Token of each node.
    public let tokens: [Int32]
    /// Parent of each node (nil for the root); a parent comes before its children.
    public let parents: [Int?]
    /// Children of each node, in rank order (the most likely guess first).
    public let children: [[Int]]

    /// A tree from node tokens and parents; children are listed in node order.
    public init(tokens: [Int32], parents: [Int?]) {
        precondition(tokens.count == parents.count && !tokens.isEmpty && parents[0] == nil)
        self.tokens = tokens
        self.parents = parents
        var children = [[Int]](repeating: [], count: tokens.count)
        for (node, parent) in parents.enumerated() {
            if let parent { children[parent].append(node) }
        }
        self.children = children
    }

    /// The candidate tree of `buffers` filled with `root` and the top-k `guesses` (rows are
    /// distances 1, 2, ...; each in rank order). Siblings come in rank order because layout order
    /// sorts paths lexicographically.
    public init(buffers: TreeBuffers, root: Int32, guesses: [[Int32]]) throws {
        let slotTokens = try buffers.tokens(root: root, guesses: guesses)
        var nodeOfPath: [[Int]: Int] = [[]: 0]
        for (i, node) in buffers.nodes.enumerated() { nodeOfPath[node.path] = i + 1 }
        let tokens = buffers.nodeIndex.map { slotTokens[$0] ?? root }
        let parents: [Int?] = [nil] + buffers.nodes.map { nodeOfPath[Array($0.path.dropLast())] }
        self.init(tokens: tokens, parents: parents)
    }

    /// Number of nodes, the root included.
    public var count: Int { tokens.count }
}

/// What a policy accepted in one step.
public struct Acceptance: Sendable, Equatable {
    /// The accepted guess nodes from the root down (root excluded; empty when no guess is accepted).
    public var path: [Int]
    /// The token that follows the accepted path, drawn from the model's distribution at the last
    /// accepted node (the "bonus" token; it becomes the next step's root).
    public var next: Int32

    /// An acceptance of `path` followed by `next`.
    public init(path: [Int], next: Int32) {
        self.path = path
        self.next = next
    }
}

/// Decides which guesses of a verified candidate tree are kept and which token follows them.
///
/// `logits(node)` returns the base model's logits at a node of the tree (the distribution of the
/// token after it, given the root-to-node path). Policies hold their own random state.
public protocol AcceptancePolicy {
    /// A short name for traces and reports (`greedy`, `typical`, `rejection`).
    var name: String { get }
    /// The token after the prompt, from the prefill's logits.
    mutating func firstToken(_ logits: ArraySlice<Float>) -> Int32
    /// The accepted path through `tree` and the token after it.
    mutating func accept(_ tree: CandidateTree, logits: (Int) -> ArraySlice<Float>) -> Acceptance
    /// Whether `accept` reads nothing of a node's logits but their best token: the policy then
    /// follows the best tokens from the root (`GreedyAcceptance.walk`), and a decoder may ask
    /// the model for the nodes' best tokens only (`Logits.bestToken(ofRow:)`) instead of full
    /// rows. False unless a policy says so.
    var decidesByBestToken: Bool { get }
}

extension AcceptancePolicy {
    public var decidesByBestToken: Bool { false }
}
