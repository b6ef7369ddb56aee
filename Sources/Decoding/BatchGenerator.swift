import Foundation
import Kernels
import Models

/// Autoregressive generation of many independent prompts, up to `batchSize` of them sharing each
/// forward pass (`Transformer.forward(sequences:)`: the weights are read once per step for all of
/// them). A sequence that finishes makes room for the next prompt, whose prompt pass joins the
/// next step. Every sequence gets exactly the tokens `AutoregressiveGenerator` gives its prompt
/// alone with the same options (greedy, or sampled with its own sampler seeded as there), because
/// each row's logits are bitwise what it gets alone.
public final class BatchGenerator {
    public let model: LanguageModel

    public init(model: LanguageModel) { self.model = model }

    /// The largest batch accepted: each sequence holds its own cache (prompt + maxTokens slots).
    public static let maxBatchSize = 256

    /// Generates a continuation of every prompt. `onFinished(index, result)` is called as each
    /// sequence finishes (in finishing order); the results are returned in prompt order. In a
    /// result, `prefillSeconds` is the wall time of the pass that ran its prompt and
    /// `stepSeconds` those of the shared steps that produced its later tokens.
    ///
    /// Throws before any pass for a batch size outside 1...`maxBatchSize`, an empty prompt or one
    /// that does not fit the context (the error names the prompt's index).
    public func generate(
        prompts: [[Int32]], options: GenerationOptions, batchSize: Int,
        onFinished: (Int, GenerationResult) -> Void = { _, _ in }
    ) throws -> [GenerationResult] {
        try generate(prompts: prompts, options: prompts.map { _ in options }, batchSize: batchSize, onFinished: onFinished)
    }

    /// `generate(prompts:options:batchSize:onFinished:)` with options per prompt (`options[k]`
    /// for prompt k: its own token budget, sampling and stop tokens).
    public func generate(
        prompts: [[Int32]], options: [GenerationOptions], batchSize: Int,
        onFinished: (Int, GenerationResult) -> Void = { _, _ in }
    ) throws -> [GenerationResult] {
        guard options.count == prompts.count else {
            throw ModelError("\(options.count) generation options for \(prompts.count) prompts")
        }
        guard (1...Self.maxBatchSize).contains(batchSize) else {
            throw ModelError("batch size \(batchSize) is outside 1...\(Self.maxBatchSize)")
        }
        let context = model.config.contextLength
        for (index, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw ModelError("prompt \(index) is empty: nothing to condition on") }
            guard prompt.count < context else {
                throw ModelError("prompt \(index) has \(prompt.count) tokens, which does not fit the model's context of \(context) tokens")
            }
        }
        var results = [GenerationResult?](repeating: nil, count: prompts.count)
        var active: [ActiveSequence] = []
        var nextPrompt = 0
        while nextPrompt < prompts.count || !active.isEmpty {
            while active.count < batchSize && nextPrompt < prompts.count {
                active.append(ActiveSequence(index: nextPrompt, prompt: prompts[nextPrompt], options: options[nextPrompt], model: model))
                nextPrompt += 1
            }
            let clock = ContinuousClock.now
            let logits = try model.forward(sequences: active.map { SequenceInput(tokens: $0.pending, cache: $0.cache) })
            let forwardSeconds = clock.secondsSince()
            // The choice of each sequence's token is inside the step's clock, as for one sequence;
            // the sequences choose on the pool's threads (each has its own sampler).
            let choosing = active
            model.pool.parallelFor(count: choosing.count) { range in
                for k in range { choosing[k].choose(from: logits.row(k)) }
            }
            let seconds = clock.secondsSince()
            var running: [ActiveSequence] = []
            for sequence in active {
                if let result = sequence.finish(stepSeconds: seconds, forwardSeconds: forwardSeconds) {
                    results[sequence.index] = result
                    onFinished(sequence.index, result)
                } else {
                    running.append(sequence)
                }
            }
            active = running
        }
        return results.map { $0! }
    }
}

/// One sequence of a batch: its cache, sampler, tokens so far and what the next pass feeds it.
private final class ActiveSequence {
    let index: Int
    let prompt: [Int32]
    let options: GenerationOptions
    let cache: KVCache
    var sampler: Sampler
    /// The tokens the next pass runs: the prompt first, then the last token chosen.
    var pending: [Int32]
    var tokens: [Int32] = []
    var topLogits: [(token: Int32, logit: Float)] = []
    var prefillSeconds = 0.0
    var stepSeconds: [Double] = []
    var forwardSeconds: [Double] = []
    var reason = StopReason.maxTokens

    init(index: Int, prompt: [Int32], options: GenerationOptions, model: LanguageModel) {
        self.index = index
        self.prompt = prompt
        self.options = options
        cache = model.makeCache(capacity: min(model.config.contextLength, prompt.count + max(options.maxTokens, 1)))
        sampler = Sampler(options.sampling)
        pending = prompt
    }

    /// Whether the prompt pass is still to be recorded (the last pass ran the prompt).
    var isPrefill = true

    /// Picks the next token from this sequence's logits row.
    func choose(from row: ArraySlice<Float>) {
        if isPrefill { topLogits = row.topK(5).map { (token: Int32($0.index), logit: $0.value) } }
        pending = [sampler.sample(row)]
    }

    /// Records the step; the result when the sequence is done (the rules of
    /// `AutoregressiveGenerator.generate`), else nil.
    func finish(stepSeconds seconds: Double, forwardSeconds forward: Double) -> GenerationResult? {
        if isPrefill {
            prefillSeconds = seconds
            isPrefill = false
        } else {
            stepSeconds.append(seconds)
            forwardSeconds.append(forward)
        }
        guard options.maxTokens > 0 else { return result() }
        let next = pending[0]
        tokens.append(next)
        if options.stopTokens.contains(next) {
            reason = .stopToken
            return result()
        }
        if tokens.count >= options.maxTokens { return result() }
        if cache.count >= cache.capacity {
            reason = .contextFull
            return result()
        }
        return nil
    }

    private func result() -> GenerationResult {
        GenerationResult(
            promptTokens: prompt, tokens: tokens, topLogits: topLogits, stopReason: reason, prefillSeconds: prefillSeconds,
            stepSeconds: stepSeconds, forwardSeconds: forwardSeconds)
    }
}
