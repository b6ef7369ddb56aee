import Decoding
import Foundation
import Kernels
import Models
import Store
import Training
import Trees

/// What training experiments share: an `ExperimentSession` (its model is the frozen teacher, in
/// the arithmetic `ppd generate` runs; its guess head the rows the prompt tokens train over), a
/// float32 copy of the model whose prompt rows train, prepared data cached on disk, and runs of
/// recipes on it. Every recipe of an experiment runs on the same prepared data and seed.
///
///     let experiment = try TrainingExperiment(session: try ExperimentSession())
///     let data = try experiment.prepare(TrainingRecipe(conversations: 120, heldOut: 20))
///     let outcome = try experiment.run(recipe, on: data)
public final class TrainingExperiment {
    public let session: ExperimentSession
    /// The model whose prompt rows train (forward and backward in float32).
    public let student: Transformer
    /// The student's guess head over the session's guess vocabulary (nil where the session has none).
    public let studentGuessHead: GuessHead?
    /// The ShareGPT file (`make sharegpt`).
    public let conversationsFile: URL
    /// Where prepared examples are cached (one file per preparation setting and seed).
    public let cacheDirectory: URL

    /// The default ShareGPT file: `~/.cache/ppd/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json`.
    public static var defaultConversationsFile: URL {
        FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ppd/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json")
    }

    /// Loads the float32 student beside `session`. Throws naming the conversations file when it
    /// is missing (`make sharegpt` fetches it).
    public init(
        session: ExperimentSession, conversationsFile: URL = TrainingExperiment.defaultConversationsFile,
        cacheDirectory: URL = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ppd/examples"), threads: Int? = nil
    ) throws {
        guard FileManager.default.fileExists(atPath: conversationsFile.path) else {
            throw EvaluationError(file: conversationsFile.path, "no ShareGPT file; `make sharegpt` fetches it")
        }
        self.session = session
        self.conversationsFile = conversationsFile
        self.cacheDirectory = cacheDirectory
        let student = session.model.arithmetic == .float32 ? session.model : try Transformer(file: session.modelFile, threads: threads)
        self.student = student
        // A guess head belongs to the model (and arithmetic) it was made from.
        studentGuessHead = try session.guess.map { try student.makeGuessHead(tokens: $0.head.tokens) }
    }

    /// The cache file of a recipe's prepared examples: everything that changes them is in the
    /// name (model, template, reply, lengths, cuts, prompt tokens, seed, count).
    public func examplesFile(for recipe: TrainingRecipe) -> URL {
        let reply = recipe.reply == .model ? "model\(recipe.replyTokens)-\(session.model.arithmetic.rawValue)" : "dataset"
        let name = "\(session.modelSHA256.prefix(12))-\(recipe.template)-\(reply)-len\(recipe.maxLength)-cuts\(recipe.cuts)-n\(recipe.promptTokens)"
            + "-seed\(recipe.seed)-\(recipe.conversations + recipe.heldOut).json"
        return cacheDirectory.appendingPathComponent(name)
    }

    /// The prepared data of `recipe` (read from the cache when it was prepared before; replies
    /// generated `batchSize` conversations at a time), with progress lines to the session.
    public func prepare(_ recipe: TrainingRecipe, batchSize: Int = 32) throws -> TrainingData {
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        var lastReport = ContinuousClock.now
        return try TrainingData.prepare(
            recipe: recipe, conversationsFile: conversationsFile, teacher: session.model, teacherName: session.model.arithmetic.rawValue,
            tokenizer: session.tokenizer, modelSHA256: session.modelSHA256, examplesFile: examplesFile(for: recipe), batchSize: batchSize,
            events: { event in
                switch event {
                case .note(let line): session.progress(line)
                case .progress(let count, let wanted, let rate):
                    guard count == wanted || lastReport.secondsSince() > 10 else { return }
                    lastReport = ContinuousClock.now
                    session.progress(String(format: "preparing examples %d/%d, %.2f/s, ETA %.0f s", count, wanted, rate, Double(wanted - count) / max(rate, 1e-9)))
                }
            })
    }

    /// A run of `recipe` on `data` with the session's guess head (nil: the full vocabulary).
    public func trainingRun(_ recipe: TrainingRecipe, guessHead: Bool = true) throws -> PromptTokenTrainingRun {
        try PromptTokenTrainingRun(
            recipe: recipe, student: student, teacher: session.model, tokenizer: session.tokenizer, modelSHA256: session.modelSHA256,
            guessHead: guessHead ? studentGuessHead : nil)
    }

    /// A run of Medusa-style heads (`recipe.promptTokens` of them) on the same data, teacher and
    /// guess head (nil: the full vocabulary) as `trainingRun`.
    public func medusaRun(_ recipe: TrainingRecipe, guessHead: Bool = true) throws -> MedusaTrainingRun {
        try MedusaTrainingRun(
            recipe: recipe, student: student, teacher: session.model, modelSHA256: session.modelSHA256,
            studentHead: guessHead ? studentGuessHead : nil, teacherHead: guessHead ? session.guess?.head : nil)
    }

    /// Expected tokens per step of the best dynamic tree with at most `inputLimit` inputs
    /// (nodes + prompt tokens) that an accuracy measurement gives (the tree builder's
    /// prediction under its depth chain), or nil when the table cannot build one.
    public static func predictedTokensPerStep(_ measurement: PromptTokenTrainingRun.Measurement, inputLimit: Int) -> Double? {
        guard let accuracies = try? GuessAccuracies(perRank: measurement.perRank),
            let built = try? TreeBuilder(accuracies: accuracies).dynamicTree(inputLimit: inputLimit)
        else { return nil }
        return built.expectedTokensPerStep
    }
}
