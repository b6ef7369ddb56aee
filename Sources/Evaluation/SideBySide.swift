import Foundation
import Decoding

/// Runs several decoding methods on the same prompts, interleaved so that a slow spell of a
/// shared machine does not land on one method: for question q and round r the methods start at
/// index (q + r) mod count. A short warm-up generation runs first.
public struct SideBySide {
    /// The methods, in the order of the results.
    public var methods: [DecodingMethod]
    /// Runs of every method on every question (speeds are medians over rounds).
    public var rounds: Int
    /// Tokens of the warm-up generation (0: none).
    public var warmUpTokens: Int

    /// A comparison of `methods`.
    public init(_ methods: [DecodingMethod], rounds: Int = 1, warmUpTokens: Int = 8) {
        self.methods = methods
        self.rounds = rounds
        self.warmUpTokens = warmUpTokens
    }

    /// Every method on every prompt and round; `options(q)` gives question q's settings (for
    /// example a per-category temperature); `progress` gets one line per run with rate and ETA.
    /// Returns one summary per method, in method order.
    public func run(
        prompts: [[Int32]], options: (Int) -> GenerationOptions, progress: (String) -> Void = { _ in }
    ) throws -> [RunSummary] {
        guard !methods.isEmpty, !prompts.isEmpty else { return methods.map { _ in RunSummary(runs: []) } }
        guard rounds >= 1 else { throw EvaluationError("a side-by-side run needs at least one round (rounds \(rounds))") }
        if warmUpTokens > 0 {
            var warmUp = options(0)
            warmUp.maxTokens = warmUpTokens
            for method in methods { _ = try method.generate(prompts[0], warmUp) }
        }
        var runs = methods.map { _ in prompts.map { _ in [DecodingRun]() } }
        var meter = ProgressMeter(total: prompts.count * rounds * methods.count)
        for (q, prompt) in prompts.enumerated() {
            for round in 0..<rounds {
                for k in methods.indices {
                    let m = (k + q + round) % methods.count
                    let run = try methods[m].generate(prompt, options(q))
                    runs[m][q].append(run)
                    progress(meter.advance(String(
                        format: "question %d/%d, %@: %.1f tok/s, tau %.2f", q + 1, prompts.count, methods[m].name,
                        run.tokensPerSecond, run.tau)))
                }
            }
        }
        return runs.map { RunSummary(runs: $0) }
    }
}
