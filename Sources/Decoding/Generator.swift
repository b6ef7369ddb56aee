import Foundation
import Kernels
import Models

/// Why generation stopped.
public enum StopReason: String, Sendable, Codable {
    /// A stop token (end of sequence / end of turn) was produced.
    case stopToken = "stop_token"
    /// `maxTokens` were generated.
    case maxTokens = "max_tokens"
    /// The streaming callback asked to stop.
    case cancelled
    /// The context is full.
    case contextFull = "context_full"
}

/// Settings of one generation.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation stops after producing any of these (the stop token is included in the output).
    public var stopTokens: Set<Int32>

    public init(maxTokens: Int = 128, sampling: SamplingParameters = .greedy, stopTokens: Set<Int32> = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
    }
}

/// What a generation produced, with its timings.
public struct GenerationResult: Sendable {
    public var promptTokens: [Int32]
    /// Generated token ids (including a final stop token, if one was produced).
    public var tokens: [Int32]
    /// The 5 largest logits at the last prompt position: (token, logit).
    public var topLogits: [(token: Int32, logit: Float)]
    public var stopReason: StopReason
    /// Wall time of the prompt forward pass and the choice of the first token.
    public var prefillSeconds: Double
    /// Wall time of each step after the prompt: its forward pass and the choice of the token it
    /// produced (the same rule as `PromptDecodingStep.seconds`).
    public var stepSeconds: [Double]
    /// Wall time of each step's forward pass alone.
    public var forwardSeconds: [Double]

    /// Wall time of all steps after the prompt.
    public var decodeSeconds: Double { stepSeconds.reduce(0, +) }
    /// Number of forward passes after the prompt (one token each).
    public var decodeSteps: Int { stepSeconds.count }
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens.count) / prefillSeconds : 0 }
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeSteps) / decodeSeconds : 0 }
}

/// Plain autoregressive decoding: one forward pass per generated token.
public final class AutoregressiveGenerator {
    public let model: LanguageModel

    public init(model: LanguageModel) { self.model = model }

    /// Generates from `prompt` (token ids, BOS included if wanted). `onToken` is called with each
    /// new token as soon as it is chosen; returning false stops generation. `interventions` act in
    /// every forward pass: the prefill's rows are `.input`, each decode step's row `.root`.
    public func generate(
        prompt: [Int32], options: GenerationOptions, interventions: [any ActivationIntervention] = [],
        onToken: (Int32) -> Bool = { _ in true }
    ) throws -> GenerationResult {
        let context = model.config.contextLength
        guard !prompt.isEmpty else { throw ModelError("the prompt is empty: nothing to condition on") }
        guard prompt.count < context else {
            throw ModelError("the prompt has \(prompt.count) tokens, which does not fit the model's context of \(context) tokens")
        }
        let cache = model.makeCache(capacity: min(context, prompt.count + max(options.maxTokens, 1)))
        var sampler = Sampler(options.sampling)

        // One timing rule with prompt decoding: a step is its forward pass and the choice of the
        // token it produces (sampling inside the clock); the prefill likewise picks the first token.
        var clock = ContinuousClock.now
        func hooks(step: Int, role: RowRole, rows: Int) -> Interventions? {
            interventions.isEmpty ? nil : Interventions(interventions, step: step, roles: Array(repeating: role, count: rows))
        }
        let prefill = try model.forward(
            tokens: prompt, cache: cache, logitRows: [prompt.count - 1], interventions: hooks(step: 0, role: .input, rows: prompt.count))
        var next = sampler.sample(prefill.last)
        let prefillSeconds = clock.secondsSince()
        let top = prefill.last.topK(5).map { (token: Int32($0.index), logit: $0.value) }

        var tokens: [Int32] = []
        var reason = StopReason.maxTokens
        var stepSeconds: [Double] = []
        var forwardSeconds: [Double] = []
        while options.maxTokens > 0 {
            tokens.append(next)
            if !onToken(next) {
                reason = .cancelled
                break
            }
            if options.stopTokens.contains(next) {
                reason = .stopToken
                break
            }
            if tokens.count >= options.maxTokens { break }
            if cache.count >= cache.capacity {
                reason = .contextFull
                break
            }
            clock = ContinuousClock.now
            let logits = try model.forward(
                tokens: [next], cache: cache, interventions: hooks(step: stepSeconds.count + 1, role: .root, rows: 1))
            forwardSeconds.append(clock.secondsSince())
            next = sampler.sample(logits.last)
            stepSeconds.append(clock.secondsSince())
        }
        return GenerationResult(
            promptTokens: prompt, tokens: tokens, topLogits: top, stopReason: reason,
            prefillSeconds: prefillSeconds, stepSeconds: stepSeconds, forwardSeconds: forwardSeconds)
    }
}
