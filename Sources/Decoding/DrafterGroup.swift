/// Several drafters as one: every step asks each in turn and verifies all their continuations in
/// one candidate tree (`DraftMerge` shares what they agree on). Each drafter is given the whole
/// token limit; the step's row limit (`DraftMerge`) bounds the rows they add together, filled in
/// drafter order. The first drafter's first continuation leads, as the draft sizing reads it.
public struct DrafterGroup: TokenDrafter {
    /// The drafters, in the order their continuations join the tree.
    public private(set) var drafters: [any TokenDrafter]

    public init(_ drafters: [any TokenDrafter]) { self.drafters = drafters }

    public var name: String { drafters.map(\.name).joined(separator: "+") }
    public var readsHiddenState: Bool { drafters.contains { $0.readsHiddenState } }
    public var addedBytes: Int { drafters.reduce(0) { $0 + $1.addedBytes } }

    public mutating func draft(after tokens: [Int32], limit: Int) -> [[Int32]] {
        (try? draft(after: tokens, hiddenState: nil, limit: limit)) ?? []
    }

    public mutating func draft(after tokens: [Int32], hiddenState: [Float]?, limit: Int) throws -> [[Int32]] {
        var all: [[Int32]] = []
        for i in drafters.indices { all += try drafters[i].draft(after: tokens, hiddenState: hiddenState, limit: limit) }
        return all
    }
}
