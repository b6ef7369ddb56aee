import Decoding
import Foundation
import Kernels
import Models
import Tokenizer

/// The prepared data of a training run: training examples, then held-out ones (the last
/// `heldOut` of the prepared list), and how they were made.
///
/// Preparation shuffles the conversations with the recipe's seed, generates the self-distilled
/// replies in batches, and keeps them in an examples file when one is named: an existing file
/// is read (and extended when it holds fewer examples than wanted), and the file is rewritten
/// every 50 new examples, so an interrupted preparation resumes where it stopped. The examples
/// are the same for every batch size and bit for bit reproducible from the model, the
/// conversations file and the seed.
public struct TrainingData: Sendable {
    public var training: [TrainingExamples.Example]
    public var heldOut: [TrainingExamples.Example]
    /// How the examples were made (template, reply, lengths, cuts, seed, source).
    public var description: String

    public init(training: [TrainingExamples.Example], heldOut: [TrainingExamples.Example], description: String) {
        self.training = training
        self.heldOut = heldOut
        self.description = description
    }

    /// Training tokens (context and reply) over all training examples.
    public var trainingTokenCount: Int { training.reduce(0) { $0 + $1.tokens.count } }

    /// What preparation reports while it works.
    public enum Event {
        /// A line worth logging (what was read, what was written).
        case note(String)
        /// Examples prepared so far, of `wanted`, and the rate of new ones per second.
        case progress(count: Int, wanted: Int, perSecond: Double)
    }

    /// Prepares `recipe.conversations + recipe.heldOut` examples from the ShareGPT file at
    /// `conversationsFile`. `teacher` generates the self-distilled replies (`teacherName` says
    /// how, for the description); `examplesFile`, when given, is read first and rewritten as
    /// examples are added. With `recipe.recut`, the training examples get fresh cuts (the
    /// held-out ones keep theirs, so accuracies stay comparable across runs). Throws when fewer
    /// usable conversations than `heldOut + 1` exist, or the examples file is not one made with
    /// this model.
    public static func prepare(
        recipe: TrainingRecipe, conversationsFile: URL, teacher: LanguageModel, teacherName: String, tokenizer: SentencePieceTokenizer,
        modelSHA256: String, examplesFile: URL? = nil, batchSize: Int = 16, events: (Event) -> Void = { _ in }
    ) throws -> TrainingData {
        try recipe.validate()
        let wanted = recipe.conversations + recipe.heldOut
        let contents = try ShareGPT.read(contentsOf: conversationsFile, limit: wanted * 4)
        var random = RandomSource(seed: recipe.seed)
        let pool = contents.conversations.shuffled(using: &random)
        events(.note("read \(contents.conversations.count) conversations from \(conversationsFile.path)\(contents.truncated ? " (file truncated: complete records only)" : "")"))

        let examples = recipe.examples
        var description =
            "template \(recipe.template), reply \(recipe.reply.rawValue)\(recipe.reply == .model ? " (\(recipe.replyTokens) tokens, \(teacherName) arithmetic)" : ""), max length \(recipe.maxLength), \(recipe.cuts) cuts, \(recipe.promptTokens) prompt tokens, seed \(recipe.seed), from \(conversationsFile.path)"
        var prepared: [TrainingExamples.Example] = []
        if let examplesFile, FileManager.default.fileExists(atPath: examplesFile.path) {
            let file = try TrainingExamples.File.load(from: examplesFile, modelSHA256: modelSHA256)
            prepared = Array(file.examples.prefix(wanted))
            events(.note("read \(prepared.count) prepared examples from \(examplesFile.path) (\(file.description))"))
            description = file.examples.count < wanted ? file.description + "; extended to \(wanted) with: " + description : file.description
        }
        if prepared.count < wanted {
            let before = prepared.count, started = ContinuousClock.now
            prepared = try examples.prepare(
                pool: pool, wanted: wanted, existing: prepared, model: teacher, tokenizer: tokenizer, random: &random, batchSize: batchSize,
                checkpoint: { examples in
                    if let examplesFile {
                        try TrainingExamples.File(modelSHA256: modelSHA256, description: description, examples: examples).save(to: examplesFile)
                    }
                },
                progress: { count in
                    events(.progress(count: count, wanted: wanted, perSecond: Double(count - before) / started.secondsSince()))
                })
            if let examplesFile { events(.note("wrote \(prepared.count) prepared examples to \(examplesFile.path)")) }
        }
        guard prepared.count > recipe.heldOut else {
            throw TrainingError("\(conversationsFile.path): only \(prepared.count) usable conversations, \(recipe.heldOut + 1) or more needed")
        }
        var data = TrainingData(
            training: Array(prepared.prefix(prepared.count - recipe.heldOut)), heldOut: Array(prepared.suffix(recipe.heldOut)),
            description: description)
        if recipe.recut {
            data.recut(with: examples, seed: recipe.seed)
            events(.note("drew \(data.training.reduce(0) { $0 + $1.cuts.count }) fresh cuts (up to \(recipe.cuts) per example)"))
        }
        return data
    }

    /// Replaces the training examples' cuts with fresh ones drawn by `examples` (seeded from
    /// `seed`); an example whose reply leaves no room keeps its cuts. Held-out cuts stay.
    public mutating func recut(with examples: TrainingExamples, seed: UInt64) {
        var random = RandomSource(seed: seed &+ 0x5EED)
        for i in training.indices {
            training[i].cuts = examples.cuts(tokens: training[i].tokens, replyStart: training[i].replyStart, random: &random) ?? training[i].cuts
        }
    }

    /// The first `training` training examples and the first `heldOut` held-out ones (a smaller
    /// run on the same data).
    public func prefix(training: Int, heldOut: Int) -> TrainingData {
        TrainingData(training: Array(self.training.prefix(training)), heldOut: Array(self.heldOut.prefix(heldOut)), description: description)
    }
}
