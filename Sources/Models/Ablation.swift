/// Which rows of a forward pass an ablation touches, by role.
public enum RowSelection: String, Sendable, CaseIterable {
    /// Every row.
    case all
    /// Prompt-token rows (their logits only give guesses).
    case prompt
    /// Every row that is not a prompt token's: inputs, roots, guesses, drafted tokens.
    case tokens
    case root, guesses, drafted, input

    public func contains(_ role: RowRole) -> Bool {
        switch (self, role) {
        case (.all, _): return true
        case (.prompt, .promptToken): return true
        case (.tokens, _): return !role.isPromptToken
        case (.root, .root), (.guesses, .guess), (.drafted, .drafted), (.input, .input): return true
        default: return false
        }
    }
}

/// What an ablation does to the values it selects.
public enum AblationOperation {
    /// Set them to 0.
    case zero
    /// Replace them with a vector (e.g. a mean recorded over a benchmark): one row's width, or
    /// one head's with `head`.
    case mean([Float])
    /// Add `scale` times a vector.
    case steer([Float], scale: Float)
    /// Replace them with another run's values at the same step, layer, site and row.
    case patch(ActivationPatch)

    /// The operation's name, for messages and result files.
    public var name: String {
        switch self {
        case .zero: return "zero"
        case .mean: return "mean"
        case .steer: return "steer"
        case .patch: return "patch"
        }
    }
}

/// A ready-made intervention: one operation on one site, in chosen layers, optionally one head,
/// on the rows of chosen roles.
public final class Ablation: ActivationIntervention {
    /// Layers it acts in (nil: every layer).
    public let layers: Set<Int>?
    /// The head it acts on (nil: the whole row). Only for per-head sites.
    public let head: Int?
    public let site: InterventionSite
    public let rows: RowSelection
    public let operation: AblationOperation

    /// Throws when the operation cannot act on the site (attention weights are read only; a head
    /// on a site without heads).
    public init(layers: Set<Int>?, head: Int? = nil, site: InterventionSite, rows: RowSelection, operation: AblationOperation) throws {
        guard site.isWritable else { throw ModelError("ablation: \(site.rawValue) can be read, not changed") }
        if head != nil && !site.hasHeads {
            throw ModelError("ablation: \(site.rawValue) has no heads (heads are in query, key, value and head_output)")
        }
        self.layers = layers
        self.head = head
        self.site = site
        self.rows = rows
        self.operation = operation
    }

    /// Checks the ablation against `config`: layers and head in range, vectors of the right width.
    public func validate(for config: TransformerConfig) throws {
        if let bad = layers?.first(where: { $0 < 0 || $0 >= config.layerCount }) {
            throw ModelError("ablation: layer \(bad) does not exist (the model has \(config.layerCount) layers)")
        }
        let heads = site.headCount(config)
        if let head, head < 0 || head >= heads {
            throw ModelError("ablation: head \(head) does not exist (\(site.rawValue) has \(heads) heads)")
        }
        let width = head == nil ? site.width(config) : site.width(config) / heads
        switch operation {
        case .mean(let vector), .steer(let vector, _):
            guard vector.count == width else {
                throw ModelError("ablation: the \(operation.name) vector has \(vector.count) values; \(site.rawValue)\(head.map { " head \($0)" } ?? "") has \(width)")
            }
        case .zero, .patch:
            break
        }
    }

    public var writes: Bool { true }

    public var isAdditive: Bool {
        if case .steer = operation { return true }
        return false
    }

    public func wants(layer: Int, site: InterventionSite) -> Bool { site == self.site && (layers?.contains(layer) ?? true) }

    public func intervene(_ block: ActivationBlock) throws {
        // Checked here too (not only in `validate`): a head or vector that does not fit would
        // write outside the block.
        if let head, head >= block.heads {
            throw ModelError("ablation: head \(head) does not exist (\(block.site.rawValue) has \(block.heads) heads)")
        }
        let span = head == nil ? block.width : block.headWidth
        switch operation {
        case .mean(let vector), .steer(let vector, _):
            guard vector.count == span else {
                throw ModelError("ablation: the \(operation.name) vector has \(vector.count) values; \(block.site.rawValue) has \(span) per \(head == nil ? "row" : "head")")
            }
        case .zero, .patch:
            break
        }
        let recorded = try patchValues(block)
        for row in 0..<block.rows where rows.contains(block.roles[row]) {
            let target = head.map { block.head($0, row: row) } ?? block.row(row)
            let offset = row * block.width + (head ?? 0) * block.headWidth
            switch operation {
            case .zero:
                target.update(repeating: 0)
            case .mean(let vector):
                for j in 0..<target.count { target[j] = vector[j] }
            case .steer(let vector, let scale):
                for j in 0..<target.count { target[j] += scale * vector[j] }
            case .patch:
                for j in 0..<target.count { target[j] = recorded[offset + j] }
            }
        }
    }

    /// The other run's values for this block (empty unless patching).
    private func patchValues(_ block: ActivationBlock) throws -> [Float] {
        guard case .patch(let patch) = operation else { return [] }
        guard let values = patch.values(step: block.step, layer: block.layer, site: block.site) else {
            throw ModelError("ablation: the patch has no \(block.site.rawValue) values for step \(block.step), layer \(block.layer)")
        }
        guard values.count == block.values.count else {
            throw ModelError("ablation: the patch's \(block.site.rawValue) of step \(block.step), layer \(block.layer) has \(values.count) values; this forward pass has \(block.values.count) (\(block.rows) rows of \(block.width))")
        }
        return values
    }
}

/// Activations of a run, by forward pass, layer and site, to patch another run with (or the
/// same run: patching a run with its own values reproduces it bit for bit).
public final class ActivationPatch {
    struct Key: Hashable {
        let step: Int, layer: Int, site: InterventionSite
    }

    private var stored: [Key: [Float]] = [:]

    public init() {}

    /// The values of `site` in `layer` at forward pass `step` (rows x width, row-major).
    public func values(step: Int, layer: Int, site: InterventionSite) -> [Float]? { stored[Key(step: step, layer: layer, site: site)] }

    public func set(_ values: [Float], step: Int, layer: Int, site: InterventionSite) {
        stored[Key(step: step, layer: layer, site: site)] = values
    }

    /// How many (step, layer, site) blocks it holds.
    public var count: Int { stored.count }
}

/// Reads activations into an `ActivationPatch` as a run goes (a read-only intervention).
public final class ActivationCapture: ActivationIntervention {
    public let layers: Set<Int>?
    public let sites: Set<InterventionSite>
    public let patch = ActivationPatch()

    public init(layers: Set<Int>?, sites: Set<InterventionSite>) {
        self.layers = layers
        self.sites = sites
    }

    public var writes: Bool { false }

    public func wants(layer: Int, site: InterventionSite) -> Bool { sites.contains(site) && (layers?.contains(layer) ?? true) }

    public func intervene(_ block: ActivationBlock) throws {
        patch.set(Array(block.values), step: block.step, layer: block.layer, site: block.site)
    }
}

extension InterventionSite {
    /// Whether the site's rows are split into heads.
    public var hasHeads: Bool { [.query, .key, .value, .headOutput, .attentionWeights].contains(self) }

    /// Heads per row in `config` (1 for sites without heads).
    public func headCount(_ config: TransformerConfig) -> Int {
        switch self {
        case .query, .headOutput, .attentionWeights: return config.heads
        case .key, .value: return config.kvHeads
        default: return 1
        }
    }

    /// Floats per row in `config` (attention weights: per head, one per slot, so it varies).
    public func width(_ config: TransformerConfig) -> Int {
        switch self {
        case .layerInput, .attentionOutput, .ffnOutput, .layerOutput: return config.hiddenSize
        case .query, .headOutput: return config.qWidth
        case .key, .value: return config.kvWidth
        case .ffnHidden: return config.ffnSize
        case .attentionWeights: return 0
        }
    }
}
