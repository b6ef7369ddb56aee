// Example-Sampling: the paper's Section 5.1 on this machine. PPD with sampling: lossless
// rejection sampling over the tree and Medusa's typical acceptance, against plain sampling, at
// temperatures 0 ... 1: decoding speed, tokens per step and speedup; then a check of what each
// one samples: many draws of the first two tokens of one prompt against the model's exact
// sampling distribution (Pearson's chi-square). Rejection sampling should be indistinguishable
// from plain sampling; typical acceptance, which favours likely guesses, should not.
//
//   swift run -c release Example-Sampling                              # 4 MT-Bench questions, 48 tokens
//   swift run -c release Example-Sampling --temperatures 0.5,1 --draws 2000

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct Sampling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-Sampling", abstract: "Rejection sampling and typical acceptance against plain sampling (Section 5.1).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Sampling temperatures of the speed comparison, comma separated.")
    var temperatures = "0,0.3,0.7,1"
    @Option(help: "Temperature of the distribution check.")
    var checkTemperature: Float = 0.7
    @Option(help: "Draws per method in the distribution check.")
    var draws = 600
    @Option(help: "Seed of the first draw (draw d and question q use seed + d, seed + q).")
    var seed: UInt64 = 0

    func validate() throws {
        _ = try parseTemperatures()
        guard checkTemperature > 0, draws >= 50 else { throw ValidationError("--check-temperature must be > 0 and --draws >= 50") }
    }

    func run() throws {
        let bench = try selection.single()
        let prefix = try output.prefix(default: "Experiments/results/sampling")
        let s = try session.makeSession()
        let decoder = try s.defaultDecoder()
        let methods = [
            DecodingMethod.autoregressive(s.model, name: "plain sampling"),
            .promptDecoding(decoder, name: "ppd rejection sampling", policy: .rejection),
            .promptDecoding(decoder, name: "ppd typical acceptance", policy: .typical),
        ]
        let questions = try selection.pick(from: bench, count: selection.questionCount(default: 4))
        let prompts = s.prompts(questions, from: bench)
        let maxTokens = selection.tokens(default: 48)

        var parts: [(name: String, result: ExperimentResultFile)] = []
        for temperature in try parseTemperatures() {
            note("temperature \(temperature): \(questions.count) questions, \(maxTokens) tokens")
            let summaries = try SideBySide(methods, rounds: selection.rounds).run(
                prompts: prompts,
                options: { q in s.options(maxTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, seed: seed &+ UInt64(q))) },
                progress: note)
            parts.append((
                "T=\(temperature)",
                ExperimentResultFile(settings: ["temperature": .double(Double(temperature))], questions: questions, methods: methods, summaries: summaries)
            ))
        }

        note("distribution check: \(draws) draws of the first two tokens per method at temperature \(checkTemperature)")
        let sampling = SamplingParameters(temperature: checkTemperature, seed: seed)
        let check = try TwoTokenSamplingCheck(model: s.model, prompt: prompts[0], sampling: sampling)
        var meter = ProgressMeter(total: draws * methods.count, unit: "draws")
        let checks = try methods.map { method in
            let drawn = try (0..<draws).map { d -> [Int32] in
                let run = try method.generate(prompts[0], GenerationOptions(maxTokens: 2, sampling: SamplingParameters(temperature: checkTemperature, seed: seed &+ UInt64(d))))
                let line = meter.advance(method.name)
                if (d + 1) % 100 == 0 { note(line) }
                return run.tokens
            }
            return check.test(drawn)
        }

        let tables = try makeTables(parts, checks: checks, methods: methods, coveredMass: check.coveredMass, caption: "\(bench.rawValue), \(questions.count) questions (offset \(selection.offset)), \(maxTokens) tokens, \(selection.rounds) round(s); \(s.describeMachine())")
        let text = tables.map(\.text).joined(separator: "\n")
        print("\n" + text, terminator: "")
        try OutputOptions.write(text + "\n" + tables.map(\.markdown).joined(separator: "\n"), to: prefix + ".txt")
        var settings = s.settings()
        settings["bench"] = .string(bench.rawValue)
        settings["max_tokens"] = .int(Int64(maxTokens))
        settings["check_temperature"] = .double(Double(checkTemperature))
        settings["check_draws"] = .int(Int64(draws))
        settings["check_covered_mass"] = .double(check.coveredMass)
        for (method, result) in zip(methods, checks) {
            let key = method.name.replacingOccurrences(of: " ", with: "_")
            settings["check_\(key)_chi_square"] = .double(result.statistic)
            settings["check_\(key)_degrees_of_freedom"] = .int(Int64(result.degreesOfFreedom))
            settings["check_\(key)_p_value"] = .double(result.pValue)
            settings["check_\(key)_total_variation"] = .double(result.totalVariation)
        }
        try ExperimentResultFile.write(parts: parts, settings: settings, to: prefix + ".h5")
        try figure(parts, caption: s.describeMachine()).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// The speed table (one row per temperature and method) and the distribution check's table.
    func makeTables(
        _ parts: [(name: String, result: ExperimentResultFile)], checks: [TwoTokenSamplingCheck.Result], methods: [DecodingMethod],
        coveredMass: Double, caption: String
    ) throws -> [ResultTable] {
        var speed = ResultTable(
            columns: ["temperature", "method", "tok/s", "tau", "speedup", "overall"],
            notes: [caption, "speedup: median over questions of the per-question tok/s ratio to plain sampling; overall: all tokens over all seconds"])
        for (name, result) in parts {
            let baseline = result.methods[0].summary
            for method in result.methods {
                let summary = method.summary
                try speed.append([
                    name, method.name, String(format: "%.1f", summary.tokensPerSecond), String(format: "%.2f", summary.tau),
                    String(format: "%.2fx", summary.speedup(over: baseline)),
                    String(format: "%.2fx", baseline.tokensPerSecond > 0 ? summary.tokensPerSecond / baseline.tokensPerSecond : .nan),
                ])
            }
        }
        var check = ResultTable(
            columns: ["method", "draws", "chi-square", "dof", "p-value", "total variation", "verdict at 0.001"],
            notes: [String(format: "first two tokens of question 1 at temperature %.2f against the exact distribution (pairs covering %.4f of it; pairs expected < 5 times pooled)", checkTemperature, coveredMass)])
        for (method, result) in zip(methods, checks) {
            try check.append([
                method.name, "\(result.draws)", String(format: "%.1f", result.statistic), "\(result.degreesOfFreedom)",
                String(format: "%.3g", result.pValue), String(format: "%.3f", result.totalVariation),
                result.pValue >= 0.001 ? "consistent with the model" : "differs from the model",
            ])
        }
        return [speed, check]
    }

    /// Speedup and tokens per step against temperature, one line per PPD policy.
    func figure(_ parts: [(name: String, result: ExperimentResultFile)], caption: String) -> LinePlot {
        let names = parts.first?.result.methods.dropFirst().map(\.name) ?? []
        func series(_ value: @escaping (RunSummary, RunSummary) -> Double) -> [LinePlot.Series] {
            names.map { name in
                LinePlot.Series(name: name, points: parts.compactMap { part in
                    guard let method = part.result.methods.first(where: { $0.name == name }),
                        let temperature = part.result.settings["temperature"]?.doubleValue
                    else { return nil }
                    return (x: temperature, y: value(method.summary, part.result.methods[0].summary))
                })
            }
        }
        return LinePlot(
            title: "PPD with sampling: speedup and tokens per step by temperature", xLabel: "temperature",
            panels: [
                LinePlot.Panel(title: "speedup over plain sampling", yLabel: "speedup", series: series { $0.speedup(over: $1) }, reference: 1),
                LinePlot.Panel(title: "tokens per step (tau)", yLabel: "tau", series: series { summary, _ in summary.tau }, reference: 1),
            ],
            caption: caption)
    }

    func parseTemperatures() throws -> [Float] {
        try CommaSeparated.parse(temperatures, option: "--temperatures", expected: "a temperature in 0...2") {
            Float($0).flatMap { (0...2).contains($0) ? $0 : nil }
        }
    }
}
