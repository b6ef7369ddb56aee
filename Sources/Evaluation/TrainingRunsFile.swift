import Foundation
import Store
import Training

/// One finished training run of an experiment: its name and group (what it varies), the
/// recipe, the outcome and the loss of every step.
public struct TrainingRunRecord {
    public var name: String
    public var group: String
    public var recipe: TrainingRecipe
    public var outcome: any TrainingRunOutcome
    /// Mean loss of each step's cuts, in step order.
    public var stepLosses: [Double]

    public init(name: String, group: String, recipe: TrainingRecipe, outcome: any TrainingRunOutcome, stepLosses: [Double]) {
        self.name = name
        self.group = group
        self.recipe = recipe
        self.outcome = outcome
        self.stepLosses = stepLosses
    }
}

/// HDF5 of training runs (`ppd-training-runs/1`): `settings` on `/`, and per run `/runs/<name>`
/// with its group, order, steps, training seconds and every recipe setting as attributes; the
/// datasets `step_loss` (one per step), `before_per_rank` and `after_per_rank` (distances x
/// ranks, held-out), and, when the run measured a curve, `curve_step`, `curve_seconds` and
/// `curve_cumulative` (points x distances x ranks).
public enum TrainingRunsFile {
    public static func write(_ runs: [TrainingRunRecord], settings: [String: AttributeValue], to path: String) throws {
        let h5 = try HDF5File.create(path: path)
        do {
            for (name, value) in settings.merging(["format": .string("ppd-training-runs/1")], uniquingKeysWith: { $1 }) {
                try h5.setAttribute(name, value)
            }
            try h5.createGroup("/runs")
            for (order, run) in runs.enumerated() {
                let group = "/runs/" + run.name.replacingOccurrences(of: "/", with: "_")
                try h5.createGroup(group)
                var attributes: [String: AttributeValue] = [
                    "order": .int(Int64(order)), "group": .string(run.group), "steps": .int(Int64(run.outcome.steps)),
                    "total_steps": .int(Int64(run.outcome.totalSteps)), "training_seconds": .double(run.outcome.trainingSeconds),
                    "stopped_early": .int(run.outcome.stoppedEarly ? 1 : 0),
                ]
                for (name, value) in run.recipe.settings { attributes["recipe_" + name] = .string(value) }
                for (name, value) in attributes { try h5.setAttribute(name, value, on: group) }
                try h5.writeDataset(group + "/step_loss", run.stepLosses)
                for (label, measurement) in [("before", run.outcome.before), ("after", run.outcome.after)] {
                    guard let measurement, let width = measurement.perRank.first?.count else { continue }
                    try h5.writeDataset(group + "/\(label)_per_rank", measurement.perRank.flatMap { $0 }, shape: [measurement.perRank.count, width])
                    try h5.setAttribute("\(label)_loss", .double(measurement.loss), on: group)
                    try h5.setAttribute("\(label)_cuts", .int(Int64(measurement.cuts)), on: group)
                }
                let curve = run.outcome.curve
                if let first = curve.first, let width = first.measurement.perRank.first?.count {
                    try h5.writeDataset(group + "/curve_step", curve.map { Int64($0.step) })
                    try h5.writeDataset(group + "/curve_seconds", curve.map(\.trainingSeconds))
                    try h5.writeDataset(
                        group + "/curve_cumulative", curve.flatMap { $0.measurement.cumulative.flatMap { $0 } },
                        shape: [curve.count, first.measurement.perRank.count, width])
                }
            }
            try h5.close()
        } catch {
            h5.discard()
            throw error
        }
    }
}
