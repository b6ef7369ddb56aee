import ArgumentParser
import Foundation
import CommandOptions
import PPD


/// The options of `ppd generate --ppd`.
struct PromptDecodingOptions: ParsableArguments {
    @Flag(help: "Decode with parallel prompt decoding (prompt tokens + candidate trees).")
    var ppd = false

    @Option(help: "Prompt tokens: a safetensors file (or a PEFT adapter with prompt_embeddings), or \"text\" for the paper's text initialisation (--init-text). Default: the shipped trained tokens of the default model (\(Defaults.promptTokensPath)) when present and made for this model, else text.")
    var promptTokens: String?

    @Option(help: "Number of prompt tokens when initialising from text.")
    var promptTokenCount = 3

    @Option(help: "Virtual tokens per prompt token when initialising from text.")
    var virtualTokens = 1

    @Option(help: "Initialisation text (default: the paper's \"Next 2 word Next 3 word ...\").")
    var initText: String?

    @Option(help: "Tree: a ppd-tree/1 JSON file or a JSON list of paths, \"auto\" for the dynamic tree with the best predicted speedup on this machine (accuracy table beside the prompt tokens, cost profile measured once per model, machine and kernel, about a minute, then cached), \"chain\" for a chain over all prompt tokens, or \"none\" for no prompt-token guesses (the root alone; with --lookup, prompt lookup alone). Default: auto for prompt tokens with an accuracy table (the shipped ones), else chain.")
    var tree: String?

    @Flag(inversion: .prefixedNo, help: "Prompt-lookup drafts in every step's candidate tree (--no-lookup: none): the tokens that followed the most recent earlier occurrence of the last n tokens of the prompt and generated text, merged with the prompt tokens' guesses and verified in the same forward pass; a step whose draft is predicted to do better alone (measured acceptance, this machine's cost profile) verifies it without the tree. Greedy output is unchanged. Default: on.")
    var lookup: Bool?

    @Option(help: "Prompt lookup: the n-gram sizes matched, longest tried first (e.g. 1-3, or 2).")
    var lookupNgram = "1-3"

    @Option(help: "Prompt lookup: most tokens of one draft.")
    var lookupLength = 6

    @Option(help: "Prompt lookup: most drafts per step (from distinct earlier occurrences with distinct first tokens).")
    var lookupBranches = 1

    @Option(help: "Most rows per step for drafted tokens that are not already in the tree (default: --lookup-length x --lookup-branches).")
    var draftRows: Int?

    @Flag(inversion: .prefixedNo, help: "The first draft's last token carries the prompt tokens' rows (a few guess-head rows), so that the step after an accepted draft has their guesses (default off: drafted tokens carry none, and the step after an accepted draft runs the root and its prompt chain; on the project's Zen 4 VM the chain measured 0.94-0.99x of the merge without it).")
    var draftPromptTokens = false

    @Option(help: "Medusa-style heads (a file from `ppd train --medusa`) as a drafter: from the hidden state of the row that chose each step's root they guess the next tokens, laid out by --medusa-tree, and join the step's candidate tree beside the prompt tokens' guesses and prompt lookup's drafts. With --tree none --no-lookup: Medusa-style decoding alone.")
    var medusa: String?

    @Option(help: "The heads' static tree: \"auto\" for the tree of drafted rows with the best predicted speedup on this machine (the heads' accuracy table beside their file, HEADS-accuracy.json, and this machine's cost profile), or a JSON list of rank paths (path element k is a rank among head k's guesses), as `ppd build-tree --static-nodes N --accuracies HEADS-accuracy.json` writes.")
    var medusaTree = "auto"

    @OptionGroup(title: "Guess head") var guess: GuessHeadOptions

    @Option(help: "Acceptance policy: greedy, typical or rejection (default: greedy at temperature 0, else rejection).")
    var policy: AcceptancePolicyKind?

    @Option(help: "Typical acceptance: the hard posterior threshold (epsilon).")
    var posteriorThreshold = 0.09

    @Option(help: "Typical acceptance: the entropy-scaled threshold factor (delta).")
    var posteriorAlpha = 0.3

    @Option(help: "Write an HDF5 trace of the run (per-step telemetry; activations and logits when asked).")
    var trace: String?

    @Option(help: "Layers whose activations the trace records, e.g. 0,5,17 (default: none).")
    var traceLayers: String?

    @Option(help: "Activation sites to record (comma separated): layer_input, query, key, value, head_output, attention_output, ffn_hidden, ffn_output, layer_output.")
    var traceTaps = "layer_output"

    @Option(help: "Logits per recorded row in the trace: a top-k count, 0 for none, or -1 for the full vocabulary.")
    var traceLogits = 0

    @Option(help: "Which forward passes record activations and logits: all, or a list like 0,1,2 or a range 0-7 (0 is the prefill).")
    var traceSteps = "all"

    func validate() throws {
        guard promptTokenCount >= 1 else { throw ValidationError("--prompt-token-count must be >= 1") }
        guard virtualTokens >= 1 else { throw ValidationError("--virtual-tokens must be >= 1") }
        guard traceLogits >= -1 else { throw ValidationError("--trace-logits must be -1, 0 or a top-k count") }
        if !ppd && (promptTokens != nil || tree != nil || policy != nil || trace != nil || lookup != nil || medusa != nil) {
            throw ValidationError("--prompt-tokens, --tree, --policy, --lookup, --medusa and --trace need --ppd")
        }
        if let draftRows, draftRows < 0 { throw ValidationError("--draft-rows must be 0 or more") }
        if draftPromptTokens {
            guard ppd, lookup != false || medusa != nil else {
                throw ValidationError("--draft-prompt-tokens needs --ppd and a drafter (prompt lookup, the default, or --medusa)")
            }
            guard tree != "none" else { throw ValidationError("--draft-prompt-tokens needs prompt tokens in the tree (not --tree none)") }
        }
        _ = try makeDrafter()
        _ = try layers()
        _ = try taps()
        _ = try stepFilter()
    }

    /// The layers of `--trace-layers`.
    func layers() throws -> [Int] {
        guard let traceLayers, !traceLayers.isEmpty else { return [] }
        return try traceLayers.split(separator: ",").map { text in
            guard let layer = Int(text.trimmingCharacters(in: .whitespaces)), layer >= 0 else {
                throw ValidationError("--trace-layers: \"\(text)\" is not a layer index")
            }
            return layer
        }
    }

    /// The sites of `--trace-taps` (any `InterventionSite` but the attention weights).
    func taps() throws -> [InterventionSite] {
        try traceTaps.split(separator: ",").map { text in
            let name = text.trimmingCharacters(in: .whitespaces)
            guard let site = InterventionSite(rawValue: name), site != .attentionWeights else {
                let known = InterventionSite.allCases.filter { $0 != .attentionWeights }.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--trace-taps: unknown tap \"\(name)\" (known: \(known))")
            }
            return site
        }
    }

    /// Which forward passes `--trace-steps` selects (nil: all).
    func stepFilter() throws -> Set<Int>? {
        let text = traceSteps.trimmingCharacters(in: .whitespaces)
        if text == "all" { return nil }
        var steps = Set<Int>()
        for part in text.split(separator: ",") {
            guard let range = Self.range(part), range.lowerBound >= 0 else {
                throw ValidationError("--trace-steps: \"\(part)\" is not a step or a range like 0-7")
            }
            steps.formUnion(range)
        }
        return steps
    }

    /// The prompt-token file to load: `--prompt-tokens`, or the shipped trained tokens when no
    /// text initialisation is asked for and the file exists; nil for text initialisation.
    var promptTokensFile: String? {
        if let promptTokens { return promptTokens == "text" ? nil : promptTokens }
        if initText != nil { return nil }
        return FileManager.default.fileExists(atPath: Defaults.promptTokensPath) ? Defaults.promptTokensPath : nil
    }

    /// Whether the prompt tokens are the shipped default (not named on the command line).
    var usesDefaultPromptTokens: Bool { promptTokens == nil && promptTokensFile != nil }

    /// The prompt tokens: loaded from `promptTokensFile`, or initialised from text.
    func loadPromptTokens(model: Transformer, tokenizer: SentencePieceTokenizer, forceText: Bool = false) throws -> PromptTokens {
        if !forceText, let file = promptTokensFile { return try PromptTokens.load(from: URL(fileURLWithPath: file)) }
        let text = initText ?? PromptTokens.paperInitialText(count: promptTokenCount)
        let ids = tokenizer.encode(text, addSpecial: false)
        return try PromptTokens.fromText(tokenIDs: ids, count: promptTokenCount, virtualTokens: virtualTokens, model: model)
    }

    /// The guess head of `--guess-vocab` and `--guess-head-size`, with its file (nil for none).
    func loadGuessHead(model: Transformer, modelSHA256: String?) throws -> (head: GuessHead, file: String)? {
        try guess.head(model: model, modelSHA256: modelSHA256, note: { note($0) })
    }

    /// The tree: read from `--tree`, the hardware-aware choice for `--tree auto` (pricing prompt
    /// rows with `guessHead` when there is one), or a chain over all prompt tokens (`--tree chain`).
    /// Without `--tree`: the hardware-aware choice when the prompt tokens have an accuracy table
    /// beside them, else the chain.
    /// `promptTokensFile` is the file the tokens in use came from (nil for text-initialised ones).
    func loadTree(
        promptTokens: PromptTokens, promptTokensFile: String?, model: Transformer, modelPath: String, modelSHA256: String?,
        guessHead: GuessHead? = nil
    ) throws -> DynamicTree {
        let choice = tree ?? (Self.hasAccuracyTable(promptTokensFile) ? "auto" : "chain")
        if choice == "chain" { return try DynamicTree.chain(promptTokens: promptTokens.count) }
        if choice == "none" { return .rootOnly }
        guard choice == "auto" else { return try DynamicTree(contentsOf: URL(fileURLWithPath: choice)) }
        guard let file = promptTokensFile else {
            throw ValidationError("--tree auto needs trained prompt tokens with an accuracy table (--prompt-tokens FILE)")
        }
        let chosen = try Defaults.hardwareAwareTree(
            model: model, modelPath: modelPath, modelSHA256: modelSHA256,
            accuracies: Defaults.accuraciesURL(forPromptTokens: URL(fileURLWithPath: file)),
            virtualTokens: promptTokens.virtualTokens, guessHead: guessHead, progress: { note($0) })
        note(String(format: "--tree auto: %d prompt tokens, input limit %d, %.1f rows per step, predicted %.2f tokens per step, speedup %.2f",
            chosen.tree.promptTokens, chosen.size, chosen.meanRows, chosen.tokensPerStep, chosen.predictedSpeedup))
        return chosen.tree
    }

    /// Whether the tree will be the hardware-aware one (which needs the model's hash for its
    /// cost profile): `--tree auto`, or no `--tree` with prompt tokens that have an accuracy table.
    var usesHardwareAwareTree: Bool { tree == "auto" || (tree == nil && Self.hasAccuracyTable(promptTokensFile)) }

    /// Whether prompt tokens read from `file` have an accuracy table beside them (nil: tokens
    /// initialised from text, which have none).
    static func hasAccuracyTable(_ file: String?) -> Bool {
        guard let file else { return false }
        return FileManager.default.fileExists(atPath: Defaults.accuraciesURL(forPromptTokens: URL(fileURLWithPath: file)).path)
    }

    /// What `--trace-logits` asks for (nil: no logits).
    var logitsMode: LogitsRecorder.Mode? {
        switch traceLogits {
        case 0: return nil
        case -1: return .full
        default: return .topK(traceLogits)
        }
    }

    /// A number ("3", as 3...3) or an ascending range ("1-3"); nil for anything else.
    static func range(_ text: Substring) -> ClosedRange<Int>? {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds[bounds.count - 1], low <= high else { return nil }
        return low...high
    }

    /// The drafter `--lookup` asks for (nil with --no-lookup) and its rows per step.
    func makeDrafter() throws -> (drafter: any TokenDrafter, rows: Int)? {
        guard lookup ?? true else { return nil }
        guard let sizes = Self.range(Substring(lookupNgram)) else {
            throw ValidationError("--lookup-ngram: \"\(lookupNgram)\" is not a size like 3 or a range like 1-3")
        }
        do {
            let drafter = try PromptLookupDrafter(ngramSizes: sizes, draftLength: lookupLength, branches: lookupBranches)
            return (drafter, draftRows ?? lookupLength * lookupBranches)
        } catch let error as DrafterError {
            throw ValidationError("--lookup: \(error.description)")
        }
    }

    /// The Medusa-style drafter of `--medusa` with `--medusa-tree` on `model` (nil without
    /// --medusa), and its rows per step (the tree's nodes).
    func makeMedusaDrafter(
        model: Transformer, modelPath: String, modelSHA256: String?, guessHead: GuessHead?
    ) throws -> (drafter: any TokenDrafter, rows: Int)? {
        guard let medusa else { return nil }
        let headsURL = URL(fileURLWithPath: medusa)
        let heads = try MedusaHeads.load(from: headsURL)
        try heads.validate(for: model, modelSHA256: modelSHA256)
        let paths: DynamicTree
        if medusaTree == "auto" {
            let chosen = try Defaults.medusaTree(headsURL: headsURL, model: model, modelPath: modelPath, modelSHA256: modelSHA256, progress: { note($0) })
            note(String(format: "--medusa-tree auto: %d nodes, predicted %.2f tokens per step, speedup %.2f", chosen.size, chosen.tokensPerStep, chosen.predictedSpeedup))
            paths = chosen.tree
        } else {
            paths = try DynamicTree(contentsOf: URL(fileURLWithPath: Defaults.shippedFile(medusaTree)))
        }
        guard let tree = paths.tree(forDepth: paths.maxDepth), paths.isStatic else {
            throw ValidationError("--medusa-tree \(medusaTree): expected a JSON list of rank paths (a static tree)")
        }
        do {
            let drafter = try MedusaDrafter(heads: heads, model: model, tree: tree, guessHead: guessHead)
            return (drafter, tree.nodes.count)
        } catch let error as ModelError {
            throw ValidationError("--medusa \(medusa) with --medusa-tree \(medusaTree): \(error.description)")
        }
    }

    /// The acceptance policy for `sampling`.
    func makePolicy(sampling: SamplingParameters) -> any AcceptancePolicy {
        (policy ?? .defaultKind(for: sampling)).make(
            sampling: sampling, posteriorThreshold: posteriorThreshold, posteriorAlpha: posteriorAlpha)
    }
}
