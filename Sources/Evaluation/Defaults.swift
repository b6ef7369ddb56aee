import Decoding
import Foundation
import GGUF
import Models

/// Where the toolkit finds what it ships and caches: the trained prompt tokens of the default
/// model, their accuracy table, and this machine's cost profile.
public enum Defaults {
    /// The default model's trained prompt tokens (`shippedFile`).
    public static var promptTokensPath: String { shippedFile("Experiments/prompts/gemma-3-270m-3x1-run9.safetensors") }

    /// The guess vocabulary of the default model: token frequencies over 20,000 ShareGPT
    /// conversations (`ppd guess-vocab`) (`shippedFile`).
    public static var guessVocabularyPath: String { shippedFile("Experiments/vocab/gemma-3-270m-sharegpt-20k.json") }

    /// A file the repository ships, named relative to its root: where `ShippedFiles` finds it
    /// (from any working directory), else as given (callers report it missing).
    public static func shippedFile(_ relativePath: String) -> String {
        ShippedFiles.locate(relativePath) ?? relativePath
    }

    /// Tokens in the guess head by default: the most frequent of the guess vocabulary.
    public static let guessHeadSize = 16384

    /// The guess vocabulary a `--guess-vocab` option names: the file given, nil for "none", and
    /// without the option the shipped vocabulary when it exists (else nil).
    public static func guessVocabularyFile(option: String?) -> String? {
        if let option { return option == "none" ? nil : option }
        return FileManager.default.fileExists(atPath: guessVocabularyPath) ? guessVocabularyPath : nil
    }

    /// The accuracy table that belongs to a prompt-token file: `<stem>-accuracy.json` beside it
    /// (`ppd train --accuracy-out` and `ppd eval-guesses --out` write this layout).
    public static func accuraciesURL(forPromptTokens url: URL) -> URL {
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-accuracy.json")
    }

    /// The cost profile of `model` (file at `modelPath`) on this machine: read from the cache
    /// (`CostProfile.cacheURL`), or measured (and cached) when absent or when it covers fewer
    /// than `maxRows` rows or was measured with other kernels (`CostProfile.kernelRevision`). `progress` gets the measurement's progress lines.
    /// With a `guessHead`, the profile also prices prompt rows that use it (measured again when
    /// the cached one was made without it or with another head size).
    public static func costProfile(
        model: Transformer, modelPath: String, modelSHA256: String? = nil, maxRows: Int = 48, runs: Int = 3,
        guessHead: GuessHead? = nil, remeasure: Bool = false, progress: @escaping (String) -> Void = { _ in }
    ) throws -> (profile: CostProfile, url: URL, measured: Bool) {
        let sha = try modelSHA256 ?? FileDigest.sha256(ofFile: modelPath)
        let machine = CostProfile.Machine.current(threads: model.pool.threadCount)
        let url = CostProfile.cacheURL(modelSHA256: sha, machine: machine, arithmetic: model.arithmetic)
        if !remeasure, FileManager.default.fileExists(atPath: url.path),
            let cached = try? CostProfile(contentsOf: url), cached.modelSHA256 == sha, cached.maxRows >= maxRows,
            cached.kernelRevision == CostProfile.kernelRevision, cached.matrixArithmetic == model.arithmetic,
            guessHead.map({ cached.pricesGuessHead(size: $0.tokens.count) }) ?? true
        {
            return (cached, url, false)
        }
        progress(
            "profiling forward latency for 1...\(maxRows) rows\(guessHead == nil ? "" : ", also layers-only and with the guess head")"
                + " (once per model and machine; cached in \(url.path))")
        let profile = try CostProfile.measure(
            model: model, modelSHA256: sha, threads: model.pool.threadCount, maxRows: maxRows, runs: runs,
            guessHead: guessHead, arithmetic: model.arithmetic, progress: progress)
        try profile.write(to: url)
        return (profile, url, true)
    }
}

extension Defaults {
    /// The hardware-aware tree (`--tree auto`): the dynamic tree with the best predicted speedup
    /// for the accuracies in `accuracies` on this machine's cost profile (measured and cached on
    /// first use). Errors say which file is missing and which command makes it.
    public static func hardwareAwareTree(
        model: Transformer, modelPath: String, modelSHA256: String? = nil, accuracies: URL, virtualTokens: Int,
        guessHead: GuessHead? = nil, progress: @escaping (String) -> Void = { _ in }
    ) throws -> TreeSizing.Candidate {
        guard FileManager.default.fileExists(atPath: accuracies.path) else {
            throw GuessAccuraciesError(
                file: accuracies.path,
                reason: "no accuracy table for a hardware-aware tree; `ppd eval-guesses --prompt-tokens FILE --out \(accuracies.path)` writes it")
        }
        let table = try GuessAccuracies(contentsOf: accuracies)
        let (profile, _, _) = try costProfile(
            model: model, modelPath: modelPath, modelSHA256: modelSHA256, guessHead: guessHead, progress: progress)
        return try TreeSizing(
            builder: TreeBuilder(accuracies: table), profile: profile, virtualTokens: virtualTokens,
            guessHeadSize: guessHead?.tokens.count
        ).best()
    }

    /// The guess head a `--guess-vocab` option asks for, with its file: none for "none" or when
    /// there is no vocabulary; a named file must fit the model (else the error names it). The
    /// shipped vocabulary, used when no option is given, belongs to the default model: for a
    /// model it does not fit, `note` says so and prompt rows keep the full output layer.
    public static func guessHead(
        option: String?, size: Int, model: Transformer, modelSHA256: String?, note: (String) -> Void
    ) throws -> (head: GuessHead, file: String)? {
        guard let file = guessVocabularyFile(option: option) else { return nil }
        do {
            return (try guessHead(model: model, vocabularyPath: file, size: size, modelSHA256: modelSHA256), file)
        } catch let error as GuessVocabularyError where option == nil {
            note("\(error); prompt rows use the full output layer (--guess-vocab FILE names a vocabulary for this model)")
            return nil
        }
    }

    /// The guess head of `model` over the `size` most frequent tokens of the guess vocabulary at
    /// `path` (checked against the model's vocabulary and, when both are known, its SHA-256).
    public static func guessHead(
        model: Transformer, vocabularyPath path: String, size: Int, modelSHA256: String?
    ) throws -> GuessHead {
        guard size > 0 else { throw GuessVocabularyError(file: path, reason: "a guess head needs at least one token (size \(size))") }
        let vocabulary = try GuessVocabulary(contentsOf: URL(fileURLWithPath: path))
        try vocabulary.validate(vocabSize: model.config.vocabSize, modelSHA256: modelSHA256, file: path)
        return try model.makeGuessHead(tokens: vocabulary.prefix(size))
    }
}
