import Foundation
import Kernels
import Models

/// Measures a model's speed on this machine: prefill throughput (over `contextLength` tokens),
/// decode throughput (`decodeSteps` greedy steps from an empty context, like llama-bench's
/// `tg` test), and the latency of
/// one forward pass over n new tokens after a fixed context (the cost curve that hardware-aware
/// tree sizing uses). All figures are medians over `runs` repetitions.
public struct ForwardBenchmark {
    public let model: LanguageModel
    /// Tokens of context before each measured forward (and the prefill length).
    public var contextLength = 256
    /// Decode steps per decode measurement.
    public var decodeSteps = 64
    /// Repetitions; medians are reported.
    public var runs = 5
    /// Called with a progress line after each measurement.
    public var progress: (String) -> Void = { _ in }

    public init(model: LanguageModel) { self.model = model }

    /// One point of the cost curve.
    public struct CostPoint: Sendable, Codable {
        /// Input tokens in the forward pass.
        public var tokens: Int
        /// Median latency in seconds.
        public var seconds: Double
        /// Latency relative to one token.
        public var relativeCost: Double
        public var tokensPerSecond: Double { Double(tokens) / seconds }
    }

    /// Everything `run` measured.
    public struct Report: Sendable, Codable {
        public var contextLength: Int
        public var runs: Int
        public var prefillTokensPerSecond: Double
        public var decodeTokensPerSecond: Double
        public var costCurve: [CostPoint]
        /// The same forwards keeping only each row's best token (what a greedy step's node rows
        /// cost), when asked for.
        public var bestTokenCurve: [CostPoint]?
    }

    /// Deterministic filler tokens (ids spread over the vocabulary, avoiding the low control ids).
    func fillerTokens(_ count: Int) -> [Int32] {
        let vocab = model.config.vocabSize
        return (0..<count).map { Int32(1000 + ($0 * 7919) % max(vocab - 1000, 1)) % Int32(vocab) }
    }

    /// Prefill and decode speed and the cost curve at `sizes`, with `bestTokens` also the curve of
    /// rows that keep only their best token (measured interleaved with the full one).
    public func run(sizes: [Int] = [1, 2, 4, 8, 16, 32, 64], bestTokens: Bool = false) throws -> Report {
        let context = fillerTokens(contextLength)
        let cache = model.makeCache(capacity: contextLength + max(decodeSteps, sizes.max() ?? 1) + 1)
        let started = ContinuousClock.now
        func note(_ s: String) { progress(String(format: "[%6.1fs] ", started.secondsSince()) + s) }

        var prefill: [Double] = []
        var decode: [Double] = []
        for run in 0..<runs {
            cache.reset()
            let t = ContinuousClock.now
            _ = try model.forward(tokens: context, cache: cache, logitRows: [contextLength - 1])
            prefill.append(Double(contextLength) / t.secondsSince())
            // Decode from an empty context, as llama-bench's tg test does.
            cache.reset()
            var token = context[0]
            let d = ContinuousClock.now
            for _ in 0..<decodeSteps {
                let logits = try model.forward(tokens: [token], cache: cache)
                token = Int32(logits.last.argmax())
            }
            decode.append(Double(decodeSteps) / d.secondsSince())
            note(String(format: "run %d/%d: prefill %.1f tok/s, decode %.1f tok/s", run + 1, runs, prefill.last!, decode.last!))
        }

        let curves = try costCurves(sizes: sizes, outputs: bestTokens ? [.all, .bestTokens] : [.all], started: started)
        return Report(
            contextLength: contextLength, runs: runs, prefillTokensPerSecond: median(prefill),
            decodeTokensPerSecond: median(decode), costCurve: curves[0], bestTokenCurve: bestTokens ? curves[1] : nil)
    }
}

extension ForwardBenchmark {
    /// Which rows of a measured forward get logits, and from which output layer.
    public enum OutputRows: Sendable {
        /// Every row, full vocabulary (a verification step of token rows).
        case all
        /// No row: the layers alone.
        case none
        /// Every row from this guess head (a step's prompt-token rows).
        case guesses(GuessHead)
        /// Every row's best token only, no logits kept (a greedy step's token rows).
        case bestTokens

        var label: String {
            switch self {
            case .all: return ""
            case .none: return " (layers only)"
            case .guesses(let head): return " (guess head of \(head.tokens.count))"
            case .bestTokens: return " (best tokens only)"
            }
        }
    }

    /// Median latency of one forward over n new tokens after `contextLength` tokens of context,
    /// for each n in `sizes`, with the logits `output` asks for; `relativeCost` is against the
    /// first size. Progress lines carry the elapsed time and an ETA.
    public func costCurve(
        sizes: [Int], output: OutputRows = .all, started: ContinuousClock.Instant = .now
    ) throws -> [CostPoint] {
        try costCurves(sizes: sizes, outputs: [output], started: started)[0]
    }

    /// `costCurve` for several output modes at once: for each size and repetition the modes run
    /// back to back, so that a slow spell of a shared machine lands on all of them alike (their
    /// differences, such as the cost of an output layer, stay meaningful).
    public func costCurves(
        sizes: [Int], outputs: [OutputRows], started: ContinuousClock.Instant = .now
    ) throws -> [[CostPoint]] {
        let context = fillerTokens(contextLength)
        let cache = model.makeCache(capacity: contextLength + (sizes.max() ?? 1) + 1)
        _ = try model.forward(tokens: context, cache: cache, logitRows: [contextLength - 1])
        let curveStarted = ContinuousClock.now
        let totalWork = Double(sizes.reduce(0, +))
        var doneWork = 0.0
        var curves = outputs.map { _ in [CostPoint]() }
        for n in sizes {
            var times = outputs.map { _ in [Double]() }
            let batch = fillerTokens(contextLength + n).suffix(n).map { $0 }
            for _ in 0..<runs {
                for (m, output) in outputs.enumerated() {
                    let t = ContinuousClock.now
                    switch output {
                    case .all: _ = try model.forward(tokens: batch, cache: cache)
                    case .none: _ = try model.forward(tokens: batch, cache: cache, logitRows: [])
                    case .guesses(let head):
                        _ = try model.forward(tokens: batch, cache: cache, guesses: GuessRows(head: head, rows: Array(0..<n)))
                    case .bestTokens: _ = try model.forward(tokens: batch, cache: cache, bestTokenRows: Array(0..<n))
                    }
                    times[m].append(t.secondsSince())
                    try cache.truncate(to: contextLength)
                }
            }
            doneWork += Double(n)
            let elapsed = curveStarted.secondsSince()
            let eta = elapsed / doneWork * (totalWork - doneWork)
            for (m, output) in outputs.enumerated() {
                let seconds = median(times[m])
                let base = curves[m].first?.seconds ?? seconds
                curves[m].append(CostPoint(tokens: n, seconds: seconds, relativeCost: seconds / base))
                progress(
                    String(format: "[%6.1fs] forward over %d tokens%@: %.2f ms (%.1f tok/s), ETA %.0f s",
                        started.secondsSince(), n, output.label, seconds * 1000, Double(n) / seconds, eta))
            }
        }
        return curves
    }
}

/// The median of `values` (the mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
