import Foundation
import Models

/// Records activations of chosen layers and taps during forward passes, as the `hook` of
/// `LanguageModel.forward`. The decoding loop sets `currentStep` before each forward and turns
/// `isRecording` off for forwards it does not want recorded; `slots` narrows recording to some
/// rows of the batch.
///
/// `write(to:)` stores, for each (layer, tap) that recorded rows, under `/activations`:
/// `layer_NN/<tap>` Float [rows, width], `layer_NN/<tap>_step` Int32 [rows] (the step of each
/// row) and `layer_NN/<tap>_slot` Int32 [rows] (the row's index in its batch); NN is the layer
/// number with at least two digits and `<tap>` an `ActivationTap` raw value (`layer_output`).
public final class ActivationRecorder: ActivationHook {
    /// The layers recorded.
    public let layers: Set<Int>
    /// The taps recorded in each of those layers.
    public let taps: Set<ActivationTap>
    /// Whether forwards are recorded now.
    public var isRecording = true
    /// The decoding step stored with the rows recorded next.
    public var currentStep = 0
    /// The batch rows recorded (rows the batch does not have are skipped); nil records all.
    public var slots: [Int]?

    private var recorded: [Key: RecordedRows] = [:]

    private struct Key: Hashable {
        let layer: Int
        let tap: ActivationTap
    }

    /// A recorder of `taps` in `layers` (layer indices count from 0).
    public init(layers: [Int], taps: [ActivationTap] = [.layerOutput]) {
        self.layers = Set(layers)
        self.taps = Set(taps)
    }

    public func wants(layer: Int, tap: ActivationTap) -> Bool {
        isRecording && layers.contains(layer) && taps.contains(tap)
    }

    public func record(layer: Int, tap: ActivationTap, values: UnsafeBufferPointer<Float>, rows: Int, width: Int) {
        guard wants(layer: layer, tap: tap), rows > 0, values.count >= rows * width else { return }
        let key = Key(layer: layer, tap: tap)
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
        recorded[Key(layer: layer, tap: tap)]
    }

    /// Forgets everything recorded.
    public func reset() { recorded = [:] }

    /// Writes the recorded rows under `group` (see the type's description); (layer, tap) pairs
    /// without rows are left out.
    public func write(to file: HDF5File, group: String = "/activations") throws {
        try file.createGroup(group)
        let base = group.hasSuffix("/") ? String(group.dropLast()) : group
        let ordered = recorded.sorted { ($0.key.layer, $0.key.tap.rawValue) < ($1.key.layer, $1.key.tap.rawValue) }
        for (key, rows) in ordered {
            let prefix = "\(base)/\(Self.layerName(key.layer))/\(key.tap.rawValue)"
            try rows.write(to: file, values: prefix, steps: prefix + "_step", slots: prefix + "_slot")
        }
    }

    /// `layer_05`, `layer_17`, `layer_123`.
    static func layerName(_ layer: Int) -> String { String(format: "layer_%02d", layer) }
}
