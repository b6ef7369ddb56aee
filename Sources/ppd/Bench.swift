import ArgumentParser
import Foundation
import CommandOptions
import PPD

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prefill and decode speed and the forward-pass cost curve.",
        discussion: "Cost curve: latency of one forward pass over n new tokens after a context of --context tokens. Medians of --runs runs.")

    @Argument(help: "GGUF model (default: the default model).")
    var model: String?

    @Option(help: "Context length before each measured forward pass (also the prefill length).")
    var context = 256

    @Option(help: "Decode steps per run.")
    var decodeSteps = 64

    @Option(help: "Repetitions (medians are reported).")
    var runs = 5

    @Option(help: "Comma-separated input sizes of the cost curve.")
    var sizes = "1,2,4,8,16,32,64"

    @Flag(help: "Also measure the curve of rows that keep only their best token (a greedy verification step's node rows), interleaved with the full-logit curve.")
    var bestTokens = false

    @OptionGroup(title: "Computation")
    var compute: ComputeOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let sizeList = try sizes.split(separator: ",").map { part -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw ValidationError("--sizes: '\(part)' is not a positive integer")
            }
            return n
        }
        let transformer = try ModelLoader.load(path: try ModelLocation.resolve(model), threads: compute.threads, arithmetic: compute.arithmetic)
        var benchmark = ForwardBenchmark(model: transformer)
        benchmark.contextLength = context
        benchmark.decodeSteps = decodeSteps
        benchmark.runs = runs
        benchmark.progress = { note($0) }
        note("arithmetic \(compute.arithmetic)\(compute.arithmetic == .int8 ? " on the \(Int8Kernel.configurationName ?? "no") kernels" : "")")
        let report = try benchmark.run(sizes: sizeList, bestTokens: bestTokens)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(String(format: "prefill (%d tokens): %.1f tok/s", context, report.prefillTokensPerSecond))
        print(String(format: "decode: %.1f tok/s", report.decodeTokensPerSecond))
        print("cost curve after \(context) tokens of context (median of \(runs)):")
        print("  tokens  latency_ms  tok/s   relative_cost" + (report.bestTokenCurve == nil ? "" : "  best_token_ms  best_token_relative"))
        for (i, p) in report.costCurve.enumerated() {
            var line = String(format: "  %6d  %10.2f  %6.1f  %6.2f", p.tokens, p.seconds * 1000, p.tokensPerSecond, p.relativeCost)
            if let best = report.bestTokenCurve?[i] { line += String(format: "  %13.2f  %19.2f", best.seconds * 1000, best.relativeCost) }
            print(line)
        }
    }
}
