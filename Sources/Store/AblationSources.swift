import Foundation
import Models

extension AblationSpec {
    /// The ablation this spec describes for `config`, its vectors and patches read from the
    /// files it names (a JSON list of floats; an HDF5 trace's recorded activations, which hold
    /// the residual sites). Throws naming the file and what is wrong.
    public func makeAblation(for config: TransformerConfig) throws -> Ablation {
        let operation: AblationOperation
        switch self.operation {
        case "zero":
            operation = .zero
        case "mean":
            if let vector {
                operation = .mean(try Self.readVector(vector))
            } else {
                operation = .mean(try headSlice(try recordedRows(config).mean(), config))
            }
        case "steer":
            operation = .steer(try Self.readVector(vector ?? ""), scale: scale)
        default:
            operation = .patch(try recordedRows(config).patch(site: site))
        }
        let ablation = try Ablation(layers: layers.map { Set($0) }, head: head, site: site, rows: rows, operation: operation)
        try ablation.validate(for: config)
        return ablation
    }

    /// The mean of a full row cut to the spec's head (the whole row without one).
    private func headSlice(_ values: [Float], _ config: TransformerConfig) throws -> [Float] {
        guard let head else { return values }
        let width = values.count / site.headCount(config)
        return Array(values[head * width..<(head + 1) * width])
    }

    /// The recorded rows of the one layer this spec names, at its site, from `from=`.
    private func recordedRows(_ config: TransformerConfig) throws -> TraceActivations {
        guard let source else { throw ModelError("--ablate: from=TRACE.h5 is missing") }
        guard let layers, layers.count == 1 else {
            throw ModelError("--ablate from=\(source): name one layer (a trace's activations belong to one layer each)")
        }
        return try TraceActivations(path: source, layer: layers.lowerBound, site: site)
    }

    static func readVector(_ path: String) throws -> [Float] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelError("\(path): cannot read the vector file (\(error.localizedDescription))")
        }
        guard let values = try? JSONDecoder().decode([Float].self, from: data) else {
            throw ModelError("\(path): not a JSON list of numbers")
        }
        return values
    }
}

/// One layer's recorded activations at one site in a `ppd-trace/1` file.
struct TraceActivations {
    let path: String
    let layer: Int
    let rows: Int
    let width: Int
    let values: [Float]
    let steps: [Int32]
    let slots: [Int32]

    init(path: String, layer: Int, site: InterventionSite) throws {
        let file = try HDF5File.open(path: path)
        defer { try? file.close() }
        let group = String(format: "/activations/layer_%02d/", layer) + site.rawValue
        guard try file.contains(group) else {
            throw ModelError("\(path): no recorded \(site.rawValue) of layer \(layer) (record it with --trace-layers \(layer) --trace-taps \(site.rawValue))")
        }
        let shape = try file.shape(of: group)
        guard shape.count == 2 else { throw ModelError("\(path): \(group) is not a [rows, width] dataset") }
        self.path = path
        self.layer = layer
        rows = shape[0]
        width = shape[1]
        values = try file.readDataset(group, as: Float.self)
        steps = try file.readDataset(group + "_step", as: Int32.self)
        slots = try file.readDataset(group + "_slot", as: Int32.self)
        guard steps.count == rows, slots.count == rows else {
            throw ModelError("\(path): \(group)_step or _slot does not have \(rows) entries")
        }
    }

    /// The mean over every recorded row.
    func mean() throws -> [Float] {
        guard rows > 0 else { throw ModelError("\(path): no recorded rows to average") }
        var sum = [Double](repeating: 0, count: width)
        for row in 0..<rows {
            for j in 0..<width { sum[j] += Double(values[row * width + j]) }
        }
        return sum.map { Float($0 / Double(rows)) }
    }

    /// The rows of each recorded step in batch order, as a patch; a step must have its rows
    /// 0..<n recorded.
    func patch(site: InterventionSite) throws -> ActivationPatch {
        let patch = ActivationPatch()
        var byStep: [Int32: [(slot: Int32, row: Int)]] = [:]
        for row in 0..<rows { byStep[steps[row], default: []].append((slots[row], row)) }
        for (step, entries) in byStep {
            let ordered = entries.sorted { $0.slot < $1.slot }
            guard ordered.enumerated().allSatisfy({ $0.offset == Int($0.element.slot) }) else {
                throw ModelError("\(path): step \(step) does not have its rows 0..<\(ordered.count) recorded")
            }
            patch.set(ordered.flatMap { values[$0.row * width..<($0.row + 1) * width] }, step: Int(step), layer: layer, site: site)
        }
        return patch
    }
}
