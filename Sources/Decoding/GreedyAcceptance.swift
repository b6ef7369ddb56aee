import Models

/// Exact-match acceptance at temperature 0: a guess is kept when it is the argmax of the model at
/// its parent. The output equals autoregressive greedy decoding token for token (the numerics are
/// batch invariant, so the argmax at a tree node is the argmax a decode step would see).
public struct GreedyAcceptance: AcceptancePolicy {
    /// The greedy policy.
    public init() {}

    public var name: String { "greedy" }

    public mutating func firstToken(_ logits: ArraySlice<Float>) -> Int32 { Int32(logits.argmax()) }

    public mutating func accept(_ tree: CandidateTree, logits: (Int) -> ArraySlice<Float>) -> Acceptance {
        GreedyAcceptance.walk(tree, logits: logits)
    }

    public var decidesByBestToken: Bool { true }

    /// Follows the argmax from the root while a child holds it.
    static func walk(_ tree: CandidateTree, logits: (Int) -> ArraySlice<Float>) -> Acceptance {
        walk(tree) { Int32(logits($0).argmax()) }
    }

    /// Follows the best token from the root while a child holds it; `bestToken(node)` is the
    /// argmax of the node's logits.
    public static func walk(_ tree: CandidateTree, bestToken: (Int) -> Int32) -> Acceptance {
        var node = 0
        var path: [Int] = []
        while true {
            let best = bestToken(node)
            guard let child = tree.children[node].first(where: { tree.tokens[$0] == best }) else {
                return Acceptance(path: path, next: best)
            }
            path.append(child)
            node = child
        }
    }
}
