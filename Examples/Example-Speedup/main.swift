// Example-Speedup: the paper's Table 1 and Figure 5 on this machine. Plain decoding against
// parallel prompt decoding on MT-Bench, HumanEval, GSM8K and Alpaca Eval, greedy, and on
// MT-Bench with FastChat's per-category temperatures (rejection sampling, lossless): decoding
// speed, tokens per step (tau), forward latency, rows per step, whether greedy PPD gives the
// plain text token for token, the trainable-parameter share and the tree's size per depth.
//
//   swift run -c release Example-Speedup                        # 4 questions per benchmark, 64 tokens
//   swift run -c release Example-Speedup --bench gsm8k --questions 10 --rounds 3

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct Speedup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-Speedup", abstract: "Plain decoding vs parallel prompt decoding per benchmark (Table 1, Fig. 5).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Flag(inversion: .prefixedNo, help: "Also run MT-Bench at its per-category temperatures (rejection sampling).")
    var sampled = true

    /// Questions per benchmark and tokens per question (`--questions`, `--max-tokens`).
    var questionCount: Int { selection.questionCount(default: 4) }
    var maxTokens: Int { selection.tokens(default: 64) }

    func run() throws {
        let prefix = try output.prefix(default: "Experiments/results/speedup")
        let s = try session.makeSession()
        // The methods: plain decoding; the tools' default PPD (hardware-aware tree, guess head,
        // prompt-lookup drafts merged in); the prompt tokens alone on the same tree.
        let tree = try s.sizing().best().tree
        let methods = [
            DecodingMethod.autoregressive(s.model),
            .promptDecoding(try s.defaultDecoder(), name: "ppd"),
            .promptDecoding(try s.decoder(tree: tree), name: "ppd-prompt-tokens-only"),
        ]
        var runs: [(name: String, benchmark: Benchmark, sampled: Bool)] = selection.benchmarks(default: Benchmark.allCases).map {
            ($0.rawValue, $0, false)
        }
        if sampled && runs.contains(where: { $0.benchmark == .mtBench }) { runs.append(("mt_bench-sampled", .mtBench, true)) }

        var parts: [(name: String, result: ExperimentResultFile)] = []
        for run in runs {
            note("\(run.name): \(questionCount) questions, \(maxTokens) tokens, \(selection.rounds) round(s)")
            let questions = try selection.pick(from: run.benchmark, count: questionCount)
            let summaries = try SideBySide(methods, rounds: selection.rounds).run(
                prompts: s.prompts(questions, from: run.benchmark),
                options: { q in
                    let temperature = run.sampled ? run.benchmark.temperature(for: questions[q]) : 0
                    return s.options(maxTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, seed: UInt64(q)))
                },
                progress: note)
            let settings: [String: AttributeValue] = ["bench": .string(run.benchmark.rawValue), "sampled": .bool(run.sampled)]
            parts.append((run.name, ExperimentResultFile(settings: settings, questions: questions, methods: methods, summaries: summaries)))
        }

        let table = try makeTable(parts, session: s, tree: tree)
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        var settings = s.settings()
        settings["max_tokens"] = .int(Int64(maxTokens))
        settings["questions_per_benchmark"] = .int(Int64(questionCount))
        settings["question_offset"] = .int(Int64(selection.offset))
        settings["rounds"] = .int(Int64(selection.rounds))
        settings["trainable_parameter_share"] = .double(trainableShare(s))
        try ExperimentResultFile.write(parts: parts, settings: settings, to: prefix + ".h5")
        try figure(parts, methods: methods, caption: s.describeMachine()).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// One row per benchmark and method.
    func makeTable(_ parts: [(name: String, result: ExperimentResultFile)], session s: ExperimentSession, tree: DynamicTree) throws -> ResultTable {
        let perDepth = tree.trees.keys.sorted().map { "depth \($0): \(tree.trees[$0]?.nodes.count ?? 0)" }.joined(separator: ", ")
        var table = ResultTable(
            columns: ["benchmark", "method", "tok/s", "tau", "speedup", "overall", "forward ms", "rows/step", "same as plain"],
            notes: [
                "\(questionCount) questions per benchmark (offset \(selection.offset)), \(maxTokens) tokens, \(selection.rounds) round(s); \(s.describeMachine())",
                String(format: "trainable parameters: %d prompt tokens x %d virtual x %d = %.2e%% of the model; hardware-aware tree: %d prompt token(s), nodes by depth key (%@)",
                    s.promptTokens.count, s.promptTokens.virtualTokens, s.model.config.hiddenSize, trainableShare(s) * 100, tree.promptTokens, perDepth),
                "speedup: median over questions of the per-question tok/s ratio to plain decoding; overall: all tokens over all seconds, as a ratio (slow questions weigh more)",
                "sampled: MT-Bench category temperatures, rejection sampling (seed = question index)",
            ])
        for (name, result) in parts {
            let baseline = result.methods[0].summary
            let sampled = result.settings["sampled"] == .bool(true)
            for method in result.methods {
                let summary = method.summary
                try table.append([
                    name, method.name, String(format: "%.1f", summary.tokensPerSecond), String(format: "%.2f", summary.tau),
                    String(format: "%.2fx", summary.speedup(over: baseline)),
                    String(format: "%.2fx", baseline.tokensPerSecond > 0 ? summary.tokensPerSecond / baseline.tokensPerSecond : .nan),
                    String(format: "%.1f", summary.meanForwardSeconds * 1000),
                    String(format: "%.1f", summary.meanRows),
                    method.name == "autoregressive" ? "-" : sampled ? "n/a (sampled)" : (summary.sameTokens(as: baseline) ? "yes" : "NO"),
                ])
            }
        }
        return table
    }

    /// The prompt tokens' parameters as a share of the model's.
    func trainableShare(_ s: ExperimentSession) -> Double {
        let parameters = s.modelFile.tensors.reduce(0) { $0 + $1.elementCount }
        return Double(s.promptTokens.count * s.promptTokens.virtualTokens * s.model.config.hiddenSize) / Double(parameters)
    }

    /// Speedup over plain decoding per benchmark, one bar per PPD method (Fig. 5's layout).
    func figure(_ parts: [(name: String, result: ExperimentResultFile)], methods: [DecodingMethod], caption: String) -> BarChart {
        let series = methods.dropFirst().map { method in
            BarChart.Series(name: method.name, values: parts.map { part in
                let summaries = part.result.methods.map(\.summary)
                let index = part.result.methods.firstIndex { $0.name == method.name }
                return index.map { summaries[$0].speedup(over: summaries[0]) } ?? .nan
            })
        }
        return BarChart(
            title: "PPD speedup over plain decoding by benchmark (\(maxTokens) tokens x \(questionCount) questions)",
            yLabel: "speedup (tok/s ratio)", categories: parts.map(\.name), series: series, reference: 1, caption: caption)
    }
}
