// Example-TreeAblation: which candidate tree makes parallel prompt decoding fastest here?
//
// On a few benchmark questions it runs plain decoding and PPD with:
//   - dynamic sparse trees (the paper's two-stage pruning) at several input length limits,
//   - the naive tree of the same limits (Fig. 8a: every node carries all prompt tokens),
//   - the static (Medusa-style) tree with the same number of input rows,
//   - a random tree and a chain,
//   - the hardware-aware choice (best predicted speedup on this machine's cost profile), with
//     and without the guess head, and the tools' default (that tree with prompt lookup merged),
//   - any tree of your own (--tree FILE, repeatable; see README "Custom trees").
// It prints a table, writes every step to one HDF5 file, and plots speedup and tokens per step
// against batch rows per step (SVG).
//
//   swift run -c release Example-TreeAblation                   # MT-Bench, 4 questions, 48 tokens
//   swift run -c release Example-TreeAblation --tree my.json --bench gsm8k --questions 8

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct TreeAblation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-TreeAblation",
        abstract: "Compare candidate trees for parallel prompt decoding against plain decoding on this machine.")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Input length limits of the dynamic and naive trees (nodes + prompt tokens), comma separated.")
    var limits = "4,8,16,32"
    @Option(help: "Acceptance policy: greedy, typical or rejection.")
    var policy: AcceptancePolicyKind = .greedy
    @Option(help: "Sampling temperature for typical and rejection.")
    var temperature: Float = 0.7
    @Option(help: "Seed (sampling, random tree).")
    var seed: UInt64 = 0
    @Option(name: .customLong("tree"), help: "A tree file of your own to compare (repeatable).")
    var userTrees: [String] = []

    func validate() throws {
        _ = try parseLimits()
        _ = try selection.single()
    }

    /// Questions per benchmark and tokens per question (`--questions`, `--max-tokens`).
    var questionCount: Int { selection.questionCount(default: 4) }
    var maxTokens: Int { selection.tokens(default: 48) }

    func run() throws {
        let bench = try selection.single()
        let prefix = try output.prefix(default: "Experiments/results/tree-ablation-\(bench.rawValue)")
        let s = try session.makeSession()
        let sizing = try s.sizing()
        let chosen = try sizing.best()
        note(String(format: "hardware-aware choice: %d prompt tokens, input limit %d, predicted %.2f tokens/step, speedup %.2f (%@)",
            chosen.tree.promptTokens, chosen.size, chosen.tokensPerStep, chosen.predictedSpeedup, s.describeMachine()))

        let methods = try makeMethods(s, sizing: sizing, chosen: chosen)
        let questions = try selection.pick(from: bench, count: questionCount)
        let sampling = policy == .greedy ? SamplingParameters.greedy : SamplingParameters(temperature: temperature, seed: seed)
        let summaries = try SideBySide(methods, rounds: selection.rounds).run(
            prompts: s.prompts(questions, from: bench), options: { _ in s.options(maxTokens: maxTokens, sampling: sampling) },
            progress: note)

        var settings = s.settings()
        settings["bench"] = .string(bench.rawValue)
        settings["max_tokens"] = .int(Int64(maxTokens))
        settings["rounds"] = .int(Int64(selection.rounds))
        settings["policy"] = .string(policy.rawValue)
        settings["temperature"] = .double(Double(sampling.temperature))
        settings["seed"] = .int(Int64(bitPattern: seed))
        settings["cost_profile_seconds"] = .doubles(sizing.profile.seconds)
        let result = ExperimentResultFile(settings: settings, questions: questions, methods: methods, summaries: summaries)
        let table = try makeTable(result, caption: "\(bench.rawValue), \(questions.count) questions, \(maxTokens) tokens, policy \(policy.rawValue); \(s.describeMachine())")
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        try result.write(to: prefix + ".h5")
        try figure(result, sizing: sizing, chosen: chosen, caption: s.describeMachine()).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// Plain decoding first (the baseline), then one method per tree; each carries its kind, size
    /// and prediction as result-file attributes.
    func makeMethods(_ s: ExperimentSession, sizing: TreeSizing, chosen: TreeSizing.Candidate) throws -> [DecodingMethod] {
        var methods = [DecodingMethod.autoregressive(s.model)]
        func add(_ name: String, kind: String, tree: DynamicTree, size: Int, predicted: TreeSizing.Candidate?, usesGuessHead: Bool = true) throws {
            let attributes: [String: AttributeValue] = [
                "kind": .string(kind), "size": .int(Int64(size)), "nodes_per_depth": .string(nodesPerDepth(tree)),
                "predicted_tokens_per_step": .double(predicted?.tokensPerStep ?? .nan),
                "predicted_speedup": .double(predicted?.predictedSpeedup ?? .nan),
                "guess_head": .bool(usesGuessHead && s.guess != nil),
            ]
            methods.append(.promptDecoding(try s.decoder(tree: tree, usesGuessHead: usesGuessHead), name: name, policy: policy, attributes: attributes))
        }
        let n = sizing.builder.promptTokens
        try add("chain", kind: "chain", tree: try .chain(promptTokens: n), size: n, predicted: nil)
        let rowsPerNode = 1 + n * s.promptTokens.virtualTokens
        for limit in try parseLimits() {
            let dynamic = try sizing.dynamic(inputLimit: limit)
            try add("dynamic-L\(limit)", kind: "dynamic", tree: dynamic.tree, size: limit, predicted: dynamic)
            if limit >= n + 1 {
                let naive = try sizing.naive(inputLimit: limit)
                try add("naive-L\(limit)", kind: "naive", tree: naive.tree, size: limit, predicted: naive)
            }
            let nodes = max(1, limit / rowsPerNode)
            let fixed = try sizing.staticTree(nodes: nodes)
            try add("static-n\(nodes)-L\(limit)", kind: "static", tree: fixed.tree, size: nodes, predicted: fixed)
        }
        let auto = "auto-N\(chosen.tree.promptTokens)-L\(chosen.size)"
        try add(auto, kind: "auto", tree: chosen.tree, size: chosen.size, predicted: chosen)
        if s.guess != nil {
            // The same tree with every row on the full output layer: what the guess head buys.
            let fullHead = TreeSizing(builder: sizing.builder, profile: sizing.profile, virtualTokens: sizing.virtualTokens)
            let full = try fullHead.usingPromptTokens(chosen.tree.promptTokens).dynamic(inputLimit: chosen.size)
            try add(auto + "-full-head", kind: "auto", tree: full.tree, size: chosen.size, predicted: full, usesGuessHead: false)
        }
        var random = RandomSource(seed: seed)
        let randomTree = try DynamicTree.random(promptTokens: chosen.tree.promptTokens, inputLimit: chosen.size, using: &random)
        try add("random-N\(chosen.tree.promptTokens)-L\(chosen.size)", kind: "random", tree: randomTree, size: chosen.size, predicted: nil)
        for path in userTrees {
            let tree = try DynamicTree(contentsOf: URL(fileURLWithPath: path))
            try add("user-" + URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, kind: "user", tree: tree, size: 0, predicted: nil)
        }
        // The tools' default: the hardware-aware tree with prompt-lookup drafts merged in.
        methods.append(.promptDecoding(try s.defaultDecoder(), name: "default (\(auto) + lookup)", policy: policy, attributes: [
            "kind": .string("default"), "size": .int(Int64(chosen.size)), "nodes_per_depth": .string(nodesPerDepth(chosen.tree)),
            "predicted_tokens_per_step": .double(.nan), "predicted_speedup": .double(.nan), "guess_head": .bool(s.guess != nil),
        ]))
        return methods
    }

    /// One row per method, from the result file's records.
    func makeTable(_ result: ExperimentResultFile, caption: String) throws -> ResultTable {
        let baseline = result.methods[0].summary
        var table = ResultTable(
            columns: ["tree", "nodes/depth", "rows/step", "tau", "tok/s", "speedup", "predicted", "same as plain"],
            notes: [caption, "speedup: median over questions of tok/s over plain decoding's; predicted: the sizing model's speedup"])
        for method in result.methods {
            let summary = method.summary
            let predicted = method.attributes["predicted_speedup"]?.doubleValue ?? .nan
            try table.append([
                method.name, method.attributes["nodes_per_depth"]?.stringValue ?? "-", String(format: "%.1f", summary.meanRows),
                String(format: "%.2f", summary.tau), String(format: "%.1f", summary.tokensPerSecond),
                String(format: "%.2fx", summary.speedup(over: baseline)), predicted.isNaN ? "-" : String(format: "%.2f", predicted),
                method.name == result.methods[0].name ? "-" : summary.sameTokens(as: baseline) ? "yes" : "no",
            ])
        }
        return table
    }

    /// Measured speedup and tokens per step against mean rows per step by tree kind, with the
    /// predicted curve of the hardware-aware number of prompt tokens.
    func figure(_ result: ExperimentResultFile, sizing: TreeSizing, chosen: TreeSizing.Candidate, caption: String) throws -> LinePlot {
        let baseline = result.methods[0].summary
        var speed: [LinePlot.Series] = []
        var tau: [LinePlot.Series] = []
        for kind in ["dynamic", "naive", "static", "chain", "random", "auto", "default", "user"] {
            let picked = result.methods.filter { $0.attributes["kind"]?.stringValue == kind }
            guard !picked.isEmpty else { continue }
            let line = ["dynamic", "naive", "static"].contains(kind)
            speed.append(.init(
                name: "\(kind) (measured)", points: picked.map { (x: $0.summary.meanRows, y: $0.summary.speedup(over: baseline)) },
                line: line, labels: kind == "user" ? picked.map(\.name) : []))
            tau.append(.init(name: "\(kind) (measured)", points: picked.map { (x: $0.summary.meanRows, y: $0.summary.tau) }, line: line))
        }
        let n = chosen.tree.promptTokens
        let predicted = try sizing.usingPromptTokens(n).dynamicCurve()
        speed.append(.init(name: "dynamic N=\(n) (predicted)", points: predicted.map { (x: $0.meanRows, y: $0.predictedSpeedup) }))
        tau.append(.init(name: "dynamic N=\(n) (predicted)", points: predicted.map { (x: $0.meanRows, y: $0.tokensPerStep) }))
        let auto = result.methods.first { $0.attributes["kind"]?.stringValue == "auto" }.map(\.summary)
        return LinePlot(
            title: "Tree ablation: PPD vs plain decoding, \(result.settings["bench"]?.stringValue ?? ""), \(maxTokens) tokens x \(questionCount) questions",
            xLabel: "batch rows per verification step (mean)",
            panels: [
                LinePlot.Panel(
                    title: "speedup over plain decoding", yLabel: "speedup", series: speed, reference: 1,
                    highlights: auto.map { [($0.meanRows, $0.speedup(over: baseline), "hardware-aware (N = \(n), L = \(chosen.size))")] } ?? []),
                LinePlot.Panel(title: "tokens per step (tau)", yLabel: "tau", series: tau, reference: 1),
            ],
            caption: caption)
    }

    func parseLimits() throws -> [Int] { try CommaSeparated.inputLimits(limits) }

    /// Nodes per depth key, e.g. "4/3/4".
    func nodesPerDepth(_ tree: DynamicTree) -> String {
        tree.trees.keys.sorted().map { String(tree.trees[$0]?.nodes.count ?? 0) }.joined(separator: "/")
    }
}
