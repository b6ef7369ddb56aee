import Foundation
import Kernels
import Models

/// Parallel prompt decoding (the paper's `ppd_generate`): trained prompt tokens appended to the
/// input guess tokens at distances 1...N; a candidate tree of those guesses, with fresh prompt
/// tokens hung under its nodes, is verified in one forward pass under a tree mask; an
/// `AcceptancePolicy` keeps a path and picks the next token; the KV cache keeps only that path.
///
/// One step, as data flows (ARCHITECTURE.md, "One PPD step"):
/// 1. the tree for the current depth (distances with guesses) lays out root, guesses and prompt
///    rows (`VerificationLayout`);
/// 2. one forward over them at positions `length + depth of slot`;
/// 3. the policy walks the candidate tree with the logits of its nodes;
/// 4. the cache keeps the root and the accepted nodes, moved to contiguous slots;
/// 5. the prompt rows under the last accepted node give the next guesses (V virtual rows of a
///    prompt token are averaged) and the next depth; the policy's next token is the next root.
///
/// With `GreedyAcceptance` the output equals autoregressive greedy decoding token for token: the
/// forward is batch invariant, so every kept token saw exactly the keys and values a decode step
/// would have seen.
///
/// A decoder holds the layouts of every depth; it is not safe to run two generations at once.
public final class PromptDecoder {
    /// The base model.
    public let model: LanguageModel
    /// The prompt tokens (the first `tree.promptTokens` of them are used).
    public let promptTokens: PromptTokens
    /// The trees per depth.
    public let tree: DynamicTree
    /// Guesses per distance: one more than the largest rank in any tree.
    public let topK: Int
    /// Number of prompt tokens used: the tree's.
    public var promptTokenCount: Int { tree.promptTokens }
    /// When set, prompt-token rows take their logits from this head (their guesses are then
    /// ranked among its tokens only). The rows that decide tokens keep the full output layer, so
    /// the output does not change; only the guesses, and the cost of a step, do.
    public let guessHead: GuessHead?
    /// When set, its continuations join every step's candidate tree (`DraftMerge`), at most
    /// `draftRowLimit` rows of them per step.
    public let drafter: (any TokenDrafter)?
    /// Most rows a step gives the drafter's tokens (those not already in the tree).
    public let draftRowLimit: Int
    /// When set with a drafter, each step with a draft chooses between verifying it with the
    /// tree and verifying it alone; without it drafts always join the tree.
    public let draftSizing: DraftSizing?
    /// Whether the first draft's last new node carries the prompt tokens (`DraftMerge.PromptChain`),
    /// so that a step after an accepted draft has the prompt tokens' guesses. Off by default: on
    /// the Zen 4 VM it measured 0.94-0.99x of the merge without it (ARCHITECTURE.md, "Drafters").
    public let draftCarriesPromptTokens: Bool

    /// Layout per depth 0...promptTokenCount (depth 0: root and its prompt chain only).
    private let layouts: [VerificationLayout]
    /// The root alone, for the last steps when a tree no longer fits the context.
    let rootOnly: VerificationLayout

    /// A decoder for `model` with `promptTokens` and `tree`. Throws when the prompt tokens do not
    /// fit the model (hidden size, or `modelSHA256` when both hashes are known), when the tree
    /// needs more prompt tokens than there are, or when a tree's ranks reach past the vocabulary.
    /// A `drafter` adds up to `draftRowLimit` rows of its continuations to every step; with
    /// `draftSizing` a step may verify them without the tree; with `draftCarriesPromptTokens` the
    /// first draft's last node carries the prompt tokens' rows.
    public init(
        model: LanguageModel, promptTokens: PromptTokens, tree: DynamicTree,
        rule: TreeBuffers.PromptSlotRule = .exact, modelSHA256: String? = nil, guessHead: GuessHead? = nil,
        drafter: (any TokenDrafter)? = nil, draftRowLimit: Int = 0, draftSizing: DraftSizing? = nil,
        draftCarriesPromptTokens: Bool = false
    ) throws {
        guard draftRowLimit >= 0 else { throw ModelError("the draft row limit is \(draftRowLimit): it must be 0 or more") }
        try promptTokens.validate(for: model, modelSHA256: modelSHA256)
        guard tree.promptTokens <= promptTokens.count else {
            throw TreeError(.moreDistancesThanPromptTokens(tree: tree.promptTokens, promptTokens: promptTokens.count))
        }
        let maxRank = tree.trees.values.flatMap { $0.nodes.flatMap(\.path) }.max() ?? 0
        let topK = maxRank + 1
        guard topK <= model.config.vocabSize else {
            throw TreeError(.rankOutOfRange(path: [maxRank], topK: model.config.vocabSize))
        }
        let n = tree.promptTokens
        var layouts: [VerificationLayout] = []
        for depth in 0...n {
            let nodes = tree.tree(forDepth: depth) ?? TokenTree.empty(promptTokens: n)
            let buffers = try TreeBuffers(tree: nodes, topK: topK, promptTokens: n, rule: rule)
            layouts.append(
                try VerificationLayout(buffers: buffers, virtualTokens: promptTokens.virtualTokens, attention: promptTokens.attention))
        }
        let root = try TreeBuffers(tree: TokenTree.empty(promptTokens: 0), topK: topK, promptTokens: 0)
        self.model = model
        self.promptTokens = promptTokens
        self.tree = tree
        self.topK = topK
        self.layouts = layouts
        self.rootOnly = try VerificationLayout(buffers: root, virtualTokens: 1, attention: promptTokens.attention)
        self.guessHead = guessHead
        self.drafter = drafter
        self.draftRowLimit = drafter == nil ? 0 : draftRowLimit
        self.draftSizing = draftSizing
        self.draftCarriesPromptTokens = draftCarriesPromptTokens
    }

    /// The prompt chain a draft carries (nil without prompt tokens in the tree or when off).
    private var draftPromptChain: DraftMerge.PromptChain? {
        guard draftCarriesPromptTokens, drafter != nil, tree.promptTokens > 0 else { return nil }
        return DraftMerge.PromptChain(
            promptTokens: tree.promptTokens, virtualTokens: promptTokens.virtualTokens, attention: promptTokens.attention)
    }

    /// The guess-head request for `rows` (nil without a head or rows).
    private func guessRows(_ rows: [Int]) -> GuessRows? {
        guard let guessHead, !rows.isEmpty else { return nil }
        return GuessRows(head: guessHead, rows: rows)
    }

    /// The batch layout used when `depth` distances have guesses.
    public func layout(forDepth depth: Int) -> VerificationLayout { layouts[min(depth, layouts.count - 1)] }

    /// Whether a generation with `policy` and `observer` asks the model for the tree nodes' best
    /// tokens only: the policy decides by them and the observer does not read node logits.
    static func nodesNeedBestTokenOnly(policy: some AcceptancePolicy, observer: DecodingObserver?) -> Bool {
        policy.decidesByBestToken && !(observer?.readsNodeLogits ?? false)
    }

    /// Rows of the widest forward pass (the prefill's prompt rows, or a layout and its drafted
    /// rows): the cache slots a generation needs beyond the prompt and the budget.
    var widestPass: Int {
        max(layouts.map(\.count).max() ?? 1, promptTokenCount * promptTokens.virtualTokens) + draftRowLimit
            + (draftPromptChain?.rows ?? 0)
    }

    /// Generates from `prompt` (token ids, BOS included if wanted) with `policy`. `onStep` is
    /// called after the prefill (step 0, one token) and after every verification step with the
    /// tokens it emitted; returning false stops generation. `observer` can record activations and
    /// logits of chosen forward passes. `interventions` act in every forward pass (prefill and
    /// steps), told each row's role (`VerificationLayout.roles`; drafted rows follow the layout's).
    public func generate(
        prompt: [Int32], options: GenerationOptions, policy: some AcceptancePolicy,
        observer: DecodingObserver? = nil, interventions: [any ActivationIntervention] = [],
        onStep: (PromptDecodingStep) -> Bool = { _ in true }
    ) throws -> PromptDecodingResult {
        var policy = policy
        var drafter = drafter
        var statistics = DraftSizing.Statistics()
        let context = model.config.contextLength
        let n = promptTokenCount
        let v = promptTokens.virtualTokens
        guard !prompt.isEmpty else { throw ModelError("the prompt is empty: nothing to condition on") }
        guard prompt.count + n * v <= context else {
            throw ModelError(
                "the prompt has \(prompt.count) tokens, which with \(n * v) prompt-token rows does not fit the model's context of \(context) tokens"
            )
        }
        let cache = model.makeCache(capacity: min(context, prompt.count + max(options.maxTokens, 1) + widestPass))

        var result = PromptDecodingResult(
            prompt: prompt, tokens: [], topLogits: [], stopReason: .maxTokens, steps: [], policy: policy.name)
        /// The caller's interventions, then the observer's for forward pass `step`.
        func passInterventions(_ step: Int) -> [any ActivationIntervention] {
            interventions + (observer?.interventions(forStep: step) ?? [])
        }

        /// Appends `emitted` (cut at a stop token or the budget), records the step, and says
        /// whether generation goes on.
        func emit(_ emitted: [Int32], _ step: PromptDecodingStep) -> Bool {
            var step = step
            var kept: [Int32] = []
            var reason: StopReason?
            for token in emitted {
                if result.tokens.count + kept.count >= options.maxTokens {
                    reason = .maxTokens
                    break
                }
                kept.append(token)
                if options.stopTokens.contains(token) {
                    reason = .stopToken
                    break
                }
            }
            if reason == nil && result.tokens.count + kept.count >= options.maxTokens { reason = .maxTokens }
            step.tokens = kept
            result.tokens += kept
            result.steps.append(step)
            if !onStep(step) { reason = .cancelled }
            if let reason { result.stopReason = reason }
            return reason == nil
        }

        // Prefill: the prompt, then the chain of prompt tokens under its last token.
        var clock = ContinuousClock.now
        let length = prompt.count
        var embeddings = try model.embed(prompt)
        var positions = (0..<Int32(length)).map { $0 }
        for k in 0..<n {
            for virtual in 0..<v {
                embeddings += try promptTokens.embedding(promptToken: k, virtual: virtual)
                positions.append(Int32(length + k))
            }
        }
        let prefillMask = try VerificationLayout.prefillMask(
            inputCount: length, promptTokens: n, virtualTokens: v, attention: promptTokens.attention)
        let prefillInterventions = passInterventions(0)
        let forwardClock = ContinuousClock.now
        let prefillHook = hook(forStep: 0, keeping: [length - 1], observer: observer)
        let prefillLogits = try model.forward(
            embeddings: embeddings, positions: positions, mask: prefillMask, cache: cache,
            logitRows: [length - 1] + Array(length..<length + n * v), guesses: guessRows(Array(length..<length + n * v)),
            bestTokenRows: [], hook: prefillHook,
            interventions: prefillInterventions.isEmpty
                ? nil
                : Interventions(
                    prefillInterventions, step: 0,
                    roles: Array(repeating: .input, count: length)
                        + (0..<n).flatMap { k in (0..<v).map { RowRole.promptToken(index: k, virtual: $0) } }))
        let prefillForward = forwardClock.secondsSince()
        observer?.didPrefill(logits: prefillLogits, prompt: prompt, promptTokens: n, virtualTokens: v)
        try cache.truncate(to: length)
        var hiddenState = keptHiddenState(prefillHook, row: length - 1)
        result.topLogits = prefillLogits.row(0).topK(5).map { (token: Int32($0.index), logit: $0.value) }
        var root = policy.firstToken(prefillLogits.row(0))
        var guesses = (0..<n).map { k in guessTokens(prefillLogits, rows: (0..<v).map { 1 + k * v + $0 }) }
        let prefillStep = PromptDecodingStep(
            index: 0, inputRows: positions.count, treeNodes: 0, depth: 0, accepted: 0, tokens: [],
            seconds: clock.secondsSince(), forwardSeconds: prefillForward)
        guard options.maxTokens > 0 else {
            result.steps.append(prefillStep)
            return result
        }
        guard emit([root], prefillStep) else { return result }

        // Verification steps. A greedy policy reads only the nodes' best tokens: unless the
        // observer reads their logits, node rows then keep nothing else (a full row is 1 MiB).
        let nodesNeedBestTokenOnly = Self.nodesNeedBestTokenOnly(policy: policy, observer: observer)
        while true {
            clock = ContinuousClock.now
            let start = cache.count
            var depth = guesses.count
            var layout = layouts[depth]
            if start + layout.count > cache.capacity {
                guard start + 1 <= cache.capacity else {
                    result.stopReason = .contextFull
                    return result
                }
                layout = rootOnly
                guesses = []
                depth = 0
            }
            var treeCandidates = try CandidateTree(buffers: layout.buffers, root: root, guesses: guesses)
            let drafts = try drafter?.draft(after: prompt + result.tokens, hiddenState: hiddenState, limit: draftRowLimit) ?? []
            let room = cache.capacity - start - layout.count
            let chain = draftPromptChain.flatMap { room > $0.rows ? $0 : nil }
            let rowLimit = min(draftRowLimit, room - (chain?.rows ?? 0))
            if let draftSizing, let first = drafts.first {
                if !keepsTree(
                    draftSizing, layout: layout, candidates: treeCandidates, draft: first, chainRows: chain?.rows ?? 0,
                    statistics: statistics)
                {
                    (layout, depth, guesses) = (rootOnly, 0, [])
                    treeCandidates = try CandidateTree(buffers: rootOnly.buffers, root: root, guesses: [])
                }
            }
            let merge = try DraftMerge(
                layout: layout, candidates: treeCandidates, drafts: drafts, rowLimit: rowLimit, promptChain: chain)
            let buffers = layout.buffers
            let candidates = merge.candidates
            var (stepEmbeddings, stepPositions) = try assemble(layout, candidates: treeCandidates, start: start)
            if merge.draftRows > 0 {
                stepEmbeddings += try model.embed(merge.draftTokens)
            }
            for (k, tokenRows) in merge.chainRows.enumerated() {
                for v in tokenRows.indices { stepEmbeddings += try promptTokens.embedding(promptToken: k, virtual: v) }
            }
            stepPositions += merge.appendedPositions.map { Int32(start + $0) }
            let rows = layout.count + merge.draftRows + merge.chainRowCount

            let stepInterventions = passInterventions(result.steps.count)
            let stepHook = hook(forStep: result.steps.count, keeping: merge.nodeRows, observer: observer)
            let forwardClock = ContinuousClock.now
            let logits = try model.forward(
                embeddings: stepEmbeddings, positions: stepPositions, mask: merge.mask, cache: cache,
                logitRows: Array(0..<rows), guesses: guessRows(layout.promptRows + merge.chainRows.flatMap { $0 }),
                bestTokenRows: nodesNeedBestTokenOnly ? merge.nodeRows : [],
                hook: stepHook,
                interventions: stepInterventions.isEmpty
                    ? nil
                    : Interventions(
                        stepInterventions, step: result.steps.count,
                        roles: layout.roles + merge.appendedRoles))
            let forwardSeconds = forwardClock.secondsSince()

            // Logits rows are all batch rows in order, so a row's logits are at its own index.
            let nodeRow = merge.nodeRows
            let acceptance = nodesNeedBestTokenOnly
                ? GreedyAcceptance.walk(candidates) { logits.bestToken(ofRow: nodeRow[$0]).token }
                : policy.accept(candidates) { logits.row(nodeRow[$0]) }
            observer?.didVerify(
                step: result.steps.count, logits: logits, layout: layout, merge: merge, acceptance: acceptance)
            let keptRows = ([0] + acceptance.path).map { start + nodeRow[$0] }
            try cache.keep(from: start, slots: keptRows)

            let pathTokens = acceptance.path.map { candidates.tokens[$0] }
            if layout.treeDepth > 0 {
                statistics.record(tree: acceptance.path.prefix { $0 < merge.layoutNodes }.count, of: layout.treeDepth)
            }
            if let draft = drafts.first {
                let verified = merge.verifiedLength(of: draft)
                let accepted = zip(draft.prefix(verified), pathTokens).prefix { $0 == $1 }.count
                statistics.record(draft: accepted, of: verified)
            }

            // A drafted node carries no prompt tokens unless it holds the draft's prompt chain:
            // after any other, the next step has no guesses.
            let last = acceptance.path.last ?? 0
            hiddenState = keptHiddenState(stepHook, row: nodeRow[last])
            if last < merge.layoutNodes {
                guesses = buffers.promptSlots[last].map { guessTokens(logits, rows: layout.slotRows[$0]) }
            } else {
                guesses = last == merge.chainNode ? merge.chainRows.map { guessTokens(logits, rows: $0) } : []
            }
            let emitted = pathTokens + [acceptance.next]
            root = acceptance.next
            let step = PromptDecodingStep(
                index: result.steps.count, inputRows: rows, treeNodes: candidates.count - 1,
                depth: depth, accepted: acceptance.path.count, tokens: [],
                seconds: clock.secondsSince(), forwardSeconds: forwardSeconds,
                draftRows: merge.draftRows, acceptedDrafted: acceptance.path.filter { $0 >= merge.layoutNodes }.count)
            guard emit(emitted, step) else { return result }
        }
    }

    /// The hook of forward pass `step`: the observer's, wrapped in a recorder of the final
    /// residual rows `rows` when the drafter reads hidden states.
    private func hook(forStep step: Int, keeping rows: [Int], observer: DecodingObserver?) -> ActivationHook? {
        let observed = observer?.activationHook(forStep: step)
        guard drafter?.readsHiddenState == true else { return observed }
        let recorder = FinalHiddenRecorder(layerCount: model.config.layerCount, next: observed)
        recorder.prepare(rows: rows)
        return recorder
    }

    /// The final hidden state (after the final norm) of batch row `row`, when `hook` kept it.
    private func keptHiddenState(_ hook: ActivationHook?, row: Int) -> [Float]? {
        guard let recorder = hook as? FinalHiddenRecorder, let residual = recorder.kept[row] else { return nil }
        return model.finalNorm(residual, rows: 1)
    }

    /// The draft sizing's choice for a step with `layout` and `draft`: whether the tree joins. A
    /// layout without guesses (the root and its prompt chain) is priced as the full tree it leads
    /// to: its prompt rows pay off in the next step, so its value is the tree's steady state.
    /// The draft's prompt chain (`chainRows` rows) joins either choice.
    private func keepsTree(
        _ sizing: DraftSizing, layout: VerificationLayout, candidates: CandidateTree, draft: [Int32], chainRows: Int,
        statistics: DraftSizing.Statistics
    ) -> Bool {
        let steady = layout.treeDepth == 0 && layout.count > 1 ? layouts[layouts.count - 1] : layout
        let guessRows = guessHead == nil ? 0 : steady.promptRows.count
        let shared = candidates.matchedLength(of: draft)
        return sizing.keepsTree(
            exactRows: steady.count - guessRows, guessRows: guessRows, depth: steady.treeDepth, shared: shared,
            draftLength: draft.count, statistics: statistics,
            chainExactRows: guessHead == nil ? chainRows : 0, chainGuessRows: guessHead == nil ? 0 : chainRows)
    }

    /// The top-k guesses of one prompt token from the mean of its virtual rows' logits (the rows
    /// are batch rows and, because every row's logits are computed, also indices into `logits`;
    /// a token's rows are all guess rows or all full rows, so they have one width).
    private func guessTokens(_ logits: Logits, rows: [Int]) -> [Int32] {
        if rows.count == 1 { return logits.topTokens(topK, row: rows[0]).map(\.token) }
        let width = logits.width(ofRow: rows[0])
        var mean = [Float](repeating: 0, count: width)
        for row in rows {
            for (i, value) in logits.row(row).enumerated() { mean[i] += value }
        }
        let scale = 1 / Float(rows.count)
        for i in 0..<width { mean[i] *= scale }
        let tokens = logits.isGuessRow[rows[0]] ? logits.guessHead?.tokens : nil
        return Logits.topTokens(topK, of: mean[...], tokens: tokens, vocabSize: logits.vocabSize).map(\.token)
    }

    /// Input embeddings and absolute positions of one verification batch.
    private func assemble(_ layout: VerificationLayout, candidates: CandidateTree, start: Int) throws -> ([Float], [Int32]) {
        let buffers = layout.buffers
        let slotTokens = buffers.nodeIndex.enumerated().reduce(into: [Int: Int32]()) { $0[$1.element] = candidates.tokens[$1.offset] }
        let tokenSlots = (0..<buffers.count).filter { !buffers.isPromptSlot($0) }
        let tokenEmbeddings = try model.embed(tokenSlots.map { slotTokens[$0] ?? candidates.tokens[0] })
        let hidden = model.config.hiddenSize
        var embeddings: [Float] = []
        embeddings.reserveCapacity(layout.count * hidden)
        var nextToken = 0
        for row in 0..<layout.count {
            let slot = layout.rowSlot[row]
            if case .promptToken(let index) = buffers.source[slot] {
                embeddings += try promptTokens.embedding(promptToken: index, virtual: layout.rowVirtual[row])
            } else {
                embeddings += tokenEmbeddings[nextToken * hidden..<(nextToken + 1) * hidden]
                nextToken += 1
            }
        }
        let positions = layout.positions.map { Int32(start + $0) }
        return (embeddings, positions)
    }
}
