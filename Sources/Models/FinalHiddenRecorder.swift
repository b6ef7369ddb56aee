/// An activation hook that keeps the residual stream after the last layer for chosen batch rows
/// (the input of the final norm), and passes every activation on to another hook when given.
/// Model-based drafters (Medusa-style heads) read the final hidden state of the row that chose
/// the next token; `LanguageModel.finalNorm` turns a kept row into that hidden state.
public final class FinalHiddenRecorder: ActivationHook {
    /// The index of the model's last layer.
    public let lastLayer: Int
    /// The hook activations are also given to (nil: none).
    public let next: ActivationHook?
    /// The batch rows to keep in the next forward pass.
    public var rows: [Int] = []
    /// The kept rows after a forward pass, by batch row.
    public private(set) var kept: [Int: [Float]] = [:]

    /// A recorder for a model of `layerCount` layers, forwarding to `next`.
    public init(layerCount: Int, next: ActivationHook? = nil) {
        lastLayer = layerCount - 1
        self.next = next
    }

    /// Forgets the kept rows and keeps `rows` in the next pass.
    public func prepare(rows: [Int]) {
        self.rows = rows
        kept = [:]
    }

    public func wants(layer: Int, tap: ActivationTap) -> Bool {
        (layer == lastLayer && tap == .layerOutput) || (next?.wants(layer: layer, tap: tap) ?? false)
    }

    public func record(layer: Int, tap: ActivationTap, values: UnsafeBufferPointer<Float>, rows count: Int, width: Int) {
        if layer == lastLayer && tap == .layerOutput {
            for row in rows where row < count {
                kept[row] = Array(values[(row * width)..<((row + 1) * width)])
            }
        }
        if let next, next.wants(layer: layer, tap: tap) { next.record(layer: layer, tap: tap, values: values, rows: count, width: width) }
    }
}
