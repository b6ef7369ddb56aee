/// The interventions of one forward pass as the layer loop applies them: checked once before
/// the pass (roles per row, nothing written where writing is not defined, nothing but additive
/// changes on the residual stream while a training tape records), then called site by site.
/// Without interventions every call is one branch.
struct InterventionSites {
    private let interventions: Interventions?
    private let roles: [RowRole]
    private let positions: [Int32]
    private let rows: Int

    init(_ interventions: Interventions?, rows: Int, positions: [Int32], layers: Int, recordsTape: Bool) throws {
        self.rows = rows
        self.positions = positions
        guard let interventions, !interventions.list.isEmpty else {
            self.interventions = nil
            roles = []
            return
        }
        if let roles = interventions.roles, roles.count != rows {
            throw ModelError("forward: \(roles.count) row roles for a batch of \(rows) rows")
        }
        for intervention in interventions.list where intervention.writes {
            for layer in 0..<layers {
                for site in InterventionSite.allCases where intervention.wants(layer: layer, site: site) {
                    if !site.isWritable {
                        throw ModelError("an intervention (\(type(of: intervention))) that writes wants \(site.rawValue) in layer \(layer): attention weights are computed for reading only")
                    }
                    if recordsTape && !(site.isResidual && intervention.isAdditive) {
                        throw ModelError("an intervention (\(type(of: intervention))) changes \(site.rawValue) in layer \(layer) while a training tape records: only additive changes on the residual stream (layer_input, attention_output, ffn_output, layer_output) keep the backward pass exact")
                    }
                }
            }
        }
        self.interventions = interventions
        roles = interventions.roles ?? Array(repeating: .input, count: rows)
    }

    /// Whether any intervention wants `site` in `layer`.
    func wants(_ layer: Int, _ site: InterventionSite) -> Bool {
        interventions?.wants(layer: layer, site: site) ?? false
    }

    /// Hands `values` (rows x width, `heads` per row) to each intervention that wants it, in order.
    func apply(_ layer: Int, _ site: InterventionSite, _ values: inout [Float], heads: Int) throws {
        guard let interventions else { return }
        let width = values.count / rows
        for intervention in interventions.list where intervention.wants(layer: layer, site: site) {
            try values.withUnsafeMutableBufferPointer { buffer in
                try intervention.intervene(ActivationBlock(
                    step: interventions.step, layer: layer, site: site, rows: rows, width: width, heads: heads,
                    headWidth: width / heads, roles: roles, positions: positions, values: buffer))
            }
        }
    }
}
