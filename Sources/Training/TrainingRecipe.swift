import Decoding
import Foundation
import Models
import Tokenizer

/// Everything that defines a prompt-token training run, as one value: the options of the paper's
/// `train.py` (prompt tokens, virtual tokens, attention type, loss, learning rate, schedule,
/// epochs, data size, seed) plus how the data is prepared. `ppd train` builds one from its flags;
/// an experiment builds several that differ in one field and runs them on the same prepared data.
///
///     var recipe = TrainingRecipe(conversations: 400, heldOut: 20)
///     recipe.virtualTokens = 2
///     try recipe.validate()
public struct TrainingRecipe: Sendable, Equatable {
    /// Where the reply a training sequence continues with comes from.
    public enum ReplySource: String, Sendable, CaseIterable {
        /// The frozen model's own greedy continuation (self-distillation, the paper's recipe).
        case model
        /// The dataset's assistant reply.
        case dataset
    }

    /// How the prompt tokens start.
    public enum Initialisation: Sendable, Equatable, CustomStringConvertible {
        /// The paper's text, "Next 2 word Next 3 word ...", embedded by the model.
        case paperText
        /// Other text, embedded by the model (its token ids cycled over the rows).
        case text(String)
        /// Independent normal values with this standard deviation (seeded with the recipe's seed).
        case random(scale: Float)

        public var description: String {
            switch self {
            case .paperText: return "paper text"
            case .text(let text): return "text \"\(text)\""
            case .random(let scale): return "random (sd \(scale))"
            }
        }
    }

    // Data.
    /// Prompt template name (`PromptTemplate.named`): plain, gemma or vicuna.
    public var template = "plain"
    public var reply = ReplySource.model
    /// Length of the model's own reply (with `reply == .model`).
    public var replyTokens = 64
    /// Longest training sequence in tokens.
    public var maxLength = 256
    /// Cuts per conversation.
    public var cuts = 8
    /// Draw fresh cuts for the training examples instead of the prepared ones (seeded).
    public var recut = false
    /// Training conversations, and held-out ones after them.
    public var conversations = 200
    public var heldOut = 20

    // Prompt tokens.
    public var promptTokens = 3
    public var virtualTokens = 1
    public var attention = PromptTokens.Attention.ensemble
    public var initialisation = Initialisation.paperText

    // Objective and optimizer.
    public var loss = DistillationLoss.Kind.distillation
    /// Weight of distance k's loss is `lossDecay^k` (the paper's 0.8).
    public var lossDecay = 0.8
    /// Peak learning rate of AdamW's cosine schedule (no warm-up).
    public var learningRate = 1e-2
    public var weightDecay = 0.0
    public var epochs = 1
    /// Seed of the conversation order, the cuts and a random initialisation.
    public var seed: UInt64 = 0

    /// A recipe with the defaults of `ppd train`, and the data size.
    public init(conversations: Int = 200, heldOut: Int = 20) {
        self.conversations = conversations
        self.heldOut = heldOut
    }

    /// Throws a `TrainingError` naming the first field out of range.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> TrainingError { TrainingError("training recipe: \(field) \(reason)") }
        guard PromptTemplate.named(template) != nil else {
            throw fail("template", "\"\(template)\" is not a known template (known: \(PromptTemplate.all.map(\.name).joined(separator: ", ")))")
        }
        let positive: [(String, Int)] = [
            ("conversations", conversations), ("promptTokens", promptTokens), ("virtualTokens", virtualTokens), ("cuts", cuts),
            ("epochs", epochs), ("replyTokens", replyTokens), ("maxLength", maxLength),
        ]
        if let (field, value) = positive.first(where: { $0.1 <= 0 }) { throw fail(field, "must be positive, not \(value)") }
        guard heldOut >= 0 else { throw fail("heldOut", "must not be negative, not \(heldOut)") }
        guard learningRate.isFinite && learningRate > 0 else { throw fail("learningRate", "must be a positive number, not \(learningRate)") }
        guard weightDecay.isFinite && weightDecay >= 0 else { throw fail("weightDecay", "must not be negative, not \(weightDecay)") }
        guard lossDecay.isFinite && lossDecay > 0 else { throw fail("lossDecay", "must be positive, not \(lossDecay)") }
        if case .random(let scale) = initialisation, !(scale.isFinite && scale > 0) {
            throw fail("initialisation", "random scale must be positive, not \(scale)")
        }
        if case .text(let text) = initialisation, text.isEmpty { throw fail("initialisation", "text is empty") }
    }

    /// Training steps: one per training conversation and epoch.
    public func totalSteps(trainingExamples: Int) -> Int { trainingExamples * epochs }

    /// The data-preparation settings of this recipe.
    public var examples: TrainingExamples {
        TrainingExamples(
            template: PromptTemplate.named(template) ?? .plain, reply: reply == .model ? .selfDistilled(tokens: replyTokens) : .dataset,
            maxLength: maxLength, cutsPerSequence: cuts, promptTokens: promptTokens, seed: seed)
    }

    /// The objective's loss.
    public var distillationLoss: DistillationLoss { DistillationLoss(kind: loss, decay: lossDecay) }

    /// One line naming every setting (stored in the trained file's `training_summary`).
    public var summary: String {
        "\(conversations) conversations x \(epochs) epochs, template \(template), reply \(reply.rawValue)"
            + (reply == .model ? " (\(replyTokens) tokens)" : "") + ", \(cuts) cuts\(recut ? " (redrawn)" : ""), max length \(maxLength), "
            + "\(promptTokens) prompt tokens x \(virtualTokens) virtual, attention \(attention.rawValue), init \(initialisation), "
            + "loss \(loss.rawValue) decay \(lossDecay), lr \(learningRate) cosine, weight decay \(weightDecay), seed \(seed)"
    }

    /// The settings as name/value pairs (for result files).
    public var settings: [(name: String, value: String)] {
        [
            ("template", template), ("reply", reply.rawValue), ("reply_tokens", "\(replyTokens)"), ("max_length", "\(maxLength)"),
            ("cuts", "\(cuts)"), ("recut", "\(recut)"), ("conversations", "\(conversations)"), ("held_out", "\(heldOut)"),
            ("prompt_tokens", "\(promptTokens)"), ("virtual_tokens", "\(virtualTokens)"), ("attention", attention.rawValue),
            ("initialisation", initialisation.description), ("loss", loss.rawValue), ("loss_decay", "\(lossDecay)"),
            ("learning_rate", "\(learningRate)"), ("weight_decay", "\(weightDecay)"), ("epochs", "\(epochs)"), ("seed", "\(seed)"),
        ]
    }

    /// The prompt tokens a run starts from (before any checkpoint).
    public func initialTokens(model: LanguageModel, tokenize: (String) -> [Int32]) throws -> PromptTokens {
        var tokens: PromptTokens
        switch initialisation {
        case .paperText:
            tokens = try PromptTokens.fromText(
                tokenIDs: tokenize(PromptTokens.paperInitialText(count: promptTokens)), count: promptTokens, virtualTokens: virtualTokens,
                model: model)
        case .text(let text):
            tokens = try PromptTokens.fromText(tokenIDs: tokenize(text), count: promptTokens, virtualTokens: virtualTokens, model: model)
        case .random(let scale):
            tokens = try PromptTokens.random(
                count: promptTokens, virtualTokens: virtualTokens, hiddenSize: model.config.hiddenSize, seed: seed, scale: scale)
        }
        tokens.attention = attention
        return tokens
    }
}
