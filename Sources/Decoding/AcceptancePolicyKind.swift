/// The acceptance policies by name, as the command line and the server choose them.
public enum AcceptancePolicyKind: String, CaseIterable, Sendable {
    case greedy, typical, rejection

    /// The policy used when none is named: greedy at temperature 0, else rejection sampling
    /// (which keeps the sampled distribution exact).
    public static func defaultKind(for sampling: SamplingParameters) -> AcceptancePolicyKind {
        sampling.isGreedy ? .greedy : .rejection
    }

    /// The policy for `sampling`; `posteriorThreshold` and `posteriorAlpha` are typical
    /// acceptance's epsilon and delta.
    public func make(sampling: SamplingParameters, posteriorThreshold: Double = 0.09, posteriorAlpha: Double = 0.3)
        -> any AcceptancePolicy
    {
        switch self {
        case .greedy:
            return GreedyAcceptance()
        case .typical:
            return TypicalAcceptance(
                temperature: sampling.temperature, posteriorThreshold: posteriorThreshold, posteriorAlpha: posteriorAlpha,
                seed: sampling.seed)
        case .rejection:
            return RejectionSampling(sampling: sampling)
        }
    }
}
