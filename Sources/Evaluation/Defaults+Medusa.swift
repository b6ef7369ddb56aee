import Decoding
import Foundation
import Models

extension Defaults {
    /// The shipped Medusa-style heads of the default model (`ppd train --medusa` on run8's data
    /// and budget), as `shippedFile` finds them.
    public static var medusaHeadsPath: String { shippedFile("Experiments/prompts/gemma-3-270m-medusa3.safetensors") }

    /// The static tree of drafted rows with the best predicted speedup for the heads at
    /// `headsURL` on this machine: their accuracy table beside them (`accuraciesURL`) and the
    /// model's cost profile (measured once and cached). Throws, naming the file, without a table.
    public static func medusaTree(
        headsURL: URL, model: Transformer, modelPath: String, modelSHA256: String?, progress: @escaping (String) -> Void = { _ in }
    ) throws -> TreeSizing.Candidate {
        let table = accuraciesURL(forPromptTokens: headsURL)
        guard FileManager.default.fileExists(atPath: table.path) else {
            throw EvaluationError(
                file: table.path,
                "no accuracy table for the Medusa-style heads (`ppd eval-guesses --medusa \(headsURL.path) --out \(table.path)` writes it); or name a tree")
        }
        let profile = try costProfile(model: model, modelPath: modelPath, modelSHA256: modelSHA256, progress: progress).profile
        let sizing = TreeSizing(builder: TreeBuilder(accuracies: try GuessAccuracies(contentsOf: table)), profile: profile)
        return try sizing.bestDraftedTree()
    }
}

extension ExperimentSession {
    /// The Medusa-style heads at `path` (default: the shipped ones), checked against the model.
    public func medusaHeads(path: String? = nil) throws -> (heads: MedusaHeads, path: String) {
        let file = path ?? Defaults.medusaHeadsPath
        let heads = try MedusaHeads.load(from: URL(fileURLWithPath: file))
        try heads.validate(for: model, modelSHA256: modelSHA256)
        return (heads, file)
    }

    /// A Medusa drafter of `heads` (read from `path`) with the session's guess head, over `tree`,
    /// or without one over the hardware-aware drafted tree (`Defaults.medusaTree`).
    public func medusaDrafter(_ heads: MedusaHeads, path: String, tree: TokenTree? = nil) throws -> MedusaDrafter {
        let chosen = try tree ?? {
            let candidate = try Defaults.medusaTree(
                headsURL: URL(fileURLWithPath: path), model: model, modelPath: modelPath, modelSHA256: modelSHA256, progress: progress)
            progress(String(format: "Medusa tree: %d nodes, predicted %.2f tokens per step, speedup %.2f", candidate.size, candidate.tokensPerStep, candidate.predictedSpeedup))
            return candidate.tree.tree(forDepth: candidate.tree.maxDepth) ?? TokenTree.empty(promptTokens: 0)
        }()
        return try MedusaDrafter(heads: heads, model: model, tree: chosen, guessHead: guess?.head)
    }
}
