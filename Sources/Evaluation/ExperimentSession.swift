import Decoding
import Foundation
import GGUF
import Kernels
import Models
import Store
import Tokenizer

/// Everything an experiment loads once, with the same defaults as `ppd generate --ppd`: the
/// model (int8 arithmetic where the CPU has it), its tokenizer and hash, the shipped trained
/// prompt tokens, their accuracy table, the guess head over the shipped guess vocabulary, and
/// this machine's cost profile (measured once and cached). Decoders and methods built from a
/// session share its model.
///
///     let session = try ExperimentSession()
///     let prompts = try session.prompts(Benchmark.mtBench.questions(4), from: .mtBench)
///     let methods = [DecodingMethod.autoregressive(session.model),
///                    .promptDecoding(try session.defaultDecoder(), name: "ppd")]
///     let results = try SideBySide(methods).run(prompts: prompts, options: { _ in session.options(maxTokens: 64) })
public final class ExperimentSession {
    /// The model file.
    public let modelPath: String
    public let modelFile: GGUFFile
    public let tokenizer: SentencePieceTokenizer
    public let model: Transformer
    /// The model file's SHA-256 (cached per path, size and modification time).
    public let modelSHA256: String
    /// The prompt tokens and the file they came from.
    public let promptTokens: PromptTokens
    public let promptTokensPath: String
    /// Their guess-accuracy table (nil when there is none beside them and none was named).
    public let accuracies: GuessAccuracies?
    /// The file of `accuracies` (looked up even when absent, for messages).
    public let accuraciesPath: String
    /// The guess head and its vocabulary file (nil: prompt rows use the full output layer).
    public let guess: (head: GuessHead, file: String)?
    /// Progress and notes (profiling, fallbacks).
    public let progress: (String) -> Void
    private var profile: CostProfile?

    /// Loads a session. `model` nil: `$PPD_MODEL` or the default model's cache path;
    /// `promptTokens` nil: the shipped trained tokens; `accuracies` nil: the table beside the
    /// prompt tokens; `guessVocabulary` nil: the shipped vocabulary when it fits the model,
    /// "none": no guess head. Errors name the missing file and the command that makes it.
    public init(
        model: String? = nil, promptTokens: String? = nil, accuracies: String? = nil, guessVocabulary: String? = nil,
        guessHeadSize: Int = Defaults.guessHeadSize, arithmetic: MatrixArithmetic = .fastest, threads: Int? = nil,
        progress: @escaping (String) -> Void = { _ in }
    ) throws {
        modelPath = try ModelLocation.resolve(model)
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw EvaluationError(file: modelPath, "no model file; `make model` fetches the default model")
        }
        promptTokensPath = promptTokens ?? Defaults.promptTokensPath
        guard FileManager.default.fileExists(atPath: promptTokensPath) else {
            throw EvaluationError(
                file: promptTokensPath, "no prompt tokens; `ppd train --out \(promptTokensPath) ...` trains them (README, \"Training\")")
        }
        modelFile = try GGUFFile(path: modelPath)
        tokenizer = try SentencePieceTokenizer(gguf: modelFile)
        self.model = try Transformer(file: modelFile, threads: threads, arithmetic: arithmetic)
        modelSHA256 = try FileDigest.sha256(ofFile: modelPath)
        self.promptTokens = try PromptTokens.load(from: URL(fileURLWithPath: promptTokensPath))
        do {
            try self.promptTokens.validate(for: self.model, modelSHA256: modelSHA256)
        } catch var error as PromptTokensError {
            error.file = promptTokensPath
            throw error
        }
        accuraciesPath = accuracies ?? Defaults.accuraciesURL(forPromptTokens: URL(fileURLWithPath: promptTokensPath)).path
        if accuracies != nil || FileManager.default.fileExists(atPath: accuraciesPath) {
            self.accuracies = try GuessAccuracies(contentsOf: URL(fileURLWithPath: accuraciesPath))
        } else {
            self.accuracies = nil
        }
        guess = try Defaults.guessHead(
            option: guessVocabulary, size: guessHeadSize, model: self.model, modelSHA256: modelSHA256, note: progress)
        self.progress = progress
    }

    /// The stop tokens of the model's vocabulary (end of sequence, end of turn).
    public var stopTokens: Set<Int32> { StopTokens.defaults(for: tokenizer.vocabulary) }

    /// Generation settings with the model's stop tokens.
    public func options(maxTokens: Int, sampling: SamplingParameters = .greedy) -> GenerationOptions {
        GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens)
    }

    /// The model input of each question (`Benchmark.promptText`), tokenized with BOS.
    public func prompts(_ questions: [BenchmarkQuestion], from benchmark: Benchmark) -> [[Int32]] {
        questions.map { tokenizer.encode(benchmark.promptText($0)) }
    }

    /// This machine's cost profile for the model (pricing guess-head rows when the session has
    /// a head): read from the cache or measured once (about a minute) and cached.
    public func costProfile() throws -> CostProfile {
        if let profile { return profile }
        let measured = try Defaults.costProfile(
            model: model, modelPath: modelPath, modelSHA256: modelSHA256, guessHead: guess?.head, progress: progress
        ).profile
        profile = measured
        return measured
    }

    /// The tree builder over the accuracy table; the error says how to make a missing table.
    public func treeBuilder() throws -> TreeBuilder {
        guard let accuracies else {
            throw EvaluationError(
                file: accuraciesPath,
                "no accuracy table for the prompt tokens; `ppd eval-guesses --prompt-tokens \(promptTokensPath) --out \(accuraciesPath)` writes it")
        }
        return TreeBuilder(accuracies: accuracies)
    }

    /// Hardware-aware tree sizing on this machine; `usesGuessHead` false prices every prompt row
    /// on the full output layer.
    public func sizing(usesGuessHead: Bool = true) throws -> TreeSizing {
        TreeSizing(
            builder: try treeBuilder(), profile: try costProfile(), virtualTokens: promptTokens.virtualTokens,
            guessHeadSize: usesGuessHead ? guess?.head.tokens.count : nil)
    }

    /// A prompt decoder over `tree` with the session's prompt tokens, guess head (unless
    /// `usesGuessHead` is false) and optionally a drafter whose drafts get up to `draftRows` rows
    /// per step, each step choosing tree, draft or both from this machine's cost profile; with
    /// `draftCarriesPromptTokens` the first draft's last token carries the prompt tokens.
    public func decoder(
        tree: DynamicTree, usesGuessHead: Bool = true, drafter: (any TokenDrafter)? = nil, draftRows: Int = 0,
        draftCarriesPromptTokens: Bool = false
    ) throws -> PromptDecoder {
        let head = usesGuessHead ? guess?.head : nil
        let draftSizing = drafter == nil || tree == .rootOnly
            ? nil : DraftSizing(profile: try costProfile(), guessHeadSize: head?.tokens.count)
        return try PromptDecoder(
            model: model, promptTokens: promptTokens, tree: tree, modelSHA256: modelSHA256, guessHead: head,
            drafter: drafter, draftRowLimit: draftRows, draftSizing: draftSizing,
            draftCarriesPromptTokens: draftCarriesPromptTokens)
    }

    /// The decoder `ppd generate --ppd` uses by default: the hardware-aware tree, the guess head,
    /// and prompt-lookup drafts (n-grams 1-3, 6 tokens, one branch) merged into every step.
    public func defaultDecoder() throws -> PromptDecoder {
        let lookup = try PromptLookupDrafter(ngramSizes: 1...3, draftLength: 6, branches: 1)
        return try decoder(tree: try sizing().best().tree, drafter: lookup, draftRows: 6)
    }

    /// The run's settings as result-file attributes: model, prompt tokens, guess head, machine,
    /// threads, arithmetic, date, git commit and command line.
    public func settings() -> [String: AttributeValue] {
        [
            "model_path": .string(modelPath), "model_sha256": .string(modelSHA256), "prompt_tokens_file": .string(promptTokensPath),
            "guess_vocabulary": .string(guess?.file ?? ""), "guess_head_size": .int(Int64(guess?.head.tokens.count ?? 0)),
            "machine": .string(CostProfile.Machine.current(threads: model.pool.threadCount).cpu),
            "threads": .int(Int64(model.pool.threadCount)), "arithmetic": .string(model.arithmetic.rawValue),
            "date": .string(RunInfo.date()), "git_commit": .string(RunInfo.gitCommit()),
            "command_line": .string(CommandLine.arguments.joined(separator: " ")),
        ]
    }

    /// One line describing the machine and settings, for table notes and figure captions.
    public func describeMachine() -> String {
        let machine = CostProfile.Machine.current(threads: model.pool.threadCount)
        return "\(machine.cpu), \(model.pool.threadCount) threads, \(model.arithmetic.rawValue) arithmetic, \(RunInfo.date()), git \(RunInfo.gitCommit().prefix(10))"
    }
}
