import Decoding
import Foundation
import Kernels
import Models
import Tokenizer

/// One training run of prompt tokens from a `TrainingRecipe` on prepared `TrainingData`: the
/// paper's loop (one AdamW step per training conversation on the mean gradient of its cuts,
/// cosine schedule, epochs), held-out guess accuracy before and after, checkpoints that resume
/// mid-run, and optionally an accuracy curve measured every few steps (with a stopping rule, for
/// time-to-accuracy experiments). `ppd train` and the training examples are thin layers over it.
///
///     let run = try PromptTokenTrainingRun(recipe: recipe, student: float32Model, teacher: int8Model,
///                                          tokenizer: tokenizer, modelSHA256: sha, guessHead: head)
///     let outcome = try run.run(on: data)
///     try outcome.tokens.save(to: url)
public final class PromptTokenTrainingRun {
    public let recipe: TrainingRecipe
    /// The model whose prompt rows train (forward and backward, float32).
    public let student: Transformer
    /// The frozen model's own passes: teacher distributions and the prefix keys and values.
    public let teacher: LanguageModel
    public let tokenizer: SentencePieceTokenizer
    public let modelSHA256: String
    /// The output rows the prompt rows' logits, loss and ranks cover (nil: the full vocabulary).
    public let guessHead: GuessHead?

    public init(
        recipe: TrainingRecipe, student: Transformer, teacher: LanguageModel, tokenizer: SentencePieceTokenizer, modelSHA256: String,
        guessHead: GuessHead?
    ) throws {
        try recipe.validate()
        self.recipe = recipe
        self.student = student
        self.teacher = teacher
        self.tokenizer = tokenizer
        self.modelSHA256 = modelSHA256
        self.guessHead = guessHead
    }

    /// Guess accuracy of prompt tokens on some cuts: `perRank[d][k]` is the fraction of cuts at
    /// which prompt token d + 1's rank-k guess is the model's greedy token at distance d + 1.
    public struct Measurement: Sendable, Equatable {
        public var perRank: [[Double]]
        public var loss: Double
        public var cuts: Int
        public init(perRank: [[Double]], loss: Double, cuts: Int) {
            self.perRank = perRank
            self.loss = loss
            self.cuts = cuts
        }
        /// Top-k accuracies: `cumulative[d][k - 1]`.
        public var cumulative: [[Double]] {
            perRank.map { row in
                var sum = 0.0
                return row.map { sum += $0; return sum }
            }
        }
    }

    /// A point of the accuracy curve: after `step` steps and `trainingSeconds` of training
    /// (measurements excluded), the smoothed training loss and the measurement.
    public struct CurvePoint: Sendable, Equatable {
        public var step: Int
        public var trainingSeconds: Double
        public var smoothedLoss: Double?
        public var measurement: Measurement
    }

    /// An accuracy curve of the prompt tokens (`TrainingCurve`).
    public typealias Curve = TrainingCurve<PromptTokens>

    /// Where checkpoints go (tokens and optimizer state), how often, and whether to resume from
    /// the file when it exists.
    public struct Checkpointing: Sendable {
        public var url: URL
        public var every: Int
        public var resume: Bool
        public init(url: URL, every: Int = 25, resume: Bool = false) {
            self.url = url
            self.every = every
            self.resume = resume
        }
    }

    /// What a run reports while it works.
    public enum Event {
        case step(PromptTokenTrainer.Progress)
        case measuredBefore(Measurement)
        case measuredAfter(Measurement)
        case curve(CurvePoint)
        case resumed(step: Int, from: URL)
    }

    /// What a run gives.
    public struct Outcome {
        /// The trained tokens, with `baseModelSHA256` and `trainingSummary` set.
        public var tokens: PromptTokens
        /// Held-out accuracy before (nil when resumed or without held-out examples) and after.
        public var before: Measurement?
        public var after: Measurement?
        public var curve: [CurvePoint]
        /// Steps taken in this run, of the schedule's total, and the time they took (prefix passes
        /// and optimizer steps; measurements excluded).
        public var steps: Int
        public var totalSteps: Int
        public var trainingSeconds: Double
        /// True when the curve's stopping rule ended the run before the schedule did.
        public var stoppedEarly: Bool
    }

    /// The run's cuts of an example: those that leave the recipe's prompt tokens room (examples
    /// prepared for more prompt tokens fit fewer ones unchanged).
    func usableCuts(_ example: TrainingExamples.Example) -> [Int] {
        example.cuts.filter { $0 >= 1 && $0 + recipe.promptTokens <= example.tokens.count - 1 }
    }

    /// The frozen model's pass over an example, with the cuts this run can use.
    public func sequence(_ example: TrainingExamples.Example) throws -> TrainingSequence {
        try TrainingSequence(
            model: teacher, tokens: example.tokens, cuts: usableCuts(example), promptTokens: recipe.promptTokens,
            virtualTokens: recipe.virtualTokens)
    }

    /// The objective of this run's recipe (loss kind, decay, guess head).
    public var objective: PromptTokenObjective {
        PromptTokenObjective(model: student, loss: recipe.distillationLoss, head: guessHead)
    }

    /// Measures `tokens` on `examples` (the frozen model's passes over them are made once per call).
    public func measure(_ tokens: PromptTokens, on sequences: [TrainingSequence]) throws -> Measurement {
        let (accuracy, loss) = try objective.accuracy(on: sequences, promptTokens: tokens)
        return Measurement(perRank: accuracy, loss: loss, cuts: sequences.reduce(0) { $0 + $1.cuts.count })
    }

    /// Runs the recipe on `data`: from the recipe's initialisation, or from the checkpoint when
    /// `checkpointing.resume` and the file exists.
    public func run(
        on data: TrainingData, checkpointing: Checkpointing? = nil, curve: Curve? = nil, events: (Event) -> Void = { _ in }
    ) throws -> Outcome {
        let training = data.training.filter { !usableCuts($0).isEmpty }
        guard !training.isEmpty else { throw TrainingError("no training example has a cut that leaves \(recipe.promptTokens + 1) tokens") }
        // The frozen model's passes over the held-out examples are made at each measurement and
        // let go after it: they hold a full-vocabulary teacher row per cut and prompt token.
        let heldOut = data.heldOut.filter { !usableCuts($0).isEmpty }

        var tokens = try recipe.initialTokens(model: student, tokenize: { self.tokenizer.encode($0, addSpecial: false) })
        var state: AdamW?
        if let checkpointing, checkpointing.resume, FileManager.default.fileExists(atPath: checkpointing.url.path) {
            tokens = try PromptTokens.load(from: checkpointing.url)
            state = try PromptTokenTrainer.optimizerState(from: checkpointing.url)
            events(.resumed(step: state?.step ?? 0, from: checkpointing.url))
        }
        tokens.baseModelSHA256 = modelSHA256
        let totalSteps = recipe.totalSteps(trainingExamples: training.count)
        let trainer = PromptTokenTrainer(
            objective: objective, tokens: tokens, learningRate: recipe.learningRate, totalSteps: totalSteps, weightDecay: recipe.weightDecay,
            state: state)

        var before: Measurement?
        if !heldOut.isEmpty && state == nil {
            before = try measure(trainer.tokens, on: heldOut.map(sequence))
            events(.measuredBefore(before!))
        }
        let summary = "ppd training run: " + recipe.summary + "; data: " + data.description
        var points: [CurvePoint] = []
        var trainingSeconds = 0.0
        var smoothedLoss: Double?
        let firstStep = trainer.step
        /// Measures a curve point; true when the curve says stop.
        func curvePoint() throws -> Bool {
            guard let curve else { return false }
            let point = CurvePoint(
                step: trainer.step, trainingSeconds: trainingSeconds, smoothedLoss: smoothedLoss, measurement: try curve.measure(trainer.tokens))
            points.append(point)
            events(.curve(point))
            return curve.stopWhen(point)
        }
        var stoppedEarly = try curvePoint()
        loop: for epoch in 0..<recipe.epochs where !stoppedEarly {
            for (index, example) in training.enumerated() where epoch * training.count + index >= firstStep {
                let started = ContinuousClock.now
                let progress = try trainer.train(on: try sequence(example))
                trainingSeconds += started.secondsSince()
                smoothedLoss = progress.smoothedLoss
                events(.step(progress))
                if let checkpointing, progress.step % max(checkpointing.every, 1) == 0 {
                    try trainer.saveCheckpoint(to: checkpointing.url, summary: summary)
                }
                if let curve, progress.step % max(curve.every, 1) == 0 || progress.step == totalSteps, try curvePoint() {
                    stoppedEarly = progress.step < totalSteps
                    break loop
                }
            }
        }
        var trained = trainer.tokens
        trained.trainingSummary = summary + String(format: "; %d steps, %.0f s of training", trainer.step, trainingSeconds)
        if let checkpointing { try trainer.saveCheckpoint(to: checkpointing.url, summary: summary) }
        var after: Measurement?
        if !heldOut.isEmpty {
            after = try measure(trained, on: heldOut.map(sequence))
            events(.measuredAfter(after!))
        }
        return Outcome(
            tokens: trained, before: before, after: after, curve: points, steps: trainer.step - firstStep, totalSteps: totalSteps,
            trainingSeconds: trainingSeconds, stoppedEarly: stoppedEarly)
    }
}

/// An accuracy curve of a training run: `measure` the trained parameters every `every` steps (and
/// at step 0); the run stops early once `stopWhen` holds for a point.
public struct TrainingCurve<Parameters> {
    public var every: Int
    public var measure: (Parameters) throws -> PromptTokenTrainingRun.Measurement
    public var stopWhen: (PromptTokenTrainingRun.CurvePoint) -> Bool
    public init(
        every: Int, measure: @escaping (Parameters) throws -> PromptTokenTrainingRun.Measurement,
        stopWhen: @escaping (PromptTokenTrainingRun.CurvePoint) -> Bool = { _ in false }
    ) {
        self.every = every
        self.measure = measure
        self.stopWhen = stopWhen
    }
}
