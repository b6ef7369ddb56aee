/// Points inside a decoder layer where an intervention can read and write activations.
public enum InterventionSite: String, Sendable, CaseIterable {
    /// The residual stream entering the layer (rows x hidden).
    case layerInput = "layer_input"
    /// Queries after their norm and RoPE (rows x heads*headDim; per-head views).
    case query
    /// Keys after their norm and RoPE, before the cache stores them (rows x kvHeads*headDim).
    case key
    /// Values, before the cache stores them (rows x kvHeads*headDim).
    case value
    /// Attention weights, read only: per row and head the softmax over every cache slot and
    /// batch row (rows x heads*slots; slots the row may not see are 0).
    case attentionWeights = "attention_weights"
    /// Each head's attention output before the output projection (rows x heads*headDim).
    case headOutput = "head_output"
    /// The attention block's output (after its post-norm, where the model has one), before the
    /// residual add (rows x hidden).
    case attentionOutput = "attention_output"
    /// The feed-forward hidden activation, act(gate) * up (rows x ffn).
    case ffnHidden = "ffn_hidden"
    /// The feed-forward block's output, before the residual add (rows x hidden).
    case ffnOutput = "ffn_output"
    /// The residual stream leaving the layer (rows x hidden).
    case layerOutput = "layer_output"

    /// Sites on the residual stream, where adding a constant keeps a training tape's backward
    /// pass exact.
    public var isResidual: Bool { [.layerInput, .attentionOutput, .ffnOutput, .layerOutput].contains(self) }

    /// Whether an intervention may write here (attention weights are computed for reading only).
    public var isWritable: Bool { self != .attentionWeights }
}

/// What a batch row of a forward pass holds.
public enum RowRole: Sendable, Equatable, Hashable {
    /// A token of the input (a prompt's prefill, or a row of a plain forward pass).
    case input
    /// The last accepted token: the row that decides the next token.
    case root
    /// A guess of the prompt tokens at `distance` (1-based) with top-k `rank` (0-based).
    case guess(distance: Int, rank: Int)
    /// A token drafted by a drafter (prompt lookup) at `distance` below the root.
    case drafted(distance: Int)
    /// Virtual token `virtual` of prompt token `index` (0-based).
    case promptToken(index: Int, virtual: Int)

    /// Whether the row is a prompt token's (its logits only give guesses).
    public var isPromptToken: Bool {
        if case .promptToken = self { return true }
        return false
    }
}

/// One site's activations in one forward pass, handed to an intervention. `values` is the
/// live buffer (`rows` x `width`, row-major): what the intervention writes is what the model
/// computes on with. Valid only during the call.
public struct ActivationBlock {
    /// The forward pass (0 for a prefill; then one per decode or verification step).
    public let step: Int
    public let layer: Int
    public let site: InterventionSite
    public let rows: Int
    public let width: Int
    /// Heads in a row (1 for sites that are not per head).
    public let heads: Int
    /// Floats per head in a row (`width / heads`).
    public let headWidth: Int
    /// Each row's role.
    public let roles: [RowRole]
    /// Each row's position in the sequence.
    public let positions: [Int32]
    public let values: UnsafeMutableBufferPointer<Float>

    /// Row `row`'s values.
    public func row(_ row: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: values[row * width..<(row + 1) * width])
    }

    /// Head `head`'s values in row `row`.
    public func head(_ head: Int, row: Int) -> UnsafeMutableBufferPointer<Float> {
        let start = row * width + head * headWidth
        return UnsafeMutableBufferPointer(rebasing: values[start..<start + headWidth])
    }
}

/// Reads, and may change, activations during a forward pass. `wants` is asked per layer and
/// site before anything is built, so sites nobody wants cost nothing.
public protocol ActivationIntervention: AnyObject {
    /// Whether `intervene` should be called for this layer and site.
    func wants(layer: Int, site: InterventionSite) -> Bool
    /// Whether this intervention may change values (false: it only reads).
    var writes: Bool { get }
    /// Whether what it writes is `value + constant` (the backward pass of a training tape stays
    /// exact for such a change on the residual stream).
    var isAdditive: Bool { get }
    /// Reads or changes `block`; a thrown error ends the forward pass.
    func intervene(_ block: ActivationBlock) throws
}

extension ActivationIntervention {
    public var isAdditive: Bool { false }
}

/// The interventions of one forward pass, applied in order at each site, with the pass's step
/// number and its rows' roles.
public struct Interventions {
    public var list: [any ActivationIntervention]
    public var step: Int
    /// One role per batch row (nil: every row is `.input`).
    public var roles: [RowRole]?

    public init(_ list: [any ActivationIntervention], step: Int = 0, roles: [RowRole]? = nil) {
        self.list = list
        self.step = step
        self.roles = roles
    }

    /// Whether any intervention wants `site` in `layer`.
    func wants(layer: Int, site: InterventionSite) -> Bool { list.contains { $0.wants(layer: layer, site: site) } }
}
