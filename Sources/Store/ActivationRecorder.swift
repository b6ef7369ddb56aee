import Foundation
import Models

/// Records activations of chosen layers and taps during forward passes, as the `hook` of
/// `LanguageModel.forward` (the residual taps) and as a read-only intervention (any other
/// `InterventionSite` but the attention weights, whose width varies). The decoding loop sets
/// `currentStep` before each forward and turns `isRecording` off for forwards it does not want
/// recorded; `slots` narrows recording to some rows of the batch.
///
/// `write(to:)` stores, for each (layer, tap) that recorded rows, under `/activations`:
/// `layer_NN/<tap>` Float [rows, width], `layer_NN/<tap>_step` Int32 [rows] (the step of each
/// row) and `layer_NN/<tap>_slot` Int32 [rows] (the row's index in its batch); NN is the layer
/// number with at least two digits and `<tap>` an `ActivationTap` or `InterventionSite` raw value
/// (`layer_output`, `query`).
public final class ActivationRecorder: ActivationHook, ActivationIntervention {
    /// The layers recorded.
    public let layers: Set<Int>
    /// The taps recorded in each of those layers.
    public let taps: Set<ActivationTap>
    /// The other sites recorded in each of those layers (through the intervention interface).
    public let sites: Set<InterventionSite>
    /// Whether forwards are recorded now.
    public var isRecording = true
    /// The decoding step stored with the rows recorded next.
    public var currentStep = 0
    /// The batch rows recorded (rows the batch does not have are skipped); nil records all.
    public var slots: [Int]?

    private var recorded: [Key: RecordedRows] = [:]

    private struct Key: Hashable {
        let layer: Int
        /// The tap's or site's raw value.
        let name: String
    }

    /// A recorder of `taps` in `layers` (layer indices count from 0).
    public init(layers: [Int], taps: [ActivationTap] = [.layerOutput]) {
        self.layers = Set(layers)
        self.taps = Set(taps)
        sites = []
    }

    /// A recorder of any `sites` in `layers`: the residual ones as the taps of the same name.
    /// Attention weights are refused (their width changes with every step).
    public init(layers: [Int], sites: [InterventionSite]) throws {
        if sites.contains(.attentionWeights) {
            throw StoreError(path: "", object: nil, reason: "attention_weights cannot be recorded in a trace: their width changes with every step")
        }
        self.layers = Set(layers)
        taps = Set(sites.compactMap { ActivationTap(rawValue: $0.rawValue) })
        self.sites = Set(sites.filter { ActivationTap(rawValue: $0.rawValue) == nil })
    }

    public var writes: Bool { false }

    public func wants(layer: Int, site: InterventionSite) -> Bool {
        isRecording && layers.contains(layer) && sites.contains(site)
    }

    public func intervene(_ block: ActivationBlock) throws {
        guard wants(layer: block.layer, site: block.site) else { return }
        append(layer: block.layer, name: block.site.rawValue, values: UnsafeBufferPointer(block.values), rows: block.rows, width: block.width)
    }

    public func wants(layer: Int, tap: ActivationTap) -> Bool {
        isRecording && layers.contains(layer) && taps.contains(tap)
    }

    public func record(layer: Int, tap: ActivationTap, values: UnsafeBufferPointer<Float>, rows: Int, width: Int) {
        guard wants(layer: layer, tap: tap) else { return }
        append(layer: layer, name: tap.rawValue, values: values, rows: rows, width: width)
    }

    private func append(layer: Int, name: String, values: UnsafeBufferPointer<Float>, rows: Int, width: Int) {
        guard rows > 0, values.count >= rows * width else { return }
        let key = Key(layer: layer, name: name)
        var rowsSoFar = recorded[key] ?? RecordedRows()
        recorded[key] = nil  // keep the arrays uniquely referenced while appending
        for slot in slots ?? Array(0..<rows) where slot >= 0 && slot < rows {
            let row = UnsafeBufferPointer(rebasing: values[slot * width..<(slot + 1) * width])
            rowsSoFar.append(row, step: currentStep, slot: slot)
        }
        recorded[key] = rowsSoFar
    }

    /// The rows recorded so far for `layer` and `tap`, or nil when there are none.
    public func rows(layer: Int, tap: ActivationTap) -> RecordedRows? {
        recorded[Key(layer: layer, name: tap.rawValue)]
    }

    /// The rows recorded so far for `layer` and `site`, or nil when there are none.
    public func rows(layer: Int, site: InterventionSite) -> RecordedRows? {
        recorded[Key(layer: layer, name: site.rawValue)]
    }

    /// Forgets everything recorded.
    public func reset() { recorded = [:] }

    /// Writes the recorded rows under `group` (see the type's description); (layer, tap) pairs
    /// without rows are left out.
    public func write(to file: HDF5File, group: String = "/activations") throws {
        try file.createGroup(group)
        let base = group.hasSuffix("/") ? String(group.dropLast()) : group
        let ordered = recorded.sorted { ($0.key.layer, $0.key.name) < ($1.key.layer, $1.key.name) }
        for (key, rows) in ordered {
            let prefix = "\(base)/\(Self.layerName(key.layer))/\(key.name)"
            try rows.write(to: file, values: prefix, steps: prefix + "_step", slots: prefix + "_slot")
        }
    }

    /// `layer_05`, `layer_17`, `layer_123`.
    static func layerName(_ layer: Int) -> String { String(format: "layer_%02d", layer) }
}
