import ArgumentParser
import PPD

/// The flags every training command shares (`ppd train` and the training examples): data size,
/// cuts, learning rate, epochs, seed and the batch of self-distilled replies. The data size and
/// the seed default to each command's own values.
public struct TrainingRunOptions: ParsableArguments {
    @Option(help: "Training conversations (one optimizer step each per epoch; default: the command's).")
    public var conversations: Int?
    @Option(help: "Cuts per conversation (positions in the reply where the prompt tokens learn).")
    public var cuts = 8
    @Option(help: "Peak learning rate (AdamW, cosine schedule without warm-up).")
    public var lr = 1e-2
    @Option(help: "Epochs over the training conversations.")
    public var epochs = 1
    @Option(help: "Seed of the conversation order, the cuts and a random initialisation (default: the command's).")
    public var seed: UInt64?
    @Option(help: "Conversations whose self-distilled replies are generated together, in shared forward passes (1...256; the prepared examples are the same for every value).")
    public var prepareBatch = 32

    public init() {}

    public func validate() throws {
        if let conversations, conversations <= 0 { throw ValidationError("--conversations must be positive") }
        guard cuts > 0, epochs > 0 else { throw ValidationError("--cuts and --epochs must be positive") }
        guard lr.isFinite && lr > 0 else { throw ValidationError("--lr must be a positive number") }
        guard (1...BatchGenerator.maxBatchSize).contains(prepareBatch) else {
            throw ValidationError("--prepare-batch must be in 1...\(BatchGenerator.maxBatchSize)")
        }
    }

    /// A recipe with these settings, `conversations` and `seed` falling back to the command's
    /// defaults; the other fields keep `TrainingRecipe`'s defaults.
    public func recipe(defaultConversations: Int, heldOut: Int, defaultSeed: UInt64) -> TrainingRecipe {
        var recipe = TrainingRecipe(conversations: conversations ?? defaultConversations, heldOut: heldOut)
        recipe.cuts = cuts
        recipe.learningRate = lr
        recipe.epochs = epochs
        recipe.seed = seed ?? defaultSeed
        return recipe
    }
}
