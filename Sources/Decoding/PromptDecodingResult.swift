import Models

/// One forward pass of prompt decoding and what it produced. Step 0 is the prefill.
public struct PromptDecodingStep: Sendable, Equatable {
    /// 0 for the prefill, then 1, 2, ... per verification step.
    public var index: Int
    /// Batch rows of the forward pass (prompt rows count once per virtual token).
    public var inputRows: Int
    /// Guess nodes verified (0 for the prefill and for steps without guesses).
    public var treeNodes: Int
    /// Distances that had guesses (the depth key of the tree used; 0 for the prefill).
    public var depth: Int
    /// Guesses accepted (0 for the prefill).
    public var accepted: Int
    /// Tokens emitted by this step, in order: the accepted guesses, then the next token. Fewer
    /// when a stop token or the token budget cut the step short.
    public var tokens: [Int32]
    /// Wall time of the step: input assembly, forward pass, acceptance and cache compaction.
    public var seconds: Double
    /// Wall time of the forward pass alone.
    public var forwardSeconds: Double
    /// Rows given to a drafter's tokens (`PromptDecoder.drafter`; included in `inputRows` and,
    /// as nodes, in `treeNodes`).
    public var draftRows: Int
    /// Accepted guesses that were a drafter's tokens (included in `accepted`).
    public var acceptedDrafted: Int

    /// A step record.
    public init(
        index: Int, inputRows: Int, treeNodes: Int, depth: Int, accepted: Int, tokens: [Int32], seconds: Double,
        forwardSeconds: Double, draftRows: Int = 0, acceptedDrafted: Int = 0
    ) {
        self.index = index
        self.inputRows = inputRows
        self.treeNodes = treeNodes
        self.depth = depth
        self.accepted = accepted
        self.tokens = tokens
        self.seconds = seconds
        self.forwardSeconds = forwardSeconds
        self.draftRows = draftRows
        self.acceptedDrafted = acceptedDrafted
    }
}

/// What a prompt-decoding generation produced, step by step, with its totals.
public struct PromptDecodingResult: Sendable {
    /// The input token ids.
    public var prompt: [Int32]
    /// Generated token ids (including a final stop token, if one was produced).
    public var tokens: [Int32]
    /// The 5 largest logits at the last prompt position: (token, logit).
    public var topLogits: [(token: Int32, logit: Float)]
    /// Why generation stopped.
    public var stopReason: StopReason
    /// Every forward pass: the prefill (index 0), then one per verification step.
    public var steps: [PromptDecodingStep]
    /// The acceptance policy's name.
    public var policy: String

    /// Wall time of the prefill.
    public var prefillSeconds: Double { steps.first?.seconds ?? 0 }
    /// Wall time of all verification steps.
    public var decodeSeconds: Double { steps.dropFirst().reduce(0) { $0 + $1.seconds } }
    /// Number of verification steps (forward passes after the prefill).
    public var decodeSteps: Int { max(steps.count - 1, 0) }
    /// Tokens emitted by verification steps (all but the prefill's token).
    public var decodeTokens: Int { steps.dropFirst().reduce(0) { $0 + $1.tokens.count } }
    /// Mean tokens emitted per verification step, tau (accepted guesses + 1); 0 without steps.
    public var meanAcceptedLength: Double { decodeSteps > 0 ? Double(decodeTokens) / Double(decodeSteps) : 0 }
    /// Prompt tokens per second of the prefill.
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(prompt.count) / prefillSeconds : 0 }
    /// Tokens per second after the prefill: the decoding speed, comparable to autoregressive
    /// `decodeTokensPerSecond` (which likewise counts the tokens after the first).
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0 }
}

/// Watches a prompt-decoding run from inside: gives an activation hook for chosen forward passes
/// and sees every pass's logits. The HDF5 trace recorder in `Store` is one.
public protocol DecodingObserver: AnyObject {
    /// The hook for forward pass `step` (0 = prefill), or nil to record nothing.
    func activationHook(forStep step: Int) -> ActivationHook?
    /// The prefill's logits: `logits.rows` are the last input row (`prompt.count - 1`) and then the
    /// prompt rows, prompt token k's `virtualTokens` rows after prompt token k - 1's.
    func didPrefill(logits: Logits, prompt: [Int32], promptTokens: Int, virtualTokens: Int)
    /// Verification step `step` after acceptance: its logits (every batch row in order: the rows
    /// of `layout`, then the drafted rows of `merge`), its candidate tree (`merge.candidates`;
    /// node i sits in batch row `merge.nodeRows[i]`; nodes from `merge.layoutNodes` on were drafted)
    /// and what the policy accepted.
    func didVerify(step: Int, logits: Logits, layout: VerificationLayout, merge: DraftMerge, acceptance: Acceptance)
    /// Read-only interventions for forward pass `step` (sites the activation hook does not see).
    func interventions(forStep step: Int) -> [any ActivationIntervention]
    /// Whether the observer reads the values of the tree nodes' logits in `didVerify` (true by
    /// default). When false and the policy decides by best tokens, node rows hold only their best
    /// token (`Logits.isBestTokenRow`), which saves a full-vocabulary row per node.
    var readsNodeLogits: Bool { get }
}

extension DecodingObserver {
    public func interventions(forStep step: Int) -> [any ActivationIntervention] { [] }
    public var readsNodeLogits: Bool { true }
}
