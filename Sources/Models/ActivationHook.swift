/// Named points inside a decoder layer where activations can be observed.
public enum ActivationTap: String, Sendable, CaseIterable {
    /// The layer's input (the residual stream before the layer).
    case layerInput = "layer_input"
    /// Attention block output, before it is added to the residual stream.
    case attentionOutput = "attention_output"
    /// Feed-forward block output, before it is added to the residual stream.
    case ffnOutput = "ffn_output"
    /// The residual stream after the layer.
    case layerOutput = "layer_output"
}

/// Receives activations during a forward pass. `wants` is asked first so that nothing is copied
/// for taps nobody records.
public protocol ActivationHook: AnyObject {
    /// Whether `record` should be called for this layer and tap.
    func wants(layer: Int, tap: ActivationTap) -> Bool
    /// `values` holds `rows` batch rows of `width` floats each; valid only during the call.
    func record(layer: Int, tap: ActivationTap, values: UnsafeBufferPointer<Float>, rows: Int, width: Int)
}
