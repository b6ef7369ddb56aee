import ArgumentParser
import Foundation
import CommandOptions
import PPD

/// A prompt decoder built from the command line's options, with what went into it (for traces
/// and reports).
struct PreparedDecoding {
    let decoder: PromptDecoder
    let promptTokens: PromptTokens
    /// The file the prompt tokens came from (nil: initialised from text).
    let promptTokensFile: String?
    /// The model file's sha256, when something needed it.
    let modelSHA256: String?
    let tree: DynamicTree
    /// The guess head and its vocabulary file, if any.
    let guess: (head: GuessHead, file: String)?
}

extension PromptDecodingOptions {
    /// The prompt decoder these options describe for the model at `path`: prompt tokens (the
    /// shipped ones when made for this model, else the text initialisation), guess head, tree
    /// (hardware-aware by default), drafter and draft sizing. Notes on stderr say what was chosen.
    func prepareDecoder(path: String, transformer: Transformer, tokenizer: SentencePieceTokenizer) throws -> PreparedDecoding {
        if promptTokens == nil, initText == nil, promptTokensFile == nil {
            note("no trained prompt tokens at \(Defaults.promptTokensPath) (pass --prompt-tokens); using the text initialisation")
        }
        var tokens = try loadPromptTokens(model: transformer, tokenizer: tokenizer)
        // Hash the model only when something needs it (the tokens name a model, a trace, a profile).
        let needsHash = tokens.baseModelSHA256 != nil || trace != nil || usesHardwareAwareTree || lookup != false || medusa != nil
        let modelSHA256 = needsHash ? try FileDigest.sha256(ofFile: path) : nil
        var tokensFile = promptTokensFile
        if usesDefaultPromptTokens, let base = tokens.baseModelSHA256, base != modelSHA256 {
            note("the shipped prompt tokens were trained for another model; using the text initialisation")
            tokens = try loadPromptTokens(model: transformer, tokenizer: tokenizer, forceText: true)
            tokensFile = nil
        }
        let guess = try loadGuessHead(model: transformer, modelSHA256: modelSHA256)
        let guessHead = guess?.head
        let tree = try loadTree(
            promptTokens: tokens, promptTokensFile: tokensFile, model: transformer, modelPath: path, modelSHA256: modelSHA256,
            guessHead: guessHead)
        let lookupDrafting = try makeDrafter()
        let medusaDrafting = try makeMedusaDrafter(model: transformer, modelPath: path, modelSHA256: modelSHA256, guessHead: guessHead)
        let parts = [lookupDrafting, medusaDrafting].compactMap { $0 }
        let drafting: (drafter: any TokenDrafter, rows: Int)? = parts.count > 1
            ? (DrafterGroup(parts.map(\.drafter)), parts.reduce(0) { $0 + $1.rows }) : parts.first
        // Prompt-lookup drafts verified with or without the tree: priced on this machine's cost profile.
        let draftSizing = try lookupDrafting == nil || tree == .rootOnly
            ? nil
            : DraftSizing(
                profile: Defaults.costProfile(
                    model: transformer, modelPath: path, modelSHA256: modelSHA256, guessHead: guessHead, progress: { note($0) }
                ).profile,
                guessHeadSize: guessHead?.tokens.count)
        do {
            let decoder = try PromptDecoder(
                model: transformer, promptTokens: tokens, tree: tree, modelSHA256: modelSHA256, guessHead: guessHead,
                drafter: drafting?.drafter, draftRowLimit: drafting?.rows ?? 0, draftSizing: draftSizing,
                draftCarriesPromptTokens: draftPromptTokens)
            return PreparedDecoding(
                decoder: decoder, promptTokens: tokens, promptTokensFile: tokensFile, modelSHA256: modelSHA256, tree: tree,
                guess: guess)
        } catch let error as TreeError {
            throw TreeError(error.problem, file: self.tree ?? error.file, depthKey: error.depthKey)
        } catch let error as PromptTokensError {
            throw PromptTokensError(error.problem, file: tokensFile ?? error.file)
        }
    }
}
