import Models

/// The bytes parallel prompt decoding holds beyond plain decoding of the same prompt and token
/// budget, buffer by buffer (element bytes; array headers and allocator rounding aside).
///
/// - `promptTokens`: the prompt-token embeddings (count x virtual tokens x hidden floats).
/// - `guessHead`: what the guess head adds (`GuessHead.addedBytes`).
/// - `treeBuffers`: the decoder's layouts of every depth (slots, rows, positions, masks).
/// - `logits`: the largest forward pass's logits minus plain decoding's one full row: the
///   prefill (the last prompt row and the prompt-token rows) or a step (node rows, prompt rows,
///   drafted rows). Node rows cost a full vocabulary row each unless the policy decides by best
///   tokens and nothing reads their logits; prompt rows cost the guess head's width with a head.
/// - `cache`: the key/value cache slots for the widest pass beyond plain decoding's capacity.
/// - `drafter`: what the drafter holds (`TokenDrafter.addedBytes`: Medusa-style heads' weights;
///   prompt lookup keeps nothing between steps).
///
/// Both plain and prompt decoding may briefly hold two passes' logits (the previous pass's
/// while the next one is written); that doubles the `logits` term at most.
public struct PromptDecodingMemory: Sendable, Equatable, Encodable {
    public var promptTokens: Int
    public var guessHead: Int
    public var treeBuffers: Int
    public var logits: Int
    public var cache: Int
    public var drafter: Int = 0

    /// All of them.
    public var total: Int { promptTokens + guessHead + treeBuffers + logits + cache + drafter }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", guessHead = "guess_head", treeBuffers = "tree_buffers", logits, cache, drafter, total
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(guessHead, forKey: .guessHead)
        try container.encode(treeBuffers, forKey: .treeBuffers)
        try container.encode(logits, forKey: .logits)
        try container.encode(cache, forKey: .cache)
        try container.encode(drafter, forKey: .drafter)
        try container.encode(total, forKey: .total)
    }
}

extension PromptDecoder {
    /// What `generate` from a prompt of `promptLength` tokens with a budget of `maxTokens`, with
    /// `policy` and `observer`, adds to plain decoding (`PromptDecodingMemory`).
    public func addedMemory(
        promptLength: Int, maxTokens: Int, policy: some AcceptancePolicy, observer: DecodingObserver? = nil
    ) -> PromptDecodingMemory {
        addedMemory(
            promptLength: promptLength, maxTokens: maxTokens,
            bestTokenNodes: Self.nodesNeedBestTokenOnly(policy: policy, observer: observer))
    }

    /// As above; `bestTokenNodes`: whether node rows hold only their best token.
    public func addedMemory(promptLength: Int, maxTokens: Int, bestTokenNodes: Bool) -> PromptDecodingMemory {
        let config = model.config
        let float = MemoryLayout<Float>.size
        let vocab = config.vocabSize
        let promptRowWidth = guessHead?.tokens.count ?? vocab
        let v = promptTokens.virtualTokens
        let draftChainRows = draftRowLimit > 0 && draftCarriesPromptTokens ? promptTokenCount * v : 0
        // Logits floats per pass: the prefill, then each depth's layout with its drafted rows and
        // the prompt chain a draft carries.
        let prefill = vocab + promptTokenCount * v * promptRowWidth
        let steps = (0...promptTokenCount).map { depth -> Int in
            let layout = self.layout(forDepth: depth)
            let nodes = layout.count - layout.promptRows.count + draftRowLimit
            return (bestTokenNodes ? 0 : nodes * vocab) + (layout.promptRows.count + draftChainRows) * promptRowWidth
        }
        let largestPass = max(prefill, steps.max() ?? 0)
        // Cache: plain decoding holds prompt + budget slots; prompt decoding adds the widest pass.
        let context = config.contextLength
        let plainSlots = min(context, promptLength + max(maxTokens, 1))
        let slots = min(context, promptLength + max(maxTokens, 1) + widestPass)
        let slotBytes = config.layerCount * config.kvWidth * 2 * float + MemoryLayout<Int32>.size
        return PromptDecodingMemory(
            promptTokens: promptTokens.count * v * promptTokens.hiddenSize * float,
            guessHead: guessHead?.addedBytes ?? 0,
            treeBuffers: (0...promptTokenCount).map { layout(forDepth: $0).byteCount }.reduce(0, +) + rootOnly.byteCount,
            logits: max(0, largestPass - vocab) * float,
            cache: (slots - plainSlots) * slotBytes, drafter: drafter?.addedBytes ?? 0)
    }
}

extension VerificationLayout {
    /// The element bytes of this layout and its slot buffers: per-row and per-slot tables, the
    /// mask's visibility matrix, the node paths and the retrieve and prompt-slot lists.
    public var byteCount: Int {
        let word = MemoryLayout<Int>.size
        let rowTables = (slotRows.map(\.count).reduce(0, +) + rowSlot.count + rowVirtual.count + positions.count + logitRows.count) * word
        let b = buffers
        let slotTables = (b.positions.count + b.parents.count + b.nodeIndex.count) * word
            + b.source.count * MemoryLayout<TreeBuffers.Source>.stride
        let lists = (b.nodes.map(\.path.count).reduce(0, +) + 2 * b.nodes.count + b.retrievePaths.map(\.count).reduce(0, +)
            + b.promptSlots.map(\.count).reduce(0, +)) * word
        let maskBytes = mask.batchVisibility.count + (mask.cacheSlotLimits?.count ?? 0) * word
        return rowTables + slotTables + lists + maskBytes
    }
}
