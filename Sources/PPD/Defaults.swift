import Foundation

/// Where the toolkit finds what it ships and caches: the trained prompt tokens of the default
/// model, their accuracy table, and this machine's cost profile.
public enum Defaults {
    /// The default model's trained prompt tokens, relative to the repository root (the working
    /// directory of `swift run`).
    public static let promptTokensPath = "Experiments/prompts/gemma-3-270m-3x1-run3.safetensors"

    /// The accuracy table that belongs to a prompt-token file: `<stem>-accuracy.json` beside it
    /// (`ppd train --accuracy-out` and `ppd eval-guesses --out` write this layout).
    public static func accuraciesURL(forPromptTokens url: URL) -> URL {
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-accuracy.json")
    }

    /// The cost profile of `model` (file at `modelPath`) on this machine: read from the cache
    /// (`CostProfile.cacheURL`), or measured (and cached) when absent or when it covers fewer
    /// than `maxRows` rows or was measured with other kernels (`CostProfile.kernelRevision`). `progress` gets the measurement's progress lines.
    public static func costProfile(
        model: Transformer, modelPath: String, modelSHA256: String? = nil, maxRows: Int = 48, runs: Int = 3,
        remeasure: Bool = false, progress: @escaping (String) -> Void = { _ in }
    ) throws -> (profile: CostProfile, url: URL, measured: Bool) {
        let sha = try modelSHA256 ?? SHA256.hex(ofFile: modelPath)
        let machine = CostProfile.Machine.current(threads: model.pool.threadCount)
        let url = CostProfile.cacheURL(modelSHA256: sha, machine: machine)
        if !remeasure, FileManager.default.fileExists(atPath: url.path),
            let cached = try? CostProfile(contentsOf: url), cached.modelSHA256 == sha, cached.maxRows >= maxRows,
            cached.kernelRevision == CostProfile.kernelRevision
        {
            return (cached, url, false)
        }
        progress("profiling forward latency for 1...\(maxRows) rows (once per model and machine; cached in \(url.path))")
        let profile = try CostProfile.measure(
            model: model, modelSHA256: sha, threads: model.pool.threadCount, maxRows: maxRows, runs: runs, progress: progress)
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
        progress: @escaping (String) -> Void = { _ in }
    ) throws -> TreeSizing.Candidate {
        guard FileManager.default.fileExists(atPath: accuracies.path) else {
            throw GuessAccuraciesError(
                file: accuracies.path,
                reason: "no accuracy table for a hardware-aware tree; `ppd eval-guesses --prompt-tokens FILE --out \(accuracies.path)` writes it")
        }
        let table = try GuessAccuracies(contentsOf: accuracies)
        let (profile, _, _) = try costProfile(model: model, modelPath: modelPath, modelSHA256: modelSHA256, progress: progress)
        return try TreeSizing(builder: TreeBuilder(accuracies: table), profile: profile, virtualTokens: virtualTokens).best()
    }
}
