// Example-TrainingAblation: the paper's training-side ablations (appendix; paper-experiments.md
// section 3) at a budget this CPU trains in minutes. Every run starts from the same prepared
// ShareGPT data and seed and changes one thing against the baseline (distillation, ensemble
// attention, 1 virtual token, 3 prompt tokens, the paper's initial text, loss decay 0.8):
// cross-entropy on the model's or the dataset's replies, attention types (with 2 virtual tokens,
// the only place they differ), virtual tokens 1/2/4/8 (Fig. 6b), prompt tokens 1/2/3/4,
// random or other-text initialisation, decay 1.0. Reports held-out top-1/top-10 accuracy by
// distance and the tokens per step the tree builder predicts from each table.
//
//   swift run -c release Example-TrainingAblation                        # 100 conversations each (~15 min)
//   swift run -c release Example-TrainingAblation --conversations 400 --only baseline,V=2,V=4

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct TrainingAblation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-TrainingAblation", abstract: "Training ablations: loss, attention, virtual and prompt tokens, initialisation, decay.")

    @OptionGroup var session: SessionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup(title: "Data and schedule (default: 100 conversations, seed 1)") var training: TrainingRunOptions
    @Option(help: "Held-out conversations (their cuts score every run).")
    var heldOut = 20
    @Option(help: "Input limit (nodes + prompt tokens) of the tree whose tokens per step is predicted.")
    var inputLimit = 16
    @Option(help: "Only these runs (comma-separated names from the table, e.g. baseline,V=2).")
    var only: String?

    /// The runs `--only` names (all without it).
    func chosenVariants() throws -> [Variant] {
        guard let only else { return Self.variants }
        let names = try CommaSeparated.parse(only, option: "--only", expected: "a run name (\(Self.variants.map(\.name).joined(separator: ", ")))") { name in
            Self.variants.contains { $0.name == name } ? name : nil
        }
        return Self.variants.filter { names.contains($0.name) }
    }
    @Option(help: "Conversations whose replies are generated together while preparing the data.")
    var prepareBatch = 32

    /// A run: its name, what it varies, and the change to the baseline recipe.
    struct Variant {
        var name: String
        /// The figure's label.
        var label: String
        var group: String
        var datasetReplies = false
        var change: (inout TrainingRecipe) -> Void = { _ in }
    }

    static let variants: [Variant] = [
        Variant(name: "baseline", label: "base", group: "baseline"),
        Variant(name: "cross-entropy (model replies)", label: "CE model", group: "loss") { $0.loss = .crossEntropy },
        Variant(name: "cross-entropy (dataset replies)", label: "CE data", group: "loss", datasetReplies: true) { $0.loss = .crossEntropy },
        Variant(name: "V=2", label: "V2", group: "virtual tokens / attention") { $0.virtualTokens = 2 },
        Variant(name: "V=2 decoder", label: "V2 dec", group: "virtual tokens / attention") { $0.virtualTokens = 2; $0.attention = .decoder },
        Variant(name: "V=2 encoder", label: "V2 enc", group: "virtual tokens / attention") { $0.virtualTokens = 2; $0.attention = .encoder },
        Variant(name: "V=4", label: "V4", group: "virtual tokens / attention") { $0.virtualTokens = 4 },
        Variant(name: "V=8", label: "V8", group: "virtual tokens / attention") { $0.virtualTokens = 8 },
        Variant(name: "N=1", label: "N1", group: "prompt tokens") { $0.promptTokens = 1 },
        Variant(name: "N=2", label: "N2", group: "prompt tokens") { $0.promptTokens = 2 },
        Variant(name: "N=4", label: "N4", group: "prompt tokens") { $0.promptTokens = 4 },
        Variant(name: "random init", label: "random", group: "initialisation") { $0.initialisation = .random(scale: 0.02) },
        Variant(name: "other text init", label: "text", group: "initialisation") { $0.initialisation = .text("The answer is as follows, step by step") },
        Variant(name: "decay 1.0", label: "decay 1", group: "loss decay") { $0.lossDecay = 1.0 },
    ]

    func validate() throws {
        _ = try chosenVariants()
        guard heldOut > 0, inputLimit >= 2 else { throw ValidationError("--held-out must be positive and --input-limit at least 2") }
    }

    func run() throws {
        let prefix = try output.prefix(default: "Experiments/results/training-ablation")
        let experiment = try TrainingExperiment(session: try session.makeSession(), threads: session.compute.threads)
        let s = experiment.session
        let base = training.recipe(defaultConversations: 100, heldOut: heldOut, defaultSeed: 1)
        // The data is prepared for the most prompt tokens any run trains, so every run scores
        // the same cuts.
        var preparation = base
        preparation.promptTokens = 4
        let data = try experiment.prepare(preparation, batchSize: training.prepareBatch)
        let variants = try chosenVariants()
        var datasetData: TrainingData?
        if variants.contains(where: \.datasetReplies) {
            preparation.reply = .dataset
            datasetData = try experiment.prepare(preparation)
            datasetData?.heldOut = data.heldOut  // scored on the model's own continuations, as generation sees them
        }

        var meter = ProgressMeter(total: variants.count)
        var records: [TrainingRunRecord] = []
        for variant in variants {
            var recipe = base
            variant.change(&recipe)
            var losses: [Double] = []
            let outcome = try experiment.trainingRun(recipe).run(
                on: variant.datasetReplies ? datasetData! : data, events: { if case .step(let p) = $0 { losses.append(p.loss) } })
            records.append(TrainingRunRecord(name: variant.name, group: variant.group, recipe: recipe, outcome: outcome, stepLosses: losses))
            let after = outcome.after.map { String(format: "top-1 %.3f, top-10 %.3f at distance 1", $0.cumulative[0][0], $0.cumulative[0][9]) } ?? ""
            note(meter.advance("\(variant.name): \(outcome.steps) steps in \(Int(outcome.trainingSeconds)) s, \(after)"))
        }

        let caption = "\(base.conversations) ShareGPT conversations x \(base.epochs) epoch, \(base.cuts) cuts, lr \(base.learningRate), seed \(base.seed); held-out: \(data.heldOut.count) conversations; \(s.describeMachine())"
        let table = try resultTable(records, caption: caption)
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        try TrainingRunsFile.write(
            records,
            settings: s.settings().merging([
                "experiment": .string("training-ablation"), "conversations": .int(Int64(base.conversations)), "held_out": .int(Int64(heldOut)),
                "input_limit": .int(Int64(inputLimit)), "data": .string(data.description),
            ]) { $1 }, to: prefix + ".h5")
        try figure(records, caption: caption).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    func resultTable(_ records: [TrainingRunRecord], caption: String) throws -> ResultTable {
        var table = ResultTable(
            columns: ["run", "varies", "steps", "train s", "loss before", "loss after"] + (1...3).map { "top-1 d\($0)" } + (1...3).map { "top-10 d\($0)" }
                + ["tokens/step (L=\(inputLimit))"],
            notes: [
                caption,
                "held-out accuracy after training (cumulative top-k, ranked among the guess head's tokens as generation ranks them); distances beyond a run's prompt tokens are '-'",
                "tokens/step: the tree builder's prediction for the best dynamic tree with at most \(inputLimit) inputs, from the run's held-out table",
            ])
        for record in records {
            let after = record.outcome.after
            let cell = { (d: Int, k: Int) -> String in
                guard let after, d < after.perRank.count else { return "-" }
                return String(format: "%.3f", after.cumulative[d][k - 1])
            }
            let predicted = after.flatMap { TrainingExperiment.predictedTokensPerStep($0, inputLimit: inputLimit) }
            let format = { (value: Double?) -> String in value.map { String(format: "%.3f", $0) } ?? "-" }
            var row: [String] = [record.name, record.group, "\(record.outcome.steps)", String(format: "%.0f", record.outcome.trainingSeconds)]
            row += [format(record.outcome.before?.loss), format(after?.loss)]
            row += (0..<3).map { cell($0, 1) }
            row += (0..<3).map { cell($0, 10) }
            row.append(format(predicted))
            try table.append(row)
        }
        return table
    }

    /// Top-1 and top-10 accuracy at distance 1 and the predicted tokens per step, one group of
    /// bars per run.
    func figure(_ records: [TrainingRunRecord], caption: String) -> BarChart {
        let value = { (record: TrainingRunRecord, d: Int, k: Int) -> Double in
            guard let after = record.outcome.after, d < after.perRank.count else { return .nan }
            return after.cumulative[d][k - 1]
        }
        return BarChart(
            title: "Training ablations: held-out guess accuracy", yLabel: "accuracy",
            categories: records.map { record in Self.variants.first { $0.name == record.name }?.label ?? record.name },
            series: [
                .init(name: "top-1, distance 1", values: records.map { value($0, 0, 1) }),
                .init(name: "top-1, distance 2", values: records.map { value($0, 1, 1) }),
                .init(name: "top-10, distance 1", values: records.map { value($0, 0, 10) }),
                .init(name: "top-10, distance 2", values: records.map { value($0, 1, 10) }),
            ], caption: caption)
    }
}
