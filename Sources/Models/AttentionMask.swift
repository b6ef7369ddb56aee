/// Which keys each token of a batch may attend to: every cached slot (`cacheLength` of them) and
/// a chosen subset of the batch itself. Row i of `batchVisibility` says which batch tokens token i
/// sees (it should see itself).
public struct AttentionMask: Sendable, Equatable {
    /// Number of batch tokens.
    public let batchSize: Int
    /// batchSize x batchSize, row-major: `visible[i * batchSize + j]`.
    public let batchVisibility: [Bool]
    /// When set, one limit per batch token: token i sees only the cached slots below
    /// `cacheSlotLimits[i]` (the rest of the cache is hidden from it); nil: every cached slot.
    /// Training runs the prompt tokens of all cuts of one sequence as one batch over a single
    /// prefix pass, each cut's rows limited to the slots before their cut.
    public var cacheSlotLimits: [Int]?

    /// A mask from an explicit visibility matrix; throws unless it has batchSize x batchSize
    /// entries.
    public init(batchSize: Int, batchVisibility: [Bool]) throws {
        guard batchSize >= 0, batchVisibility.count == batchSize * batchSize else {
            throw ModelError("AttentionMask: \(batchVisibility.count) visibility entries for a batch of \(batchSize) (need \(batchSize) x \(batchSize))")
        }
        self.init(unchecked: batchSize, batchVisibility)
    }

    private init(unchecked batchSize: Int, _ batchVisibility: [Bool]) {
        self.batchSize = batchSize
        self.batchVisibility = batchVisibility
    }

    /// Each token sees itself and the tokens before it (ordinary decoding and prefill).
    public static func causal(_ batchSize: Int) -> AttentionMask {
        var v = [Bool](repeating: false, count: batchSize * batchSize)
        for i in 0..<batchSize { for j in 0...i { v[i * batchSize + j] = true } }
        return AttentionMask(unchecked: batchSize, v)
    }

    /// A tree: token i sees itself and its ancestors; `parents[i]` is the batch index of its
    /// parent (smaller than i) or nil for a root. Throws for a parent that is not smaller.
    public static func tree(parents: [Int?]) throws -> AttentionMask {
        let n = parents.count
        if let bad = parents.indices.first(where: { i in parents[i].map { $0 < 0 || $0 >= i } ?? false }) {
            throw ModelError("AttentionMask.tree: the parent \(parents[bad]!) of token \(bad) is not an earlier batch token")
        }
        var v = [Bool](repeating: false, count: n * n)
        for i in 0..<n {
            var node: Int? = i
            while let current = node {
                v[i * n + current] = true
                node = parents[current]
            }
        }
        return AttentionMask(unchecked: n, v)
    }

    /// Independent groups of batch tokens, one after another: token i of `blocks[b]` sees token j
    /// of the same block as that block says, and no token of another block.
    public static func blockDiagonal(_ blocks: [AttentionMask]) -> AttentionMask {
        let n = blocks.reduce(0) { $0 + $1.batchSize }
        var v = [Bool](repeating: false, count: n * n)
        var start = 0
        for block in blocks {
            for i in 0..<block.batchSize {
                for j in 0..<block.batchSize where block.sees(i, j) { v[(start + i) * n + start + j] = true }
            }
            start += block.batchSize
        }
        return AttentionMask(unchecked: n, v)
    }

    /// Whether batch token `i` sees batch token `j`.
    @inlinable public func sees(_ i: Int, _ j: Int) -> Bool { batchVisibility[i * batchSize + j] }
}
