// Example-HardwareAware: the paper's Fig. 8b/8c on this machine. The best tree depends on the
// hardware: for several "hardware points" this machine can be (thread count x matrix
// arithmetic), the sizing model's predicted tokens per step and speedup against tree size
// (from that point's measured cost curve), and the measured speedup of the prompt tokens' trees
// at a few sizes, with each curve's best size marked. PPD here is the prompt tokens alone (no
// prompt-lookup drafts): the drafts would hide what the hardware does to the tree.
//
//   swift run -c release Example-HardwareAware                      # points 2:int8, 1:int8, 2:float32
//   swift run -c release Example-HardwareAware --points 2:int8,1:int8 --limits 2,4,8,16 --questions 6

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct HardwareAware: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-HardwareAware", abstract: "Predicted and measured speedup against tree size per hardware point (Fig. 8b/8c).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Hardware points THREADS:ARITHMETIC, comma separated (arithmetic int8 or float32).")
    var points = "2:int8,1:int8,2:float32"
    @Option(help: "Input length limits of the measured dynamic trees (all prompt tokens), comma separated.")
    var limits = "2,4,8,16,32"

    /// One hardware point.
    struct Point {
        var threads: Int
        var arithmetic: MatrixArithmetic
        var name: String { "\(threads) thread\(threads == 1 ? "" : "s"), \(arithmetic.rawValue)" }
    }

    func validate() throws {
        _ = try parsePoints()
        _ = try parseLimits()
    }

    func run() throws {
        let bench = try selection.single()
        let prefix = try output.prefix(default: "Experiments/results/hardware-aware")
        let questions = try selection.pick(from: bench, count: selection.questionCount(default: 3))
        let maxTokens = selection.tokens(default: 48)
        var parts: [(name: String, result: ExperimentResultFile)] = []
        var curves: [(point: Point, predicted: [TreeSizing.Candidate], best: TreeSizing.Candidate)] = []
        var settings: [String: AttributeValue] = [:]
        for point in try parsePoints() {
            note("hardware point: \(point.name)")
            let s = try session.makeSession(arithmetic: point.arithmetic, threads: point.threads)
            let sizing = try s.sizing()
            let best = try sizing.best()
            var methods = [DecodingMethod.autoregressive(s.model)]
            for limit in try parseLimits() {
                let candidate = try sizing.dynamic(inputLimit: limit)
                methods.append(.promptDecoding(try s.decoder(tree: candidate.tree), name: "dynamic-L\(limit)", attributes: attributes(candidate)))
            }
            methods.append(.promptDecoding(
                try s.decoder(tree: best.tree), name: "hardware-aware N\(best.tree.promptTokens)-L\(best.size)", attributes: attributes(best)))
            let summaries = try SideBySide(methods, rounds: selection.rounds).run(
                prompts: s.prompts(questions, from: bench), options: { _ in s.options(maxTokens: maxTokens) }, progress: note)
            parts.append((point.name, ExperimentResultFile(
                settings: ["threads": .int(Int64(point.threads)), "arithmetic": .string(point.arithmetic.rawValue),
                           "cost_profile_seconds": .doubles(sizing.profile.seconds)],
                questions: questions, methods: methods, summaries: summaries)))
            curves.append((point, try sizing.dynamicCurve(), best))
            if settings.isEmpty { settings = s.settings() }
        }

        let table = try makeTable(parts, curves: curves, caption: "\(bench.rawValue), \(questions.count) questions (offset \(selection.offset)), \(maxTokens) tokens, \(selection.rounds) round(s); \(settings["machine"]?.stringValue ?? ""), \(RunInfo.date())")
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        settings["bench"] = .string(bench.rawValue)
        settings["max_tokens"] = .int(Int64(maxTokens))
        try ExperimentResultFile.write(parts: parts, settings: settings, to: prefix + ".h5")
        try figure(parts, curves: curves, caption: "\(settings["machine"]?.stringValue ?? ""), \(RunInfo.date()), git \(RunInfo.gitCommit().prefix(10))")
            .write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// A tree's size and prediction as result-file attributes.
    func attributes(_ candidate: TreeSizing.Candidate) -> [String: AttributeValue] {
        [
            "kind": .string(candidate.kind), "size": .int(Int64(candidate.size)), "prompt_tokens": .int(Int64(candidate.tree.promptTokens)),
            "predicted_mean_rows": .double(candidate.meanRows), "predicted_tokens_per_step": .double(candidate.tokensPerStep),
            "predicted_speedup": .double(candidate.predictedSpeedup),
        ]
    }

    /// One row per hardware point and tree: predicted and measured tokens per step and speedup.
    func makeTable(
        _ parts: [(name: String, result: ExperimentResultFile)], curves: [(point: Point, predicted: [TreeSizing.Candidate], best: TreeSizing.Candidate)],
        caption: String
    ) throws -> ResultTable {
        var table = ResultTable(
            columns: ["hardware point", "tree", "rows/step", "predicted tau", "tau", "predicted speedup", "speedup", "same as plain"],
            notes: [caption, "predicted: the sizing model on the point's own cost curve; speedup: median over questions of the per-question tok/s ratio"])
        for ((name, result), curve) in zip(parts, curves) {
            let baseline = result.methods[0].summary
            for method in result.methods.dropFirst() {
                let summary = method.summary
                try table.append([
                    name, method.name, String(format: "%.1f", summary.meanRows),
                    String(format: "%.2f", method.attributes["predicted_tokens_per_step"]?.doubleValue ?? .nan), String(format: "%.2f", summary.tau),
                    String(format: "%.2f", method.attributes["predicted_speedup"]?.doubleValue ?? .nan),
                    String(format: "%.2fx", summary.speedup(over: baseline)), summary.sameTokens(as: baseline) ? "yes" : "no",
                ])
            }
            let measuredBest = result.methods.dropFirst().max { $0.summary.speedup(over: baseline) < $1.summary.speedup(over: baseline) }
            try table.append([
                name, "best: predicted N\(curve.best.tree.promptTokens)-L\(curve.best.size), measured \(measuredBest?.name ?? "-")",
            ])
        }
        return table
    }

    /// Predicted speedup against mean rows per step (lines, one per point, for all prompt
    /// tokens) and the measured speedups (points), each point's predicted best marked.
    func figure(
        _ parts: [(name: String, result: ExperimentResultFile)], curves: [(point: Point, predicted: [TreeSizing.Candidate], best: TreeSizing.Candidate)],
        caption: String
    ) -> LinePlot {
        var speed: [LinePlot.Series] = []
        var tau: [LinePlot.Series] = []
        var highlights: [(x: Double, y: Double, label: String)] = []
        for ((name, result), curve) in zip(parts, curves) {
            let baseline = result.methods[0].summary
            speed.append(.init(name: "\(name) (predicted)", points: curve.predicted.map { (x: $0.meanRows, y: $0.predictedSpeedup) }))
            speed.append(.init(
                name: "\(name) (measured)", points: result.methods.dropFirst().map { (x: $0.summary.meanRows, y: $0.summary.speedup(over: baseline)) },
                line: false))
            tau.append(.init(name: "\(name) (predicted)", points: curve.predicted.map { (x: $0.meanRows, y: $0.tokensPerStep) }))
            tau.append(.init(name: "\(name) (measured)", points: result.methods.dropFirst().map { (x: $0.summary.meanRows, y: $0.summary.tau) }, line: false))
            highlights.append((curve.best.meanRows, curve.best.predictedSpeedup, "best on \(name): N = \(curve.best.tree.promptTokens), L = \(curve.best.size)"))
        }
        // One mark when every point chose the same tree.
        let choices = Set(curves.map { "N = \($0.best.tree.promptTokens), L = \($0.best.size)" })
        if curves.count > 1, choices.count == 1, let first = highlights.first {
            highlights = [(first.x, first.y, "best on all \(curves.count) points: \(choices.first!)")]
        }
        return LinePlot(
            title: "Hardware-aware tree size: speedup and tokens per step against rows per step", xLabel: "batch rows per verification step (mean)",
            panels: [
                LinePlot.Panel(title: "speedup over plain decoding", yLabel: "speedup", series: speed, reference: 1, highlights: highlights),
                LinePlot.Panel(title: "tokens per step (tau)", yLabel: "tau", series: tau, reference: 1),
            ],
            caption: caption)
    }

    func parsePoints() throws -> [Point] {
        try CommaSeparated.parse(points, option: "--points", expected: "THREADS:ARITHMETIC (for example 2:int8 or 1:float32)") { item in
            let fields = item.split(separator: ":").map(String.init)
            guard fields.count == 2, let threads = Int(fields[0]), threads >= 1, let arithmetic = MatrixArithmetic(rawValue: fields[1]) else { return nil }
            return Point(threads: threads, arithmetic: arithmetic)
        }
    }

    func parseLimits() throws -> [Int] { try CommaSeparated.inputLimits(limits) }
}
