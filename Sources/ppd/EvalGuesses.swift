import ArgumentParser
import Foundation
import CommandOptions
import PPD

struct EvalGuesses: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-guesses",
        abstract: "Top-k accuracy of each prompt token's guess against the model's own greedy token at that distance (the paper's eval.py).",
        discussion: """
            For each question (first turn of a FastChat question.jsonl, in the template), the model continues greedily; \
            at --cuts positions inside that continuation the prompt tokens guess the next tokens, and each guess is \
            ranked against the model's greedy token at its distance. --out writes the per-rank table (rows: distances, \
            columns: ranks 0..9, not cumulative) that the tree builder reads.
            """)

    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?
    @Option(help: "Prompt tokens: a safetensors file, or \"text\" for the paper's text initialisation with --prompt-token-count. Default: the shipped trained tokens of the default model when present and made for this model (as `ppd generate --ppd`), else text.")
    var promptTokens: String?
    @Option(help: "Number of prompt tokens when initialising from text.")
    var promptTokenCount = 3
    @Option(help: "Questions in FastChat's question.jsonl format.")
    var questions = "Experiments/data/alpaca_eval/question.jsonl"
    @Option(help: "How many questions (from the start of the file).")
    var count = 40
    @Option(help: "Prompt template: plain, gemma or vicuna.")
    var template = "plain"
    @Option(help: "Tokens of greedy continuation per question.")
    var replyTokens = 64
    @Option(help: "Cuts per question.")
    var cuts = 16
    @Option(help: "Seed for the cuts.")
    var seed: UInt64 = 0
    @OptionGroup(title: "Computation")
    var compute: ComputeOptions
    @OptionGroup(title: "Guess head") var guess: GuessHeadOptions
    @Option(help: "Measure Medusa-style heads (a file from `ppd train --medusa`) instead of prompt tokens, on the same continuations and cuts.")
    var medusa: String?
    @Flag(help: "Print the result as JSON.")
    var json = false
    @Option(help: "Write the per-rank accuracy table (JSON) here.")
    var out: String?

    func run() throws {
        guard let promptTemplate = PromptTemplate.named(template) else { throw ValidationError("--template: unknown template \"\(template)\"") }
        let path = try ModelLocation.resolve(model)
        let file = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let transformer = try Transformer(file: file, threads: compute.threads, arithmetic: compute.arithmetic)
        let modelSHA256 = try FileDigest.sha256(ofFile: path)
        func textTokens() throws -> PromptTokens {
            try PromptTokens.fromText(
                tokenIDs: tokenizer.encode(PromptTokens.paperInitialText(count: promptTokenCount), addSpecial: false),
                count: promptTokenCount, virtualTokens: 1, model: transformer)
        }
        var tokens: PromptTokens
        var tokensFile: String?
        if promptTokens == "text" {
            tokens = try textTokens()
        } else if let promptTokens {
            tokens = try PromptTokens.load(from: URL(fileURLWithPath: promptTokens))
            tokensFile = promptTokens
        } else if FileManager.default.fileExists(atPath: Defaults.promptTokensPath) {
            tokens = try PromptTokens.load(from: URL(fileURLWithPath: Defaults.promptTokensPath))
            tokensFile = Defaults.promptTokensPath
            if let base = tokens.baseModelSHA256, base != modelSHA256 {
                note("the shipped prompt tokens were trained for another model; using the text initialisation")
                tokens = try textTokens()
                tokensFile = nil
            }
        } else {
            tokens = try textTokens()
        }
        try tokens.validate(for: transformer, modelSHA256: modelSHA256)

        // The first --count questions of the file (the accuracy tables under Experiments/prompts
        // were measured on these; the examples spread their questions evenly instead).
        let loaded = try QuestionFile.read(Defaults.shippedFile(questions), limit: count).map(\.text)
        let evaluation = try GuessAccuracyEvaluation(
            model: transformer, tokenizer: tokenizer, questions: loaded, template: promptTemplate, replyTokens: replyTokens,
            cutsPerQuestion: cuts, seed: seed, modelSHA256: modelSHA256, progress: { note($0) })
        let guessVocabulary = try guess.head(model: transformer, modelSHA256: modelSHA256, note: { note($0) })
        let heads = try medusa.map { try MedusaHeads.load(from: URL(fileURLWithPath: $0)) }
        let result = try heads.map { try evaluation.accuracy(of: $0, rankedAmong: guessVocabulary?.head) }
            ?? evaluation.accuracy(of: tokens, rankedAmong: guessVocabulary?.head)
        let (accuracy, loss, scored) = (result.perRank, result.meanLoss, result.cuts)
        let data = try AccuracyReport.data(
            perRank: accuracy,
            fields: [
                medusa == nil ? "prompt_tokens" : "medusa_heads": medusa ?? tokensFile ?? "text:" + PromptTokens.paperInitialText(count: promptTokenCount),
                "questions": questions, "question_count": result.questions, "cuts": scored, "template": template, "mean_loss": loss,
                "guess_vocabulary": guessVocabulary.map { "\($0.file) (\($0.head.tokens.count) most frequent)" } ?? "full",
                "arithmetic": compute.arithmetic.rawValue,
            ])
        if let out { try data.write(to: URL(fileURLWithPath: out), options: .atomic) }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(result.questions) questions, \(scored) cuts, template \(template), mean loss \(String(format: "%.4f", loss))")
            print("distance   top-1  top-2  top-3  top-5  top-10")
            for (d, top) in result.cumulative.enumerated() {
                print(String(format: "%8d   %.3f  %.3f  %.3f  %.3f  %.3f", d + 1, top[0], top[1], top[2], top[4], top[9]))
            }
        }
    }
}
