// Example-ActivationAblation: which parts of the frozen model carry the prompt tokens' guesses?
//
// Each layer's contribution (attention and FFN outputs) and each attention head (its output
// before the output projection) is zeroed on the prompt-token rows only, and the guess accuracy
// by distance and PPD's tau are measured on benchmark questions; the layers are also ablated on
// the token rows for contrast (which changes the text itself). Writes a table, two SVG figures
// (layers; layer x head heat map) and an HDF5 file with the per-step effects and the activations
// of a few rows of the unablated run.
import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct ActivationAblation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-ActivationAblation",
        abstract: "Ablate layers and heads on the prompt-token rows and measure what happens to PPD's guesses.",
        discussion: "Writes PREFIX.txt, PREFIX.h5, PREFIX-layers.svg and PREFIX-heads.svg (--out PREFIX, default Experiments/results/activation-ablation-<bench>).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Flag(inversion: .prefixedNo, help: "Also ablate every head of every layer on the prompt rows (the heat map).")
    var heads = true

    func run() throws {
        let bench = try selection.single()
        let prefix = try output.prefix(default: "Experiments/results/activation-ablation-\(bench.rawValue)")
        let s = try session.makeSession()
        let maxTokens = selection.tokens(default: 48)
        // A chain over every prompt token: each step guesses distances 1...N with the top-1 guesses.
        let decoder = try s.decoder(tree: try .chain(promptTokens: s.promptTokens.count))
        let picked = try selection.pick(from: bench, count: selection.questionCount(default: 4))
        let prompts = s.prompts(picked, from: bench)

        let c = s.model.config
        let configurations = try Configuration.all(layers: c.layerCount, heads: heads ? c.heads : 0)
        let distances = s.promptTokens.count
        var results: [Measurement] = []
        var meter = ProgressMeter(total: configurations.count, unit: "configurations")
        var baselineTokens: [[Int32]] = []
        let capture = ActivationCapture(layers: [0, c.layerCount / 2, c.layerCount - 1], sites: [.layerOutput])
        let roles = RoleRecorder()
        for (index, configuration) in configurations.enumerated() {
            var measurement = Measurement(configuration: configuration, distances: distances)
            for (question, prompt) in prompts.enumerated() {
                let scorer = GuessScorer(distances: distances)
                let extra: [any ActivationIntervention] = index == 0 && question == 0 ? [capture, roles] : []
                let result = try decoder.generate(
                    prompt: prompt, options: s.options(maxTokens: maxTokens), policy: GreedyAcceptance(), observer: scorer,
                    interventions: configuration.ablations + extra)
                if index == 0 { baselineTokens.append(result.tokens) }
                measurement.add(result: result, guesses: scorer.guesses, question: question, sameAsBaseline: result.tokens == baselineTokens[question])
            }
            results.append(measurement)
            note(meter.advance(String(
                format: "%@: tau %.2f, top-1 %@", configuration.name, measurement.tau,
                measurement.accuracies.map { String(format: "%.2f", $0) }.joined(separator: "/"))))
        }

        let report = Report(
            results: results, bench: bench.rawValue, questions: prompts.count, maxTokens: maxTokens, layers: c.layerCount, heads: heads ? c.heads : 0)
        let table = report.table()
        print(table, terminator: "")
        try OutputOptions.write(table, to: prefix + ".txt")
        try report.layerFigure().write(to: URL(fileURLWithPath: prefix + "-layers.svg"))
        if heads { try report.headFigure().write(to: URL(fileURLWithPath: prefix + "-heads.svg")) }
        try report.writeHDF5(
            prefix + ".h5", capture: capture, roles: roles, questionTexts: picked.map(\.text),
            attributes: s.settings().merging([
                "format": .string("ppd-activation-ablation/1"), "bench": .string(bench.rawValue), "max_tokens": .int(Int64(maxTokens)),
                "tree": .string("chain-\(s.promptTokens.count)"),
            ]) { $1 })
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix)-layers.svg\(heads ? ", \(prefix)-heads.svg" : "")")
    }
}

/// One ablation setting of the sweep.
struct Configuration {
    var name: String
    /// `baseline`, `layer` or `head`.
    var kind: String
    /// `prompt` or `tokens` (the rows ablated); empty for the baseline.
    var rows: String
    var layer: Int
    var head: Int
    var ablations: [any ActivationIntervention]

    /// The baseline, each layer on prompt rows and on token rows, and each head on prompt rows.
    static func all(layers: Int, heads: Int) throws -> [Configuration] {
        var list = [Configuration(name: "baseline", kind: "baseline", rows: "", layer: -1, head: -1, ablations: [])]
        for rows in [RowSelection.prompt, .tokens] {
            for layer in 0..<layers {
                let ablations = try [InterventionSite.attentionOutput, .ffnOutput].map {
                    try Ablation(layers: [layer], site: $0, rows: rows, operation: .zero)
                }
                list.append(Configuration(name: "layer \(layer) on \(rows == .prompt ? "prompt" : "token") rows", kind: "layer", rows: rows.rawValue, layer: layer, head: -1, ablations: ablations))
            }
        }
        for layer in 0..<layers {
            for head in 0..<heads {
                let ablation = try Ablation(layers: [layer], head: head, site: .headOutput, rows: .prompt, operation: .zero)
                list.append(Configuration(name: "layer \(layer) head \(head) on prompt rows", kind: "head", rows: "prompt", layer: layer, head: head, ablations: [ablation]))
            }
        }
        return list
    }
}

/// The prompt tokens' top-1 guesses of each verification step, by distance (from the chain's nodes).
final class GuessScorer: DecodingObserver {
    let distances: Int
    var guesses: [[Int32?]] = []

    init(distances: Int) { self.distances = distances }

    var readsNodeLogits: Bool { false }
    func activationHook(forStep step: Int) -> ActivationHook? { nil }
    func didPrefill(logits: Logits, prompt: [Int32], promptTokens: Int, virtualTokens: Int) {}
    func didVerify(step: Int, logits: Logits, layout: VerificationLayout, merge: DraftMerge, acceptance: Acceptance) {
        var row = [Int32?](repeating: nil, count: distances)
        for (i, node) in layout.buffers.nodes.enumerated() where node.path.allSatisfy({ $0 == 0 }) && node.path.count <= distances {
            row[node.path.count - 1] = merge.candidates.tokens[i + 1]
        }
        guesses.append(row)
    }
}

/// The row roles of the forward passes it sees (for the recorded activations).
final class RoleRecorder: ActivationIntervention {
    var roles: [Int: [RowRole]] = [:]
    var writes: Bool { false }
    func wants(layer: Int, site: InterventionSite) -> Bool { layer == 0 && site == .layerOutput }
    func intervene(_ block: ActivationBlock) throws { roles[block.step] = block.roles }
}

/// What one configuration did over the questions.
struct Measurement {
    let configuration: Configuration
    var hits: [Int]
    var counts: [Int]
    var decodeTokens = 0
    var decodeSteps = 0
    var sameAsBaseline = 0
    var stepQuestion: [Int32] = []
    var stepAccepted: [Int32] = []
    /// Per step and distance: 1 hit, 0 miss, -1 no guess or past the end.
    var stepHits: [Int8] = []

    init(configuration: Configuration, distances: Int) {
        self.configuration = configuration
        hits = Array(repeating: 0, count: distances)
        counts = Array(repeating: 0, count: distances)
    }

    /// Scores a generation: the guesses of step s (made for the tokens after its root) against
    /// the tokens the run produced.
    mutating func add(result: PromptDecodingResult, guesses: [[Int32?]], question: Int, sameAsBaseline same: Bool) {
        var emitted = result.steps.first?.tokens.count ?? 0
        for (s, step) in result.steps.dropFirst().enumerated() {
            let row = s < guesses.count ? guesses[s] : []
            for d in 0..<hits.count {
                let target = emitted - 1 + d + 1
                guard d < row.count, let guess = row[d], target < result.tokens.count else {
                    stepHits.append(-1)
                    continue
                }
                let hit = guess == result.tokens[target]
                hits[d] += hit ? 1 : 0
                counts[d] += 1
                stepHits.append(hit ? 1 : 0)
            }
            stepQuestion.append(Int32(question))
            stepAccepted.append(Int32(step.accepted))
            emitted += step.tokens.count
        }
        decodeTokens += result.decodeTokens
        decodeSteps += result.decodeSteps
        sameAsBaseline += same ? 1 : 0
    }

    var tau: Double { decodeSteps > 0 ? Double(decodeTokens) / Double(decodeSteps) : 0 }
    var accuracies: [Double] { zip(hits, counts).map { $1 > 0 ? Double($0) / Double($1) : 0 } }
}

/// The sweep's table, figures and HDF5 file.
struct Report {
    let results: [Measurement]
    let bench: String
    let questions: Int
    let maxTokens: Int
    let layers: Int
    let heads: Int

    var baseline: Measurement { results[0] }

    func layerResult(_ layer: Int, rows: String) -> Measurement? {
        results.first { $0.configuration.kind == "layer" && $0.configuration.layer == layer && $0.configuration.rows == rows }
    }

    func table() -> String {
        let d = baseline.hits.count
        var text = "Activation ablation on \(bench): \(questions) questions x \(maxTokens) tokens, greedy, chain tree over \(d) prompt tokens; \(RunInfo.date())\n"
        text += "top-1 guess accuracy by distance 1..\(d), tau, and questions whose text equals the unablated run's\n\n"
        let header = "configuration".padding(toLength: 34, withPad: " ", startingAt: 0)
            + (1...d).map { "  acc@\($0)" }.joined() + "    tau  same text\n"
        text += header
        for result in results where result.configuration.kind != "head" {
            text += result.configuration.name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + result.accuracies.map { String(format: "%7.3f", $0) }.joined()
                + String(format: " %6.2f  %d/%d\n", result.tau, result.sameAsBaseline, questions)
        }
        if heads > 0 {
            text += "\nchange of top-1 accuracy at distance 1 when one head is zeroed on the prompt rows (layer x head)\n"
            text += "layer" + (0..<heads).map { "head \($0)".leftPadded(to: 9) }.joined() + "\n"
            for layer in 0..<layers {
                text += String(format: "%5d", layer) + headDeltas(layer).map { String(format: "%9.3f", $0) }.joined() + "\n"
            }
        }
        return text
    }

    func headDeltas(_ layer: Int) -> [Double] {
        (0..<heads).map { head in
            let result = results.first { $0.configuration.kind == "head" && $0.configuration.layer == layer && $0.configuration.head == head }
            return (result?.accuracies[0] ?? .nan) - baseline.accuracies[0]
        }
    }

    func layerFigure() -> LinePlot {
        var accuracy: [LinePlot.Series] = []
        for d in 0..<baseline.hits.count {
            accuracy.append(.init(name: "distance \(d + 1), prompt rows", points: (0..<layers).compactMap { l in
                layerResult(l, rows: "prompt").map { (x: Double(l), y: $0.accuracies[d] - baseline.accuracies[d]) }
            }))
        }
        accuracy.append(.init(name: "distance 1, token rows", points: (0..<layers).compactMap { l in
            layerResult(l, rows: "tokens").map { (x: Double(l), y: $0.accuracies[0] - baseline.accuracies[0]) }
        }))
        let tau = ["prompt", "tokens"].map { rows in
            LinePlot.Series(name: rows == "prompt" ? "prompt rows" : "token rows", points: (0..<layers).compactMap { l in layerResult(l, rows: rows).map { (x: Double(l), y: $0.tau) } })
        }
        return LinePlot(
            title: "Zeroing one layer (attention + FFN outputs): prompt rows vs token rows",
            xLabel: "layer",
            panels: [
                LinePlot.Panel(title: "change of top-1 guess accuracy", yLabel: "accuracy - unablated", series: accuracy, reference: 0),
                LinePlot.Panel(title: "tokens per step (tau); dashed: unablated", yLabel: "tau", series: tau, reference: baseline.tau),
            ],
            caption: "\(bench), \(questions) questions x \(maxTokens) tokens, greedy, chain tree; \(RunInfo.date()), git \(RunInfo.gitCommit().prefix(10))")
    }

    func headFigure() -> HeatMap {
        HeatMap(
            title: "Zeroing one head on the prompt rows: change of top-1 accuracy at distance 1",
            caption: String(format: "unablated %.3f; %@, %d questions x %d tokens; %@", baseline.accuracies[0], bench, questions, maxTokens, RunInfo.date()),
            rowLabel: "layer", columnLabel: "head", rowNames: (0..<layers).map { "layer \($0)" }, columnNames: (0..<heads).map { "head \($0)" },
            values: (0..<layers).map { headDeltas($0) }, format: "%+.3f")
    }

    func writeHDF5(_ path: String, capture: ActivationCapture, roles: RoleRecorder, questionTexts: [String], attributes: [String: AttributeValue]) throws {
        let h5 = try HDF5File.create(path: path)
        do {
            for (name, value) in attributes { try h5.setAttribute(name, value) }
            try h5.writeStrings("/questions", questionTexts)
            try h5.createGroup("/configurations")
            for (index, result) in results.enumerated() {
                let group = String(format: "/configurations/%03d", index)
                try h5.createGroup(group)
                let c = result.configuration
                let summary: [String: AttributeValue] = [
                    "name": .string(c.name), "kind": .string(c.kind), "rows": .string(c.rows), "layer": .int(Int64(c.layer)),
                    "head": .int(Int64(c.head)), "tau": .double(result.tau), "accuracies": .doubles(result.accuracies),
                    "same_text_as_unablated": .int(Int64(result.sameAsBaseline)),
                ]
                for (name, value) in summary { try h5.setAttribute(name, value, on: group) }
                try h5.writeDataset(group + "/step_question", result.stepQuestion)
                try h5.writeDataset(group + "/step_accepted", result.stepAccepted)
                try h5.writeDataset(group + "/step_hits", result.stepHits.map(Int32.init), shape: [result.stepAccepted.count, result.hits.count])
            }
            try h5.createGroup("/activations")
            for step in roles.roles.keys.sorted().prefix(3) {
                let group = "/activations/step_\(step)"
                try h5.createGroup(group)
                try h5.writeStrings(group + "/roles", roles.roles[step]!.map(Self.describe))
                for layer in capture.layers!.sorted() {
                    guard let values = capture.patch.values(step: step, layer: layer, site: .layerOutput) else { continue }
                    try h5.writeDataset(String(format: "%@/layer_%02d_layer_output", group, layer), values, shape: [roles.roles[step]!.count, values.count / roles.roles[step]!.count])
                }
            }
            try h5.close()
        } catch {
            h5.discard()
            throw error
        }
    }

    static func describe(_ role: RowRole) -> String {
        switch role {
        case .input: return "input"
        case .root: return "root"
        case .guess(let distance, let rank): return "guess d\(distance) r\(rank)"
        case .drafted(let distance): return "drafted d\(distance)"
        case .promptToken(let index, let virtual): return "prompt \(index) v\(virtual)"
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
