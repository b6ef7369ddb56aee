import Decoding
import Foundation
import Kernels
import Models

/// Trains prompt tokens: one AdamW step per training sequence, on the mean gradient of its cuts
/// (the cuts share one prefix pass), with a cosine learning-rate schedule over all steps, and
/// checkpoints that hold the tokens and the optimizer state (moments stored in float32, so a
/// resumed run continues from the rounded moments).
public final class PromptTokenTrainer {
    public let objective: PromptTokenObjective
    public private(set) var tokens: PromptTokens
    public private(set) var optimizer: AdamW
    public let schedule: CosineSchedule

    /// Progress after each step.
    public struct Progress: Sendable {
        public var step: Int
        public var totalSteps: Int
        /// Mean loss of this step's cuts, and an exponential moving average.
        public var loss: Double
        public var smoothedLoss: Double
        public var cutsPerSecond: Double
        /// Sequence tokens per second (prefix passes included).
        public var tokensPerSecond: Double
        public var secondsLeft: Double
    }

    /// A trainer of `tokens` for `totalSteps` steps with peak rate `learningRate`; `state` resumes
    /// from a checkpoint's optimizer.
    public init(objective: PromptTokenObjective, tokens: PromptTokens, learningRate: Double, totalSteps: Int, weightDecay: Double = 0, state: AdamW? = nil) {
        self.objective = objective
        self.tokens = tokens
        optimizer = state ?? AdamW(count: tokens.embeddings.count, weightDecay: weightDecay)
        schedule = CosineSchedule(peak: learningRate, totalSteps: totalSteps)
    }

    /// Steps taken so far (also the index of the next step in the schedule).
    public var step: Int { optimizer.step }

    private var smoothed: Double?
    private var started = ContinuousClock.now
    private var stepsThisRun = 0
    private var cutsThisRun = 0
    private var tokensThisRun = 0

    /// One step on `sequence`: the mean loss over its cuts.
    @discardableResult
    public func train(on sequence: TrainingSequence) throws -> Progress {
        if stepsThisRun == 0 { started = ContinuousClock.now }
        let evaluation = try objective.evaluate(sequence, cuts: sequence.cuts, promptTokens: tokens)
        var gradient = evaluation.gradient
        var loss = evaluation.losses.reduce(0, +)
        let scale = 1 / Float(max(sequence.cuts.count, 1))
        for i in 0..<gradient.count { gradient[i] *= scale }
        loss /= Double(max(sequence.cuts.count, 1))
        let rate = schedule.rate(at: optimizer.step)
        tokens.withMutableEmbeddings { optimizer.update(&$0, gradient: gradient, rate: rate) }

        stepsThisRun += 1
        cutsThisRun += sequence.cuts.count
        tokensThisRun += sequence.tokens.count
        smoothed = smoothed.map { 0.95 * $0 + 0.05 * loss } ?? loss
        let elapsed = started.secondsSince()
        let perStep = elapsed / Double(stepsThisRun)
        return Progress(
            step: optimizer.step, totalSteps: schedule.totalSteps, loss: loss, smoothedLoss: smoothed ?? loss,
            cutsPerSecond: Double(cutsThisRun) / elapsed, tokensPerSecond: Double(tokensThisRun) / elapsed,
            secondsLeft: perStep * Double(max(schedule.totalSteps - optimizer.step, 0)))
    }

    /// Guess accuracy and mean loss of the current tokens on `sequences` (see
    /// `PromptTokenObjective.accuracy`).
    public func evaluate(_ sequences: [TrainingSequence], topK: Int = 10) throws -> (accuracy: [[Double]], loss: Double) {
        try objective.accuracy(on: sequences, promptTokens: tokens, topK: topK)
    }

    // MARK: Checkpoints

    /// Writes the tokens and the optimizer state (moments and step) to a safetensors file,
    /// atomically.
    public func saveCheckpoint(to url: URL, summary: String) throws {
        var tokens = self.tokens
        tokens.trainingSummary = summary
        let rows = tokens.rows, hidden = tokens.hiddenSize
        let file = Safetensors(
            tensors: [
                PromptTokens.tensorName: .init(shape: [rows, hidden], values: tokens.embeddings),
                "adamw_first_moment": .init(shape: [rows, hidden], values: optimizer.firstMoment.map(Float.init)),
                "adamw_second_moment": .init(shape: [rows, hidden], values: optimizer.secondMoment.map(Float.init)),
            ],
            metadata: [
                "num_prompt_tokens": String(tokens.count), "virtual_tokens_per_prompt_token": String(tokens.virtualTokens),
                "attention_type": tokens.attention.rawValue, "training_summary": summary, "adamw_step": String(optimizer.step),
            ].merging(tokens.baseModelSHA256.map { ["base_model_sha256": $0] } ?? [:]) { a, _ in a })
        try file.write(to: url)
    }

    /// The optimizer state of a checkpoint written by `saveCheckpoint` (nil when the file holds
    /// only prompt tokens).
    public static func optimizerState(from url: URL) throws -> AdamW? {
        let file = try Safetensors(contentsOf: url)
        guard let first = file.tensors["adamw_first_moment"], let second = file.tensors["adamw_second_moment"],
            let stepText = file.metadata["adamw_step"], let step = Int(stepText)
        else { return nil }
        var state = AdamW(count: first.values.count)
        state.firstMoment = first.values.map(Double.init)
        state.secondMoment = second.values.map(Double.init)
        state.step = step
        return state
    }
}
