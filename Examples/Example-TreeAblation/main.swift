// Example-TreeAblation: which candidate tree makes parallel prompt decoding fastest here?
//
// On a few benchmark questions it runs plain autoregressive decoding and PPD with:
//   - dynamic sparse trees (the paper's two-stage pruning) at several input length limits,
//   - the static (Medusa-style) tree with the same number of input rows,
//   - a random tree and a chain,
//   - the hardware-aware choice (best predicted speedup on this machine's cost profile), with
//     and without the guess head (prompt rows ranking guesses among the most frequent tokens),
//   - any tree of your own (--tree FILE, repeatable; see README "Custom trees").
// It prints a table, writes every step to one HDF5 file, and plots speedup and tokens per step
// against tree size (SVG).
//
//   swift run -c release Example-TreeAblation                   # MT-Bench, 4 questions, 48 tokens
//   swift run -c release Example-TreeAblation --tree my.json --bench gsm8k --questions 8

import ArgumentParser
import Foundation
import PPD

extension MatrixArithmetic: ExpressibleByArgument {}

@main
struct TreeAblation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-TreeAblation",
        abstract: "Compare candidate trees for parallel prompt decoding against autoregressive decoding on this machine.")

    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?
    @Option(help: "Trained prompt tokens (safetensors).")
    var promptTokens = Defaults.promptTokensPath
    @Option(help: "Their guess-accuracy table (default: <prompt tokens stem>-accuracy.json beside them).")
    var accuracies: String?
    @Option(help: "Benchmark: mt_bench, alpaca_eval, humaneval or gsm8k (questions from Experiments/data/<bench>/question.jsonl).")
    var bench = "mt_bench"
    @Option(help: "Number of questions, spread evenly over the benchmark.")
    var questions = 4
    @Option(help: "Tokens to generate per question.")
    var maxTokens = 48
    @Option(help: "Input length limits of the dynamic trees (nodes + prompt tokens), comma separated.")
    var limits = "4,8,16,32"
    @Option(help: "Acceptance policy: greedy, typical or rejection.")
    var policy = "greedy"
    @Option(help: "Sampling temperature for typical and rejection.")
    var temperature: Float = 0.7
    @Option(help: "Seed (sampling, random tree).")
    var seed: UInt64 = 0
    @Option(name: .customLong("tree"), help: "A tree file of your own to compare (repeatable).")
    var userTrees: [String] = []
    @Option(help: "HDF5 output (default: Experiments/results/tree-ablation-<bench>.h5).")
    var out: String?
    @Option(help: "SVG figure (default: the output path with .svg).")
    var plot: String?
    @Option(help: "Guess vocabulary for the prompt rows (ppd guess-vocab), or \"none\". Default: the shipped one when present.")
    var guessVocab: String?
    @Option(help: "Tokens of the guess head.")
    var guessHeadSize = Defaults.guessHeadSize
    @Option(help: "Matrix arithmetic: int8 (int8 activations on AVX-512 VNNI or AVX2, the default where the CPU has either) or float32 (float activations, the exact reference).")
    var arithmetic: MatrixArithmetic = .fastest

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard questions >= 1, maxTokens >= 1 else { throw ValidationError("--questions and --max-tokens must be >= 1") }
        guard guessHeadSize >= 1 else { throw ValidationError("--guess-head-size must be >= 1") }
        guard ["mt_bench", "alpaca_eval", "humaneval", "gsm8k"].contains(bench) else {
            throw ValidationError("--bench must be mt_bench, alpaca_eval, humaneval or gsm8k")
        }
        _ = try parseLimits()
        _ = try makePolicy(.greedy)
    }

    func run() throws {
        // 1. The model, the prompt tokens and their accuracy table; clear messages when missing.
        let modelPath = try ModelLocation.resolve(model)
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw ValidationError("no model at \(modelPath): `make model` fetches the default model")
        }
        guard FileManager.default.fileExists(atPath: promptTokens) else {
            throw ValidationError("no prompt tokens at \(promptTokens): `ppd train --out \(promptTokens) ...` trains them (README, \"Training\")")
        }
        let outPath = out ?? "Experiments/results/tree-ablation-\(bench).h5"
        let outDirectory = URL(fileURLWithPath: outPath).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: outDirectory) else {
            throw ValidationError("--out \(outPath): directory \(outDirectory) does not exist")
        }
        let accuracyURL = accuracies.map { URL(fileURLWithPath: $0) }
            ?? Defaults.accuraciesURL(forPromptTokens: URL(fileURLWithPath: promptTokens))
        let file = try GGUFFile(path: modelPath)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let transformer = try Transformer(file: file, threads: threads, arithmetic: arithmetic)
        let modelSHA256 = try FileDigest.sha256(ofFile: modelPath)
        let tokens = try PromptTokens.load(from: URL(fileURLWithPath: promptTokens))
        let builder = TreeBuilder(accuracies: try GuessAccuracies(contentsOf: accuracyURL))
        let guess = try Defaults.guessHead(
            option: guessVocab, size: guessHeadSize, model: transformer, modelSHA256: modelSHA256, note: { say($0) })
        let guessHead = guess?.head, guessVocabulary = guess?.file
        let (profile, _, _) = try Defaults.costProfile(
            model: transformer, modelPath: modelPath, modelSHA256: modelSHA256, guessHead: guessHead, progress: { say($0) })
        let sizing = TreeSizing(
            builder: builder, profile: profile, virtualTokens: tokens.virtualTokens, guessHeadSize: guessHead?.tokens.count)
        let fullHeadSizing = TreeSizing(builder: builder, profile: profile, virtualTokens: tokens.virtualTokens)

        // 2. The questions, as prompts (chat benchmarks in the plain template the tokens were
        //    trained with; HumanEval as raw code, as the paper does).
        let all = try QuestionFile.read(Defaults.shippedFile("Experiments/data/\(bench)/question.jsonl"))
        let picked = stride(from: 0, to: all.count, by: max(1, all.count / questions)).prefix(questions).map { all[$0] }
        let prompts = picked.map { tokenizer.encode(bench == "humaneval" ? $0.text : PromptTemplate.plain.prompt($0.text)) }

        // 3. The trees to compare.
        var entries: [Entry] = [Entry(name: "autoregressive", kind: "autoregressive", size: 0, tree: nil, predicted: nil)]
        entries.append(Entry(name: "chain", kind: "chain", size: builder.promptTokens, tree: try .chain(promptTokens: builder.promptTokens), predicted: nil))
        let rowsPerNode = 1 + builder.promptTokens * tokens.virtualTokens
        for limit in try parseLimits() {
            let dynamic = try sizing.dynamic(inputLimit: limit)
            entries.append(Entry(name: "dynamic-L\(limit)", kind: "dynamic", size: limit, tree: dynamic.tree, predicted: dynamic))
            let nodes = max(1, limit / rowsPerNode)
            let fixed = try sizing.staticTree(nodes: nodes)
            entries.append(Entry(name: "static-n\(nodes)-L\(limit)", kind: "static", size: nodes, tree: fixed.tree, predicted: fixed))
        }
        let chosen = try sizing.best()
        let chosenN = chosen.tree.promptTokens
        entries.append(Entry(name: "auto-N\(chosenN)-L\(chosen.size)", kind: "auto", size: chosen.size, tree: chosen.tree, predicted: chosen))
        if guessHead != nil {
            // The same tree with every row on the full output layer: what the guess head buys.
            let full = try fullHeadSizing.usingPromptTokens(chosenN).dynamic(inputLimit: chosen.size)
            entries.append(Entry(
                name: "auto-N\(chosenN)-L\(chosen.size)-full-head", kind: "auto", size: chosen.size, tree: full.tree, predicted: full,
                usesGuessHead: false))
        }
        var random = RandomSource(seed: seed)
        let randomTree = try DynamicTree.random(promptTokens: chosenN, inputLimit: chosen.size, using: &random)
        entries.append(Entry(name: "random-N\(chosenN)-L\(chosen.size)", kind: "random", size: chosen.size, tree: randomTree, predicted: nil))
        for path in userTrees {
            let name = "user-" + URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            entries.append(Entry(name: name, kind: "user", size: 0, tree: try DynamicTree(contentsOf: URL(fileURLWithPath: path)), predicted: nil))
        }
        say(String(format: "hardware-aware choice: %d prompt tokens, input limit %d, predicted %.2f tokens/step, speedup %.2f (%@, %d threads)",
            chosenN, chosen.size, chosen.tokensPerStep, chosen.predictedSpeedup, profile.machine.cpu, profile.machine.threads))

        // 4. Run everything on every question. The order rotates per question so that a slow
        //    spell of this shared machine does not land on one tree.
        let sampling = policy == "greedy" ? SamplingParameters.greedy : SamplingParameters(temperature: temperature, seed: seed)
        let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopTokens: StopTokens.defaults(for: tokenizer.vocabulary))
        let decoders = try entries.map { entry in
            try entry.tree.map {
                try PromptDecoder(
                    model: transformer, promptTokens: tokens, tree: $0, modelSHA256: modelSHA256,
                    guessHead: entry.usesGuessHead ? guessHead : nil)
            }
        }
        _ = try AutoregressiveGenerator(model: transformer).generate(prompt: prompts[0], options: GenerationOptions(maxTokens: 8))  // warm-up
        var runs = entries.map { _ in Measured() }
        let started = ContinuousClock.now
        let total = prompts.count * entries.count
        for (q, prompt) in prompts.enumerated() {
            for k in 0..<entries.count {
                let e = (k + q) % entries.count
                if let decoder = decoders[e] {
                    let result = try decoder.generate(prompt: prompt, options: options, policy: try makePolicy(sampling))
                    runs[e].add(question: q, tokens: result.tokens, decodeTokens: result.decodeTokens,
                        seconds: result.decodeSeconds, steps: Array(result.steps.dropFirst()))
                } else {
                    let result = try AutoregressiveGenerator(model: transformer).generate(prompt: prompt, options: options)
                    runs[e].add(question: q, tokens: result.tokens, decodeTokens: result.decodeSteps, seconds: result.decodeSeconds, steps: [])
                }
                let done = q * entries.count + k + 1
                let elapsed = started.secondsSince()
                say(String(format: "[question %d/%d] %@ %5.1f tok/s   (%d/%d runs, %.0f s, ETA %.0f s)", q + 1, prompts.count,
                    pad(entries[e].name, 22), runs[e].lastTokensPerSecond, done, total, elapsed, elapsed / Double(done) * Double(total - done)))
            }
        }

        // 5. The table, the HDF5 file and the figure.
        let baseline = runs[0].tokensPerSecond
        print("\nbench \(bench), \(prompts.count) questions, \(maxTokens) tokens, policy \(policy); \(profile.machine.cpu), \(transformer.pool.threadCount) threads, \(transformer.arithmetic) arithmetic, \(RunInfo.date())")
        print(guessHead.map { "prompt rows: guess head of the \($0.tokens.count) most frequent tokens of \(guessVocabulary!) (except *-full-head)" }
            ?? "prompt rows: full output layer")
        print("tree                      nodes/depth    rows/step    tau   tok/s  speedup  predicted  same as AR")
        for (entry, run) in zip(entries, runs) {
            let identical = entry.tree == nil ? "-" : (run.tokens == runs[0].tokens ? "yes" : "no")
            let predicted = entry.predicted.map { String(format: "%9.2f", $0.predictedSpeedup) } ?? "        -"
            print(String(format: "%@ %@ %9.1f  %5.2f  %6.1f  %6.2fx  %@  %@", pad(entry.name, 25), pad(entry.nodesText, 14), run.meanRows, run.tau,
                run.tokensPerSecond, run.tokensPerSecond / baseline, predicted, identical))
        }
        try writeHDF5(
            outPath, entries: entries, runs: runs, prompts: picked, profile: profile, modelPath: modelPath, modelSHA256: modelSHA256,
            guessVocabulary: guessVocabulary, guessHeadTokens: guessHead?.tokens.count ?? 0)
        let plotPath = plot ?? (outPath.hasSuffix(".h5") ? String(outPath.dropLast(3)) : outPath) + ".svg"
        try figure(entries: entries, runs: runs, sizing: sizing, chosen: chosen).write(to: URL(fileURLWithPath: plotPath))
        say("wrote \(outPath) and \(plotPath)")
    }

    /// The acceptance policy of `--policy`.
    func makePolicy(_ sampling: SamplingParameters) throws -> any AcceptancePolicy {
        switch policy {
        case "greedy": return GreedyAcceptance()
        case "typical": return TypicalAcceptance(temperature: sampling.temperature, seed: sampling.seed)
        case "rejection": return RejectionSampling(sampling: sampling)
        default: throw ValidationError("--policy must be greedy, typical or rejection")
        }
    }

    func parseLimits() throws -> [Int] {
        try limits.split(separator: ",").map {
            guard let limit = Int($0.trimmingCharacters(in: .whitespaces)), limit >= 2 else {
                throw ValidationError("--limits: \"\($0)\" is not an input length limit >= 2")
            }
            return limit
        }
    }

    /// Layout (README, "Example-TreeAblation"): run settings as attributes of `/`; `/questions`;
    /// one group per tree under `/runs` with its summary as attributes and its per-step records.
    func writeHDF5(
        _ path: String, entries: [Entry], runs: [Measured], prompts: [BenchmarkQuestion], profile: CostProfile,
        modelPath: String, modelSHA256: String, guessVocabulary: String?, guessHeadTokens: Int
    ) throws {
        let h5 = try HDF5File.create(path: path)
        do {
            let settings: [String: AttributeValue] = [
                "format": .string("ppd-tree-ablation/1"), "bench": .string(bench), "max_tokens": .int(Int64(maxTokens)),
                "policy": .string(policy), "temperature": .double(Double(policy == "greedy" ? 0 : temperature)),
                "seed": .int(Int64(bitPattern: seed)), "model_path": .string(modelPath), "model_sha256": .string(modelSHA256),
                "prompt_tokens_file": .string(promptTokens), "machine": .string(profile.machine.cpu),
                "threads": .int(Int64(profile.machine.threads)), "arithmetic": .string(profile.matrixArithmetic?.rawValue ?? ""),
                "cost_profile_seconds": .doubles(profile.seconds),
                "date": .string(RunInfo.date()), "git_commit": .string(RunInfo.gitCommit()),
                "command_line": .string(CommandLine.arguments.joined(separator: " ")),
                "guess_vocabulary": .string(guessVocabulary ?? ""), "guess_head_size": .int(Int64(guessHeadTokens)),
            ]
            for (name, value) in settings { try h5.setAttribute(name, value) }
            try h5.writeStrings("/questions", prompts.map(\.text))
            try h5.writeStrings("/question_ids", prompts.map(\.id))
            try h5.createGroup("/runs")
            for (entry, run) in zip(entries, runs) {
                let group = "/runs/\(entry.name)"
                try h5.createGroup(group)
                let summary: [String: AttributeValue] = [
                    "kind": .string(entry.kind), "size": .int(Int64(entry.size)),
                    "tree": .string(entry.tree.map { String(decoding: $0.jsonData(), as: UTF8.self) } ?? ""),
                    "tau": .double(run.tau), "tokens_per_second": .double(run.tokensPerSecond),
                    "speedup": .double(run.tokensPerSecond / runs[0].tokensPerSecond), "mean_rows": .double(run.meanRows),
                    "predicted_tokens_per_step": .double(entry.predicted?.tokensPerStep ?? .nan),
                    "predicted_speedup": .double(entry.predicted?.predictedSpeedup ?? .nan),
                    "identical_to_autoregressive": .bool(run.tokens == runs[0].tokens),
                    "guess_head": .bool(entry.tree != nil && entry.usesGuessHead && guessVocabulary != nil),
                ]
                for (name, value) in summary { try h5.setAttribute(name, value, on: group) }
                try h5.writeDataset(group + "/tokens", run.tokens.flatMap { $0 })
                try h5.writeDataset(group + "/question_tokens", run.tokens.map { Int32($0.count) })
                try h5.writeDataset(group + "/question_decode_seconds", run.questionSeconds)
                try h5.writeDataset(group + "/step_question", run.steps.map { Int32($0.question) })
                try h5.writeDataset(group + "/step_rows", run.steps.map { Int32($0.step.inputRows) })
                try h5.writeDataset(group + "/step_depth", run.steps.map { Int32($0.step.depth) })
                try h5.writeDataset(group + "/step_accepted", run.steps.map { Int32($0.step.accepted) })
                try h5.writeDataset(group + "/step_emitted", run.steps.map { Int32($0.step.tokens.count) })
                try h5.writeDataset(group + "/step_seconds", run.steps.map(\.step.seconds))
                try h5.writeDataset(group + "/step_forward_seconds", run.steps.map(\.step.forwardSeconds))
            }
            try h5.close()
        } catch {
            h5.discard()
            throw error
        }
    }

    /// Measured speedup and tokens per step against mean rows per step, with the prediction.
    func figure(entries: [Entry], runs: [Measured], sizing: TreeSizing, chosen: TreeSizing.Candidate) throws -> LinePlot {
        let baseline = runs[0].tokensPerSecond
        var speed: [LinePlot.Series] = []
        var tau: [LinePlot.Series] = []
        for kind in ["dynamic", "static", "chain", "random", "auto", "user"] {
            let picked = zip(entries, runs).filter { $0.0.kind == kind }
            guard !picked.isEmpty else { continue }
            speed.append(.init(name: "\(kind) (measured)", points: picked.map { (x: $0.1.meanRows, y: $0.1.tokensPerSecond / baseline) },
                line: kind == "dynamic" || kind == "static", labels: kind == "user" ? picked.map(\.0.name) : []))
            tau.append(.init(name: "\(kind) (measured)", points: picked.map { (x: $0.1.meanRows, y: $0.1.tau) }, line: kind == "dynamic" || kind == "static"))
        }
        let predicted = try sizing.usingPromptTokens(chosen.tree.promptTokens).dynamicCurve()
        speed.append(.init(name: "dynamic N=\(chosen.tree.promptTokens) (predicted)", points: predicted.map { (x: $0.meanRows, y: $0.predictedSpeedup) }))
        tau.append(.init(name: "dynamic N=\(chosen.tree.promptTokens) (predicted)", points: predicted.map { (x: $0.meanRows, y: $0.tokensPerStep) }))
        let auto = zip(entries, runs).first { $0.0.kind == "auto" }
        return LinePlot(
            title: "Tree ablation: PPD vs autoregressive, \(bench), \(maxTokens) tokens x \(questions) questions",
            xLabel: "batch rows per verification step (mean)",
            panels: [
                LinePlot.Panel(title: "speedup over autoregressive decoding", yLabel: "speedup", series: speed, reference: 1,
                    highlights: auto.map { [($0.1.meanRows, $0.1.tokensPerSecond / baseline, "hardware-aware (N = \(chosen.tree.promptTokens), L = \(chosen.size))")] } ?? []),
                LinePlot.Panel(title: "tokens per step (tau)", yLabel: "tau", series: tau, reference: 1),
            ],
            caption: "\(sizing.profile.machine.cpu), \(sizing.profile.machine.threads) threads, \(RunInfo.date()), git \(RunInfo.gitCommit().prefix(10))")
    }
}

/// One configuration: autoregressive (no tree) or PPD with a tree.
struct Entry {
    var name: String
    var kind: String
    var size: Int
    var tree: DynamicTree?
    var predicted: TreeSizing.Candidate?
    /// Whether its prompt rows use the guess head (when there is one).
    var usesGuessHead = true

    /// Nodes per depth key, e.g. "4/3/4".
    var nodesText: String {
        guard let tree else { return "-" }
        return tree.trees.keys.sorted().map { String(tree.trees[$0]?.nodes.count ?? 0) }.joined(separator: "/")
    }
}

/// What one configuration did over all questions.
struct Measured {
    var tokens: [[Int32]] = []
    var questionSeconds: [Double] = []
    var decodeTokens = 0
    var steps: [(question: Int, step: PromptDecodingStep)] = []
    var lastTokensPerSecond = 0.0

    mutating func add(question: Int, tokens generated: [Int32], decodeTokens count: Int, seconds: Double, steps new: [PromptDecodingStep]) {
        while tokens.count <= question { tokens.append([]); questionSeconds.append(0) }
        tokens[question] = generated
        questionSeconds[question] = seconds
        decodeTokens += count
        steps += new.map { (question, $0) }
        lastTokensPerSecond = seconds > 0 ? Double(count) / seconds : 0
    }

    var seconds: Double { questionSeconds.reduce(0, +) }
    var tokensPerSecond: Double { seconds > 0 ? Double(decodeTokens) / seconds : 0 }
    /// Tokens per verification step (1 for autoregressive decoding).
    var tau: Double { steps.isEmpty ? 1 : Double(decodeTokens) / Double(steps.count) }
    var meanRows: Double { steps.isEmpty ? 1 : Double(steps.reduce(0) { $0 + $1.step.inputRows }) / Double(steps.count) }
}

/// `text` padded with spaces to `width` characters.
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }

/// Progress and notes go to standard error; the table to standard output.
func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
