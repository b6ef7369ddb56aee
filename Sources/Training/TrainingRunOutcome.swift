/// What any training run reports, whatever it trains (prompt tokens, Medusa-style heads): held-out
/// accuracy before and after, the accuracy curve, steps and training time.
public protocol TrainingRunOutcome {
    var before: PromptTokenTrainingRun.Measurement? { get }
    var after: PromptTokenTrainingRun.Measurement? { get }
    var curve: [PromptTokenTrainingRun.CurvePoint] { get }
    /// Steps taken in this run, of the schedule's total.
    var steps: Int { get }
    var totalSteps: Int { get }
    /// Seconds of the steps (measurements excluded).
    var trainingSeconds: Double { get }
    /// True when a curve's stopping rule ended the run before the schedule did.
    var stoppedEarly: Bool { get }
}

extension PromptTokenTrainingRun.Outcome: TrainingRunOutcome {}
extension MedusaTrainingRun.Outcome: TrainingRunOutcome {}
