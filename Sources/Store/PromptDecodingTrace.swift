import Decoding
import Foundation
import Models

/// Records a prompt-decoding run into one HDF5 file: run attributes, the per-step telemetry,
/// the batch layout of recorded steps, and (when asked) activations and logits.
///
/// Use it as the `observer` of `PromptDecoder.generate`, then call `write(result:to:)`.
/// Layout (`format` attribute `ppd-trace/1`; every dataset one-dimensional unless noted):
/// - `/` attributes: run description given in `attributes` (model path and sha256, tree JSON,
///   policy, seed, command line, git commit, date...), plus `format`.
/// - `/prompt` Int32: the input ids; `/tokens` Int32: the generated ids.
/// - `/steps/<field>`, one entry per forward pass (entry 0 the prefill): `index`, `input_rows`,
///   `tree_nodes`, `depth`, `accepted`, `emitted`, `draft_rows`, `accepted_drafted` (Int32), `seconds`, `forward_seconds` (Float64);
///   `/steps/tokens` Int32 (all emitted tokens in order) with `/steps/token_offsets` Int64
///   [steps + 1] (step i emitted `tokens[offsets[i]..<offsets[i+1]]`). Attributes on `/steps`:
///   `decode_steps`, `mean_accepted_length`, `decode_tokens_per_second`,
///   `prefill_tokens_per_second`, `stop_reason`.
/// - `/rows/<field>`, one entry per batch row of each recorded forward pass: `step`, `row`,
///   `kind` (0 input token, 1 root, 2 guess, 3 prompt token, 4 a drafter's token), `position_offset` (from the
///   committed length; in the prefill the absolute position), `parent_row` (the row it hangs
///   under: a prompt row under the same virtual row of the previous prompt token; -1 none),
///   `distance` and `rank` (guesses; else -1), `prompt_index` and `virtual` (prompt rows; else -1),
///   `token` (token rows; -1 for prompt rows) and `accepted` (1 for input rows, the root and
///   accepted guesses). A prompt row at absolute position P guesses the token at P + 1; that
///   guess can be scored when the node it hangs under is accepted. Join with `/activations/.../*_step`,
///   `*_slot` and `/logits/step`, `/logits/slot` on (step, row).
/// - `/activations/layer_NN/<tap>` Float [rows, width] with `<tap>_step`, `<tap>_slot`, and
///   `/logits` (top-k `ids` + `values`, or full `values`), as `ActivationRecorder` and
///   `LogitsRecorder` write them, for the recorded forward passes.
public final class PromptDecodingTrace: DecodingObserver {
    /// Forward passes whose activations, logits and rows are recorded (nil: all).
    public let recordedSteps: Set<Int>?
    /// The activation recorder, when layers were asked for.
    public let activations: ActivationRecorder?
    /// The logits recorder, when logits were asked for.
    public let logits: LogitsRecorder?
    private var rows = RowTable()

    /// A trace recording `layers` x `taps` activations and logits in `logitsMode` (nil: none) for
    /// the forward passes in `steps` (nil: every pass).
    public init(
        layers: [Int] = [], taps: [ActivationTap] = [.layerOutput], logitsMode: LogitsRecorder.Mode? = nil,
        steps: Set<Int>? = nil
    ) {
        recordedSteps = steps
        activations = layers.isEmpty ? nil : ActivationRecorder(layers: layers, taps: taps)
        logits = logitsMode.map { LogitsRecorder(mode: $0) }
    }

    /// A trace recording `layers` x `sites` activations (any `InterventionSite` but the attention
    /// weights) and logits in `logitsMode` for the forward passes in `steps` (nil: every pass).
    public init(layers: [Int], sites: [InterventionSite], logitsMode: LogitsRecorder.Mode? = nil, steps: Set<Int>? = nil) throws {
        recordedSteps = steps
        activations = layers.isEmpty ? nil : try ActivationRecorder(layers: layers, sites: sites)
        logits = logitsMode.map { LogitsRecorder(mode: $0) }
    }

    /// Only a trace that records logits reads the nodes' logits.
    public var readsNodeLogits: Bool { logits != nil }

    public func interventions(forStep step: Int) -> [any ActivationIntervention] {
        guard let activations, !activations.sites.isEmpty, records(step) else { return [] }
        activations.currentStep = step
        return [activations]
    }

    private func records(_ step: Int) -> Bool { recordedSteps?.contains(step) ?? true }

    public func activationHook(forStep step: Int) -> ActivationHook? {
        guard let activations, records(step) else { return nil }
        activations.currentStep = step
        return activations
    }

    public func didPrefill(logits output: Logits, prompt: [Int32], promptTokens: Int, virtualTokens: Int) {
        guard records(0) else { return }
        logits?.record(output, step: 0)
        rows.appendPrefill(step: 0, prompt: prompt, promptTokens: promptTokens, virtualTokens: virtualTokens)
    }

    public func didVerify(
        step: Int, logits output: Logits, layout: VerificationLayout, merge: DraftMerge, acceptance: Acceptance
    ) {
        guard records(step) else { return }
        logits?.record(output, step: step)
        rows.append(step: step, layout: layout, merge: merge, acceptance: acceptance)
    }

    /// Writes the trace of `result` to `path` (atomically: a temporary file renamed into place).
    /// `attributes` go on `/`.
    public func write(result: PromptDecodingResult, attributes: [String: AttributeValue], to path: String) throws {
        let file = try HDF5File.create(path: path)
        do {
            try file.setAttribute("format", .string("ppd-trace/1"))
            for (name, value) in attributes.sorted(by: { $0.key < $1.key }) { try file.setAttribute(name, value) }
            try file.writeDataset("/prompt", result.prompt)
            try file.writeDataset("/tokens", result.tokens)
            try writeSteps(result, to: file)
            try rows.write(to: file)
            try activations?.write(to: file)
            try logits?.write(to: file)
            try file.close()
        } catch {
            file.discard()
            throw error
        }
    }

    private func writeSteps(_ result: PromptDecodingResult, to file: HDF5File) throws {
        let steps = result.steps
        try file.createGroup("/steps")
        func ints(_ name: String, _ value: (PromptDecodingStep) -> Int) throws {
            try file.writeDataset("/steps/\(name)", steps.map { Int32(value($0)) })
        }
        try ints("index") { $0.index }
        try ints("input_rows") { $0.inputRows }
        try ints("tree_nodes") { $0.treeNodes }
        try ints("depth") { $0.depth }
        try ints("accepted") { $0.accepted }
        try ints("emitted") { $0.tokens.count }
        try ints("draft_rows") { $0.draftRows }
        try ints("accepted_drafted") { $0.acceptedDrafted }
        try file.writeDataset("/steps/seconds", steps.map(\.seconds))
        try file.writeDataset("/steps/forward_seconds", steps.map(\.forwardSeconds))
        try file.writeDataset("/steps/tokens", steps.flatMap(\.tokens))
        var offsets: [Int64] = [0]
        for step in steps { offsets.append(offsets[offsets.count - 1] + Int64(step.tokens.count)) }
        try file.writeDataset("/steps/token_offsets", offsets)
        try file.setAttribute("decode_steps", .int(Int64(result.decodeSteps)), on: "/steps")
        try file.setAttribute("mean_accepted_length", .double(result.meanAcceptedLength), on: "/steps")
        try file.setAttribute("decode_tokens_per_second", .double(result.decodeTokensPerSecond), on: "/steps")
        try file.setAttribute("prefill_tokens_per_second", .double(result.prefillTokensPerSecond), on: "/steps")
        try file.setAttribute("stop_reason", .string(result.stopReason.rawValue), on: "/steps")
    }
}

/// What each batch row of the recorded forward passes held, as columns.
private struct RowTable {
    var step: [Int32] = []
    var row: [Int32] = []
    var kind: [Int32] = []
    var position: [Int32] = []
    var parent: [Int32] = []
    var distance: [Int32] = []
    var rank: [Int32] = []
    var promptIndex: [Int32] = []
    var virtual: [Int32] = []
    var token: [Int32] = []
    var accepted: [Int32] = []

    enum Kind: Int32 { case input = 0, root, guess, prompt, drafted }

    mutating func add(
        step s: Int, row r: Int, kind k: Kind, position p: Int, parent q: Int?, distance d: Int = -1, rank n: Int = -1,
        promptIndex i: Int = -1, virtual v: Int = -1, token t: Int32 = -1, accepted a: Bool = false
    ) {
        step.append(Int32(s))
        row.append(Int32(r))
        kind.append(k.rawValue)
        position.append(Int32(p))
        parent.append(Int32(q ?? -1))
        distance.append(Int32(d))
        rank.append(Int32(n))
        promptIndex.append(Int32(i))
        virtual.append(Int32(v))
        token.append(t)
        accepted.append(a ? 1 : 0)
    }

    mutating func append(step: Int, layout: VerificationLayout, merge: DraftMerge, acceptance: Acceptance) {
        let buffers = layout.buffers
        let candidates = merge.candidates
        var nodeOfSlot: [Int: Int] = [:]
        for (node, slot) in buffers.nodeIndex.enumerated() { nodeOfSlot[slot] = node }
        let kept = Set([0] + acceptance.path)
        for r in 0..<layout.count {
            let slot = layout.rowSlot[r]
            let parentRow = buffers.parents[slot].map { layout.slotRows[$0][0] }
            switch buffers.source[slot] {
            case .root:
                add(step: step, row: r, kind: .root, position: layout.positions[r], parent: nil, token: candidates.tokens[0], accepted: true)
            case .guess(let distance, let rank):
                let node = nodeOfSlot[slot] ?? 0
                add(
                    step: step, row: r, kind: .guess, position: layout.positions[r], parent: parentRow, distance: distance, rank: rank,
                    token: candidates.tokens[node], accepted: kept.contains(node))
            case .promptToken(let index):
                let v = layout.rowVirtual[r]
                // A prompt row's parent is the same virtual row of the previous prompt slot, or the node.
                let parent = buffers.parents[slot].map { p in buffers.isPromptSlot(p) ? layout.slotRows[p][v] : layout.slotRows[p][0] }
                add(step: step, row: r, kind: .prompt, position: layout.positions[r], parent: parent, promptIndex: index, virtual: v)
            }
        }
        // Drafted rows: distance is the depth below the root; a drafter's tokens have no rank.
        for node in merge.layoutNodes..<candidates.count {
            let position = merge.draftPositions[merge.nodeRows[node] - layout.count]
            add(
                step: step, row: merge.nodeRows[node], kind: .drafted, position: position,
                parent: candidates.parents[node].map { merge.nodeRows[$0] }, distance: position,
                token: candidates.tokens[node], accepted: kept.contains(node))
        }
        // The prompt chain the first draft's last node carries: as a layout's prompt rows.
        for (index, rows) in merge.chainRows.enumerated() {
            for (v, row) in rows.enumerated() {
                let parent = index == 0 ? merge.chainNode.map { merge.nodeRows[$0] } : merge.chainRows[index - 1][v]
                add(step: step, row: row, kind: .prompt, position: merge.chainPositions[index], parent: parent, promptIndex: index, virtual: v)
            }
        }
    }

    mutating func appendPrefill(step: Int, prompt: [Int32], promptTokens: Int, virtualTokens: Int) {
        let inputCount = prompt.count
        for r in 0..<inputCount {
            add(step: step, row: r, kind: .input, position: r, parent: r > 0 ? r - 1 : nil, token: prompt[r], accepted: true)
        }
        for k in 0..<promptTokens {
            for v in 0..<virtualTokens {
                let row = inputCount + k * virtualTokens + v
                let parent = k == 0 ? inputCount - 1 : row - virtualTokens
                add(step: step, row: row, kind: .prompt, position: inputCount + k, parent: parent, promptIndex: k, virtual: v)
            }
        }
    }

    func write(to file: HDF5File) throws {
        try file.createGroup("/rows")
        for (name, column) in [
            ("step", step), ("row", row), ("kind", kind), ("position_offset", position), ("parent_row", parent),
            ("distance", distance), ("rank", rank), ("prompt_index", promptIndex), ("virtual", virtual), ("token", token),
            ("accepted", accepted),
        ] {
            try file.writeDataset("/rows/\(name)", column)
        }
    }
}
