import ArgumentParser
import Foundation
import CommandOptions
import PPD

struct BuildTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-tree",
        abstract: "Build a candidate tree from a guess-accuracy table: dynamic (the paper's two-stage pruning), static, or sized for this machine.",
        discussion: """
            --input-limit L: the dynamic sparse tree whose nodes plus prompt tokens fit in L at every depth (the \
            paper's input length limit; the root and its prompt tokens are not counted). --static-nodes n: the n most \
            probable paths, each node carrying every prompt token (Medusa's form). --auto: the dynamic tree with the \
            highest predicted speedup on this machine, from the cost curve of the model (measured once, cached under \
            ~/.cache/ppd/profiles) and the accuracies; --plot draws the prediction against tree size.
            """)

    @Option(help: "Accuracy table: JSON with an \"accuracies\" array (rows: distances; columns: per-rank probabilities). Default: the shipped prompt tokens' table.")
    var accuracies: String?
    @Option(help: "Input length limit for a dynamic tree.")
    var inputLimit: Int?
    @Option(help: "Node count for a static tree.")
    var staticNodes: Int?
    @Flag(help: "Choose the dynamic tree with the best predicted speedup on this machine.")
    var auto = false
    @Option(help: "Builder: corrected (default) or paper (reproduces the paper's builder, quirks included).")
    var variant = "corrected"
    @Option(help: "GGUF model whose cost curve --auto uses (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?
    @Option(help: "Virtual tokens per prompt token (batch rows per prompt slot) for --auto.")
    var virtualTokens = 1
    @Option(help: "Largest batch the cost profile measures (--auto).")
    var maxRows = 48
    @Flag(help: "Measure the cost profile again even if one is cached (--auto).")
    var remeasure = false
    @OptionGroup(title: "Guess head") var guess: GuessHeadOptions
    @OptionGroup(title: "Computation")
    var compute: ComputeOptions
    @Option(help: "Write an SVG of predicted speedup and tokens per step against tree size (--auto).")
    var plot: String?
    @Option(help: "Write the tree (ppd-tree/1 JSON, or a list of paths for a static tree) here; default: print it.")
    var out: String?

    func validate() throws {
        let modes = [inputLimit != nil, staticNodes != nil, auto].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --input-limit, --static-nodes, --auto") }
        guard TreeBuilder.Variant(rawValue: variant) != nil else { throw ValidationError("--variant must be corrected or paper") }
        if let staticNodes, staticNodes < 1 { throw ValidationError("--static-nodes must be >= 1") }
        guard virtualTokens >= 1 else { throw ValidationError("--virtual-tokens must be >= 1") }
        if plot != nil && !auto { throw ValidationError("--plot needs --auto") }
    }

    func run() throws {
        let accuracyURL = URL(fileURLWithPath: accuracies ?? Defaults.accuraciesURL(forPromptTokens: URL(fileURLWithPath: Defaults.promptTokensPath)).path)
        let table = try GuessAccuracies(contentsOf: accuracyURL)
        let builder = TreeBuilder(accuracies: table, variant: TreeBuilder.Variant(rawValue: variant)!)
        let tree: DynamicTree
        if let inputLimit {
            let built = try builder.dynamicTree(inputLimit: inputLimit)
            tree = built.tree
            note("dynamic tree, input limit \(inputLimit) (\(variant)): nodes per depth \(built.nodeCounts), "
                + "nodes + prompt tokens \(built.inputLengths), expected tokens per step "
                + String(format: "%.3f", built.expectedTokensPerStep))
        } else if let staticNodes {
            tree = try builder.staticTree(nodes: staticNodes)
            note("static tree of \(staticNodes) nodes: expected tokens per step "
                + String(format: "%.3f", builder.expectedTokensPerStep(staticNodes: staticNodes)))
        } else {
            tree = try chooseForThisMachine(builder: builder, accuracyFile: accuracyURL.path)
        }
        let data = tree.jsonData()
        if let out {
            do {
                try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ValidationError("--out \(out): cannot write the tree: \(error.localizedDescription)")
            }
            note("wrote \(out)")
        } else {
            FileHandle.standardOutput.write(data)
        }
    }

    /// --auto: profile (or read the cached profile), predict every size, print the table, pick.
    private func chooseForThisMachine(builder: TreeBuilder, accuracyFile: String) throws -> DynamicTree {
        let path = try ModelLocation.resolve(model)
        let transformer = try Transformer(file: try GGUFFile(path: path), threads: compute.threads, arithmetic: compute.arithmetic)
        let sha = try FileDigest.sha256(ofFile: path)
        let guessHead = try guess.head(model: transformer, modelSHA256: sha, note: { note($0) })?.head
        let (profile, profileURL, _) = try Defaults.costProfile(
            model: transformer, modelPath: path, modelSHA256: sha, maxRows: maxRows, guessHead: guessHead, remeasure: remeasure,
            progress: { note($0) })
        note("cost profile: \(profileURL.path) (\(profile.machine.cpu), \(profile.machine.threads) threads, \(profile.date))")
        note(guessHead.map { "prompt rows priced with a guess head of \($0.tokens.count) tokens" } ?? "every row priced with the full output layer")
        let sizing = TreeSizing(
            builder: builder, profile: profile, virtualTokens: virtualTokens, guessHeadSize: guessHead?.tokens.count)
        // Every number of prompt tokens, each tree built once; the best is the first maximum
        // over all of them, as `TreeSizing.best()` chooses.
        let curves = try (1...builder.promptTokens).map { try sizing.usingPromptTokens($0).dynamicCurve() }
        guard var best = curves.first?.first else { throw ValidationError("the cost profile measures too few rows for any tree") }
        for candidate in curves.joined() where candidate.predictedSpeedup > best.predictedSpeedup { best = candidate }
        note("  N  limit  mean rows  max rows  tokens/step  step cost  predicted speedup")
        for (index, curve) in curves.enumerated() {
            for c in curve {
                let chosen = c.size == best.size && index + 1 == best.tree.promptTokens
                note(String(format: "  %d  %5d  %9.1f  %8d  %11.3f  %9.2f  %17.3f%@", index + 1, c.size, c.meanRows, c.maxRows,
                    c.tokensPerStep, c.relativeCost, c.predictedSpeedup, chosen ? "  <- chosen" : ""))
            }
        }
        note(String(format: "chosen: %d prompt tokens, input limit %d, %.1f rows per step, predicted %.3f tokens/step, speedup %.3f",
            best.tree.promptTokens, best.size, best.meanRows, best.tokensPerStep, best.predictedSpeedup))
        if let plot {
            let statics = try (1...16).map { try sizing.staticTree(nodes: $0) }.filter { $0.maxRows <= profile.maxRows }
            let figure = TreeSizingPlot.figure(
                dynamic: curves, statics: statics, chosen: best, profile: profile,
                caption: "ppd build-tree --auto, accuracies \(accuracyFile), V=\(virtualTokens), \(profile.machine.cpu), \(RunInfo.date())")
            try figure.write(to: URL(fileURLWithPath: plot))
            note("wrote \(plot)")
        }
        return best.tree
    }
}

/// The figure of hardware-aware sizing: predicted speedup, tokens per step and step cost
/// against the mean batch rows of a step.
enum TreeSizingPlot {
    static func figure(
        dynamic: [[TreeSizing.Candidate]], statics: [TreeSizing.Candidate], chosen: TreeSizing.Candidate,
        profile: CostProfile, caption: String
    ) -> LinePlot {
        func points(_ list: [TreeSizing.Candidate], _ value: (TreeSizing.Candidate) -> Double) -> [(x: Double, y: Double)] {
            list.map { (x: $0.meanRows, y: value($0)) }
        }
        let cost = (1...profile.maxRows).map { (x: Double($0), y: profile.relativeCost(rows: $0)) }
        return LinePlot(
            title: "Hardware-aware tree size: predicted speedup over autoregressive decoding",
            xLabel: "batch rows per step (mean over the depth chain)",
            panels: [
                LinePlot.Panel(
                    title: "predicted speedup = tokens per step / step cost", yLabel: "speedup",
                    series: dynamic.enumerated().map { n, curve in
                        LinePlot.Series(name: "dynamic, N = \(n + 1)", points: points(curve) { $0.predictedSpeedup })
                    } + [.init(name: "static, N = \(dynamic.count)", points: points(statics) { $0.predictedSpeedup })],
                    reference: 1,
                    highlights: [(chosen.meanRows, chosen.predictedSpeedup, "chosen: N = \(chosen.tree.promptTokens), L = \(chosen.size)")]),
                LinePlot.Panel(
                    title: "tokens per step (accuracies) and step cost (this machine's profile)", yLabel: "x one decode step",
                    series: dynamic.enumerated().map { n, curve in
                        LinePlot.Series(name: "tokens/step, N = \(n + 1)", points: points(curve) { $0.tokensPerStep })
                    } + [
                        .init(name: "tokens/step, static", points: points(statics) { $0.tokensPerStep }),
                        .init(name: "forward cost", points: cost),
                    ]),
            ],
            caption: caption)
    }
}
