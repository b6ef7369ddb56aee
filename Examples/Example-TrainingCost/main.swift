// Example-TrainingCost: the paper's Table 2 on this machine. Trains prompt tokens with the
// shipped recipe (self-distillation, 3 prompt tokens, ensemble attention, lr 1e-2 cosine) and
// measures their top-10 guess accuracy on Alpaca Eval questions (full vocabulary, the paper's
// eval.py measure) every few steps; reports the wall time and CPU-hours until each target
// accuracy is reached, the data preparation (self-distilled replies) on its own line, with an
// accuracy-against-time curve. Then the same for Medusa-style heads (3 residual heads read by
// the model's own output layer, `ppd train --medusa`) on the same data and schedule (lr 1e-3,
// Medusa's). The paper: 0.52 h on 4 x A100 for PPD, 1.24 h for Medusa.
//
//   swift run -c release Example-TrainingCost                      # 400 conversations, 10 Alpaca questions
//   swift run -c release Example-TrainingCost --conversations 2000 --targets 0.7,0.8,0.85

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct TrainingCost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-TrainingCost", abstract: "Wall time and CPU-hours until prompt tokens reach a top-10 accuracy on Alpaca Eval (Table 2).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup(title: "Data and schedule (default: 400 conversations, seed 1)") var training: TrainingRunOptions
    @Option(help: "Steps between accuracy measurements.")
    var every = 50
    @Option(help: "Cuts per Alpaca Eval question.")
    var questionCuts = 16
    @Option(help: "Target top-10 accuracies at distance 1 (comma-separated, ascending); training stops once the last is reached.")
    var targets = "0.6,0.7,0.8"
    @Option(help: "Peak learning rate of the Medusa-style heads (Medusa's 1e-3).")
    var medusaLr = 1e-3
    @Flag(help: "Leave out the Medusa-style heads.")
    var noMedusa = false

    func parsedTargets() throws -> [Double] {
        let values = try CommaSeparated.parse(targets, option: "--targets", expected: "an accuracy in (0, 1)") { Double($0).flatMap { $0 > 0 && $0 < 1 ? $0 : nil } }
        guard !values.isEmpty, values == values.sorted() else { throw ValidationError("--targets must be ascending accuracies in (0, 1)") }
        return values
    }

    func validate() throws {
        _ = try parsedTargets()
        guard every > 0, questionCuts > 0 else { throw ValidationError("--every and --question-cuts must be positive") }
        guard medusaLr.isFinite, medusaLr > 0 else { throw ValidationError("--medusa-lr must be a positive number") }
    }

    /// The paper's Table 2 (4 x A100), hours.
    static let paper: [(method: String, target: String, time: String)] = [
        ("PPD (paper, 4 x A100)", "above Medusa's", "0.52 h wall"), ("Medusa (paper, 4 x A100)", "-", "1.24 h wall"), ("EAGLE (paper)", "-", "1-2 days wall"),
    ]

    func run() throws {
        let targets = try parsedTargets()
        let prefix = try output.prefix(default: "Experiments/results/training-cost")
        let experiment = try TrainingExperiment(session: try session.makeSession(), threads: session.compute.threads)
        let s = experiment.session
        let threads = session.compute.threads ?? ProcessInfo.processInfo.activeProcessorCount

        let recipe = training.recipe(defaultConversations: 400, heldOut: 0, defaultSeed: 1)
        let preparing = ContinuousClock.now
        let data = try experiment.prepare(recipe, batchSize: training.prepareBatch)
        let preparationSeconds = preparing.secondsSince()

        let bench = try selection.single(default: .alpacaEval)
        let questions = try selection.pick(from: bench, count: selection.questionCount(default: 10))
        let evaluation = try GuessAccuracyEvaluation(
            model: s.model, tokenizer: s.tokenizer, questions: questions.map(\.text), template: .plain, replyTokens: selection.tokens(default: 64),
            cutsPerQuestion: questionCuts, seed: recipe.seed, modelSHA256: s.modelSHA256, progress: note)
        let stop = { (point: PromptTokenTrainingRun.CurvePoint) in point.measurement.cumulative[0][9] >= targets.last! }
        func measurement(_ result: GuessAccuracyEvaluation.Result) -> PromptTokenTrainingRun.Measurement {
            .init(perRank: result.perRank, loss: result.meanLoss, cuts: result.cuts)
        }
        /// Step losses of a run, collected by its event handler.
        final class Losses { var values: [Double] = [] }
        func events(_ name: String, _ losses: Losses) -> (PromptTokenTrainingRun.Event) -> Void {
            { [data] event in
                switch event {
                case .step(let p): losses.values.append(p.loss)
                case .curve(let point):
                    note(String(
                        format: "%@: step %d/%d, %.0f s of training: top-10 %.3f / %.3f / %.3f at distances 1 / 2 / 3", name, point.step,
                        data.training.count, point.trainingSeconds, point.measurement.cumulative[0][9], point.measurement.cumulative[1][9],
                        point.measurement.cumulative[2][9]))
                default: break
                }
            }
        }
        let losses = Losses()
        let outcome = try experiment.trainingRun(recipe).run(
            on: data, curve: .init(every: every, measure: { measurement(try evaluation.accuracy(of: $0)) }, stopWhen: stop),
            events: events("prompt tokens", losses))
        var records = [TrainingRunRecord(name: "prompt tokens", group: "PPD", recipe: recipe, outcome: outcome, stepLosses: losses.values)]
        var medusaRecipe = recipe
        medusaRecipe.learningRate = medusaLr
        if !noMedusa {
            let medusaLosses = Losses()
            let medusa = try experiment.medusaRun(medusaRecipe).run(
                on: data, curve: .init(every: every, measure: { measurement(try evaluation.accuracy(of: $0)) }, stopWhen: stop),
                events: events("Medusa-style heads", medusaLosses))
            records.append(TrainingRunRecord(
                name: "Medusa-style heads", group: "Medusa", recipe: medusaRecipe, outcome: medusa, stepLosses: medusaLosses.values))
        }

        let caption = "\(data.training.count) ShareGPT conversations x \(recipe.epochs) epoch, \(recipe.cuts) cuts, lr \(recipe.learningRate) (heads \(medusaLr)), seed \(recipe.seed); \(bench.rawValue): \(questions.count) questions x \(questionCuts) cuts, full vocabulary; \(threads) threads; \(s.describeMachine())"
        var table = ResultTable(
            columns: ["method", "target top-10 (d=1)", "reached at step", "training s", "CPU-hours", "with data preparation, CPU-hours"],
            notes: [
                caption,
                String(format: "data preparation (self-distilled replies of %d conversations): %.0f s (0 when read from the cache); both methods train on the same data", data.training.count, preparationSeconds),
                "CPU-hours = training seconds x threads / 3600; the paper's hours are wall time on 4 A100 GPUs",
            ])
        func row(_ method: String, _ label: String, _ hit: PromptTokenTrainingRun.CurvePoint?) throws {
            let cpuHours = hit.map { $0.trainingSeconds * Double(threads) / 3600 }
            try table.append([
                method, label, hit.map { "\($0.step)" } ?? "not reached",
                hit.map { String(format: "%.0f", $0.trainingSeconds) } ?? "-", cpuHours.map { String(format: "%.3f", $0) } ?? "-",
                cpuHours.map { String(format: "%.3f", $0 + preparationSeconds * Double(threads) / 3600) } ?? "-",
            ])
        }
        for record in records {
            for target in targets {
                try row("\(record.name) (here)", String(format: "%.2f", target), record.outcome.curve.first { $0.measurement.cumulative[0][9] >= target })
            }
        }
        // The paper's measure: prompt tokens until their accuracy is above the heads' best.
        if let heads = records.dropFirst().first, let best = heads.outcome.curve.map({ $0.measurement.cumulative[0][9] }).max() {
            try row(
                "prompt tokens (here)", String(format: "above Medusa's best, %.3f", best),
                outcome.curve.first { $0.measurement.cumulative[0][9] > best })
        }
        for row in Self.paper { try table.append([row.method, row.target, "-", "-", row.time, "-"]) }
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        try TrainingRunsFile.write(
            records,
            settings: s.settings().merging([
                "experiment": .string("training-cost"), "bench": .string(bench.rawValue), "questions": .int(Int64(questions.count)),
                "question_cuts": .int(Int64(questionCuts)), "preparation_seconds": .double(preparationSeconds), "threads": .int(Int64(threads)),
                "data": .string(data.description),
            ]) { $1 }, to: prefix + ".h5")
        try figure(records, targets: targets, caption: caption).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// Top-10 accuracy by distance against training minutes, one panel per method, the last
    /// target as a reference line.
    func figure(_ records: [TrainingRunRecord], targets: [Double], caption: String) -> LinePlot {
        let panels = records.map { record in
            let series = (0..<3).map { d in
                LinePlot.Series(
                    name: "top-10, distance \(d + 1)",
                    points: record.outcome.curve.compactMap { point in
                        d < point.measurement.perRank.count ? (x: point.trainingSeconds / 60, y: point.measurement.cumulative[d][9]) : nil
                    })
            }
            return LinePlot.Panel(title: record.name, yLabel: "top-10 accuracy (Alpaca Eval)", series: series, reference: targets.last)
        }
        return LinePlot(title: "Guess accuracy against training time (Table 2)", xLabel: "training minutes", panels: panels, caption: caption)
    }
}
