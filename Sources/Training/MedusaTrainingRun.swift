import Decoding
import Foundation
import Kernels
import Models

/// Trains Medusa-style heads (`MedusaHeads`) with the prompt tokens' recipe and data: the same
/// prepared examples and cuts, one AdamW step per training example on the mean gradient of its
/// cuts, the same loss and decay, cosine schedule, epochs; the recipe's `promptTokens` is the
/// number of heads (head k takes prompt token k's distance). The frozen model's pass over an
/// example (the teacher, as `ppd generate` runs it) gives the hidden states the heads read and
/// their targets; the heads' logits and gradients use the float32 output layer of `student`.
///
///     let run = try MedusaTrainingRun(recipe: recipe, student: float32Model, teacher: int8Model,
///                                     modelSHA256: sha, studentHead: head, teacherHead: int8Head)
///     let outcome = try run.run(on: data)
///     try outcome.heads.save(to: url)
public final class MedusaTrainingRun {
    public let recipe: TrainingRecipe
    /// The model whose float32 output layer the heads' logits and gradients use.
    public let student: Transformer
    /// The frozen model's passes: hidden states and teacher distributions.
    public let teacher: LanguageModel
    public let modelSHA256: String
    /// The guess head over which the heads' logits, loss and ranks run (on `student`), and the same
    /// tokens' head on `teacher`; both nil for the whole vocabulary.
    public let studentHead: GuessHead?
    public let teacherHead: GuessHead?

    public init(
        recipe: TrainingRecipe, student: Transformer, teacher: LanguageModel, modelSHA256: String, studentHead: GuessHead?,
        teacherHead: GuessHead?
    ) throws {
        try recipe.validate()
        guard (studentHead == nil) == (teacherHead == nil), studentHead?.tokens ?? [] == teacherHead?.tokens ?? [] else {
            throw TrainingError("Medusa training: the student's and the teacher's guess heads must hold the same tokens (or both be absent)")
        }
        self.recipe = recipe
        self.student = student
        self.teacher = teacher
        self.modelSHA256 = modelSHA256
        self.studentHead = studentHead
        self.teacherHead = teacherHead
    }

    public typealias Measurement = PromptTokenTrainingRun.Measurement
    public typealias CurvePoint = PromptTokenTrainingRun.CurvePoint
    public typealias Checkpointing = PromptTokenTrainingRun.Checkpointing
    public typealias Event = PromptTokenTrainingRun.Event

    /// An accuracy curve of the heads (`TrainingCurve`).
    public typealias Curve = TrainingCurve<MedusaHeads>

    /// What a run gives.
    public struct Outcome {
        /// The trained heads, with `baseModelSHA256` and `trainingSummary` set.
        public var heads: MedusaHeads
        public var before: Measurement?
        public var after: Measurement?
        public var curve: [CurvePoint]
        public var steps: Int
        public var totalSteps: Int
        /// Seconds of the steps (teacher passes, heads' forward and backward, optimizer).
        public var trainingSeconds: Double
        public var stoppedEarly: Bool
    }

    /// The objective of this run's recipe.
    public var objective: MedusaObjective { MedusaObjective(model: student, loss: recipe.distillationLoss, head: studentHead) }

    /// The cuts of an example that leave the heads room.
    func usableCuts(_ example: TrainingExamples.Example) -> [Int] {
        example.cuts.filter { $0 >= 1 && $0 + recipe.promptTokens <= example.tokens.count - 1 }
    }

    /// The frozen model's pass over an example.
    public func sequence(_ example: TrainingExamples.Example) throws -> MedusaSequence {
        try MedusaSequence(model: teacher, tokens: example.tokens, cuts: usableCuts(example), heads: recipe.promptTokens, head: teacherHead)
    }

    /// Guess accuracy of `heads` on `examples` (top-10 per rank and distance) and mean loss.
    public func measure(_ heads: MedusaHeads, on examples: [TrainingExamples.Example], topK: Int = 10) throws -> Measurement {
        var counts = [[Int]](repeating: [Int](repeating: 0, count: topK), count: heads.count)
        var total = 0
        var loss = 0.0
        for example in examples where !usableCuts(example).isEmpty {
            let evaluation = try objective.evaluate(try sequence(example), heads: heads, backward: false)
            for (cutLoss, ranks) in zip(evaluation.losses, evaluation.ranks) {
                loss += cutLoss
                total += 1
                for (d, rank) in ranks.enumerated() where rank < topK { counts[d][rank] += 1 }
            }
        }
        return Measurement(
            perRank: counts.map { $0.map { Double($0) / Double(max(total, 1)) } }, loss: loss / Double(max(total, 1)), cuts: total)
    }

    /// Runs the recipe on `data`, from zero-initialised heads or from the checkpoint when
    /// `checkpointing.resume` and the file exists.
    public func run(
        on data: TrainingData, checkpointing: Checkpointing? = nil, curve: Curve? = nil, events: (Event) -> Void = { _ in }
    ) throws -> Outcome {
        let training = data.training.filter { !usableCuts($0).isEmpty }
        guard !training.isEmpty else { throw TrainingError("no training example has a cut that leaves \(recipe.promptTokens + 1) tokens") }
        let heldOut = data.heldOut.filter { !usableCuts($0).isEmpty }
        var heads = try MedusaHeads(count: recipe.promptTokens, hiddenSize: student.config.hiddenSize)
        var optimizer = AdamW(count: heads.parameterCount, weightDecay: recipe.weightDecay)
        if let checkpointing, checkpointing.resume, FileManager.default.fileExists(atPath: checkpointing.url.path) {
            (heads, optimizer) = try Self.loadCheckpoint(checkpointing.url, weightDecay: recipe.weightDecay)
            guard heads.count == recipe.promptTokens, heads.hiddenSize == student.config.hiddenSize else {
                throw TrainingError("\(checkpointing.url.path): the checkpoint holds \(heads.count) heads of width \(heads.hiddenSize), not \(recipe.promptTokens) of \(student.config.hiddenSize)")
            }
            events(.resumed(step: optimizer.step, from: checkpointing.url))
        }
        heads.baseModelSHA256 = modelSHA256
        let totalSteps = recipe.totalSteps(trainingExamples: training.count)
        let schedule = CosineSchedule(peak: recipe.learningRate, totalSteps: totalSteps)
        let objective = self.objective
        let summary = "Medusa-style heads: " + recipe.summary + "; data: " + data.description

        var before: Measurement?
        if !heldOut.isEmpty && optimizer.step == 0 {
            before = try measure(heads, on: heldOut)
            events(.measuredBefore(before!))
        }
        var points: [CurvePoint] = []
        var trainingSeconds = 0.0
        var smoothed: Double?
        let firstStep = optimizer.step
        var cutsDone = 0, tokensDone = 0
        func curvePoint() throws -> Bool {
            guard let curve else { return false }
            let point = CurvePoint(step: optimizer.step, trainingSeconds: trainingSeconds, smoothedLoss: smoothed, measurement: try curve.measure(heads))
            points.append(point)
            events(.curve(point))
            return curve.stopWhen(point)
        }
        func saveCheckpoint() throws {
            guard let checkpointing else { return }
            var saved = heads
            saved.trainingSummary = summary
            try saved.save(
                to: checkpointing.url,
                extraTensors: [
                    "adamw_first_moment": .init(shape: [optimizer.firstMoment.count], values: optimizer.firstMoment.map(Float.init)),
                    "adamw_second_moment": .init(shape: [optimizer.secondMoment.count], values: optimizer.secondMoment.map(Float.init)),
                ],
                extraMetadata: ["adamw_step": String(optimizer.step)])
        }
        var stoppedEarly = try curvePoint()
        loop: for epoch in 0..<recipe.epochs where !stoppedEarly {
            for (index, example) in training.enumerated() where epoch * training.count + index >= firstStep {
                let started = ContinuousClock.now
                let sequence = try self.sequence(example)
                let evaluation = try objective.evaluate(sequence, heads: heads)
                let scale = 1 / Float(max(sequence.cuts.count, 1))
                let gradient = evaluation.gradient.map { $0 * scale }
                let loss = evaluation.losses.reduce(0, +) / Double(max(sequence.cuts.count, 1))
                let rate = schedule.rate(at: optimizer.step)
                var parameters = heads.weights + heads.biases
                parameters.withUnsafeMutableBufferPointer { optimizer.update(&$0, gradient: gradient, rate: rate) }
                heads.weights = Array(parameters[..<heads.weights.count])
                heads.biases = Array(parameters[heads.weights.count...])
                trainingSeconds += started.secondsSince()
                smoothed = smoothed.map { 0.95 * $0 + 0.05 * loss } ?? loss
                cutsDone += sequence.cuts.count
                tokensDone += sequence.tokens.count
                let stepsDone = optimizer.step - firstStep
                events(.step(.init(
                    step: optimizer.step, totalSteps: totalSteps, loss: loss, smoothedLoss: smoothed ?? loss,
                    cutsPerSecond: Double(cutsDone) / trainingSeconds, tokensPerSecond: Double(tokensDone) / trainingSeconds,
                    secondsLeft: trainingSeconds / Double(stepsDone) * Double(max(totalSteps - optimizer.step, 0)))))
                if let checkpointing, optimizer.step % max(checkpointing.every, 1) == 0 { try saveCheckpoint() }
                if let curve, optimizer.step % max(curve.every, 1) == 0 || optimizer.step == totalSteps, try curvePoint() {
                    stoppedEarly = optimizer.step < totalSteps
                    break loop
                }
            }
        }
        try saveCheckpoint()
        heads.trainingSummary = summary + String(format: "; %d steps, %.0f s of training", optimizer.step, trainingSeconds)
        var after: Measurement?
        if !heldOut.isEmpty {
            after = try measure(heads, on: heldOut)
            events(.measuredAfter(after!))
        }
        return Outcome(
            heads: heads, before: before, after: after, curve: points, steps: optimizer.step - firstStep, totalSteps: totalSteps,
            trainingSeconds: trainingSeconds, stoppedEarly: stoppedEarly)
    }

    /// The heads and optimizer state of a checkpoint written by `run`.
    static func loadCheckpoint(_ url: URL, weightDecay: Double) throws -> (MedusaHeads, AdamW) {
        let heads = try MedusaHeads.load(from: url)
        let file = try Safetensors(contentsOf: url)
        var state = AdamW(count: heads.parameterCount, weightDecay: weightDecay)
        if let first = file.tensors["adamw_first_moment"], let second = file.tensors["adamw_second_moment"],
            let stepText = file.metadata["adamw_step"], let step = Int(stepText)
        {
            guard first.values.count == heads.parameterCount, second.values.count == heads.parameterCount else {
                throw TrainingError("\(url.path): the optimizer moments do not match the heads' \(heads.parameterCount) parameters")
            }
            state.firstMoment = first.values.map(Double.init)
            state.secondMoment = second.values.map(Double.init)
            state.step = step
        }
        return (heads, state)
    }
}
