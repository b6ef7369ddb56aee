import Models

/// The batch of one PPD forward pass: the slots of `TreeBuffers` expanded into batch rows, with
/// every prompt slot becoming `virtualTokens` rows (the ensemble of one prompt token), their
/// positions, the attention mask and the rows whose logits the step needs.
///
/// Rows follow slot order; a prompt slot's V rows are consecutive (virtual token 0 first) and share
/// the slot's position. Token slots (root and guesses) see themselves and their token ancestors.
/// A prompt row sees the token ancestors of its slot plus, among the prompt rows of its own chain,
/// what the prompt tokens' attention type allows, as the paper's training masks define it
/// (`prompt/model/model.py`, `vt_attention_mask`):
/// - `ensemble`: virtual token v of prompt token k sees virtual token v of prompt tokens 1...k
///   (V independent chains);
/// - `decoder`: every row of earlier prompt tokens in the chain, and rows v' <= v of its own;
/// - `encoder`: all V rows of its own prompt token and none of the earlier ones.
/// With one virtual token the three coincide with the tree mask of `TreeBuffers`.
public struct VerificationLayout: Sendable {
    /// The slot layout this batch expands.
    public let buffers: TreeBuffers
    /// Virtual tokens per prompt token.
    public let virtualTokens: Int
    /// How the virtual tokens attend to each other.
    public let attention: PromptTokens.Attention
    /// For each slot, its batch rows (one for a token slot, `virtualTokens` for a prompt slot).
    public let slotRows: [[Int]]
    /// For each batch row, its slot.
    public let rowSlot: [Int]
    /// For each batch row, its virtual-token index (0 for token rows).
    public let rowVirtual: [Int]
    /// Each row's position offset from the current sequence length.
    public let positions: [Int]
    /// Which rows each row sees (cache aside).
    public let mask: AttentionMask
    /// The rows whose logits the step reads, ascending: every token row and every prompt row.
    public let logitRows: [Int]

    /// Number of batch rows.
    public var count: Int { rowSlot.count }

    /// The deepest distance a guess of this layout reaches (0 without guesses).
    public var treeDepth: Int { buffers.nodes.map(\.path.count).max() ?? 0 }

    /// The rows of prompt tokens, ascending: their logits only give guesses.
    public var promptRows: [Int] { (0..<count).filter { buffers.isPromptSlot(rowSlot[$0]) } }

    /// What each row holds: the root, a guess (distance, rank) or a prompt token's virtual token.
    public var roles: [RowRole] {
        (0..<count).map { row in
            switch buffers.source[rowSlot[row]] {
            case .root: return .root
            case .guess(let distance, let rank): return .guess(distance: distance, rank: rank)
            case .promptToken(let index): return .promptToken(index: index, virtual: rowVirtual[row])
            }
        }
    }

    /// Expands `buffers` for prompt tokens of `virtualTokens` virtual tokens attending as `attention`.
    public init(buffers: TreeBuffers, virtualTokens: Int, attention: PromptTokens.Attention) throws {
        precondition(virtualTokens >= 1)
        self.buffers = buffers
        self.virtualTokens = virtualTokens
        self.attention = attention

        var slotRows: [[Int]] = []
        var rowSlot: [Int] = []
        var rowVirtual: [Int] = []
        for slot in 0..<buffers.count {
            let copies = buffers.isPromptSlot(slot) ? virtualTokens : 1
            slotRows.append(Array(rowSlot.count..<rowSlot.count + copies))
            rowSlot += Array(repeating: slot, count: copies)
            rowVirtual += Array(0..<copies)
        }
        self.slotRows = slotRows
        self.rowSlot = rowSlot
        self.rowVirtual = rowVirtual
        positions = rowSlot.map { buffers.positions[$0] }

        // Visibility: walk each row's slot ancestry (itself first).
        let n = rowSlot.count
        var visible = [Bool](repeating: false, count: n * n)
        for row in 0..<n {
            let slot = rowSlot[row]
            let ownIsPrompt = buffers.isPromptSlot(slot)
            var ancestor: Int? = slot
            while let current = ancestor {
                if !buffers.isPromptSlot(current) {
                    visible[row * n + slotRows[current][0]] = true
                } else if ownIsPrompt {
                    for other in VerificationLayout.visibleVirtuals(
                        attention, own: rowVirtual[row], sameSlot: current == slot, count: virtualTokens)
                    {
                        visible[row * n + slotRows[current][other]] = true
                    }
                }
                ancestor = buffers.parents[current]
            }
        }
        mask = try AttentionMask(batchSize: n, batchVisibility: visible)
        logitRows = Array(0..<n)
    }

    /// The virtual tokens of a prompt slot in a prompt row's own chain that the row sees: `own` is
    /// the row's virtual index; `sameSlot` says whether the slot is the row's own prompt token.
    static func visibleVirtuals(
        _ attention: PromptTokens.Attention, own: Int, sameSlot: Bool, count: Int
    ) -> [Int] {
        switch attention {
        case .ensemble: return [own]
        case .decoder: return sameSlot ? Array(0...own) : Array(0..<count)
        case .encoder: return sameSlot ? Array(0..<count) : []
        }
    }

    /// The prefill batch: `inputCount` input tokens (causal), then the chain of `promptTokens`
    /// prompt tokens of `virtualTokens` rows each under the last input, masked as in a tree step.
    /// Rows: the inputs in order, then prompt token 0's V rows, prompt token 1's, and so on.
    public static func prefillMask(
        inputCount: Int, promptTokens: Int, virtualTokens: Int, attention: PromptTokens.Attention
    ) throws -> AttentionMask {
        let n = inputCount + promptTokens * virtualTokens
        var visible = [Bool](repeating: false, count: n * n)
        for i in 0..<inputCount { for j in 0...i { visible[i * n + j] = true } }
        for k in 0..<promptTokens {
            for v in 0..<virtualTokens {
                let row = inputCount + k * virtualTokens + v
                for j in 0..<inputCount { visible[row * n + j] = true }
                for earlier in 0...k {
                    for other in visibleVirtuals(attention, own: v, sameSlot: earlier == k, count: virtualTokens) {
                        visible[row * n + inputCount + earlier * virtualTokens + other] = true
                    }
                }
            }
        }
        return try AttentionMask(batchSize: n, batchVisibility: visible)
    }
}

extension TreeBuffers {
    /// Whether `slot` holds a prompt-token embedding (rather than a token).
    public func isPromptSlot(_ slot: Int) -> Bool {
        if case .promptToken = source[slot] { return true }
        return false
    }
}
