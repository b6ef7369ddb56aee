import Decoding
import Foundation
import Kernels
import Tokenizer

/// One request's generation on the engine's thread: plain or prompt decoding, text streamed
/// step by step through the detokenizer and the stop-sequence filter, stopped early when the
/// client goes away or time runs out.
struct GenerationRun {
    let job: GenerationJob
    let model: ServedModel
    private var detokenizer: StreamingDetokenizer
    private var filter: StopSequenceFilter
    private var text = ""
    private var steps: [StepReport] = []
    private var stepStart = ContinuousClock.now
    /// Whether the run stopped at the request timeout.
    private(set) var timedOut = false

    init(job: GenerationJob, model: ServedModel) {
        self.job = job
        self.model = model
        detokenizer = StreamingDetokenizer(tokenizer: model.tokenizer)
        filter = StopSequenceFilter(stops: job.request.stops)
    }

    private var request: PreparedRequest { job.request }

    mutating func generate() throws -> GenerationSummary {
        let options = GenerationOptions(maxTokens: request.maxTokens, sampling: request.request.sampling, stopTokens: model.stopTokens)
        let tokens: [Int32]
        let stopReason: StopReason
        let policy: String
        let prefillRate: Double
        stepStart = .now
        switch request.decoding {
        case .plain:
            let result = try AutoregressiveGenerator(model: model.transformer).generate(prompt: request.promptTokens, options: options) {
                token in
                emit([token], rows: 1, draftRows: 0, acceptedDrafted: 0)
            }
            (tokens, stopReason, prefillRate) = (result.tokens, result.stopReason, result.prefillTokensPerSecond)
            policy = options.sampling.isGreedy ? "greedy" : "sampling"
        case .ppd:
            guard let decoder = model.decoder else { throw APIError.invalidRequest("decoding \"ppd\" is not available", param: "decoding") }
            let acceptance = request.request.policyKind.make(
                sampling: options.sampling, posteriorThreshold: model.posteriorThreshold, posteriorAlpha: model.posteriorAlpha)
            let result = try decoder.generate(prompt: request.promptTokens, options: options, policy: acceptance) { step in
                emit(step.tokens, rows: step.inputRows, draftRows: step.draftRows, acceptedDrafted: step.acceptedDrafted)
            }
            (tokens, stopReason, prefillRate) = (result.tokens, result.stopReason, result.prefillTokensPerSecond)
            policy = result.policy
        }
        if !filter.stopped {
            let rest = filter.append(detokenizer.finish()) + filter.finish()
            text += rest
            if !rest.isEmpty { job.continuation.yield(.text(rest, nil)) }
        }
        let decodeSeconds = steps.dropFirst().reduce(0) { $0 + $1.seconds }
        let decodeTokens = steps.dropFirst().reduce(0) { $0 + $1.tokens }
        let finish: FinishReason = filter.stopped || stopReason == .stopToken ? .stop : .length
        return GenerationSummary(
            text: text, tokens: tokens, promptTokens: request.promptTokens.count, finishReason: finish, decoding: request.decoding,
            policy: policy, steps: steps, prefillTokensPerSecond: prefillRate,
            decodeTokensPerSecond: decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0)
    }

    /// Streams one step's tokens; says whether generation goes on.
    private mutating func emit(_ tokens: [Int32], rows: Int, draftRows: Int, acceptedDrafted: Int) -> Bool {
        let now = ContinuousClock.now
        let report = StepReport(
            index: steps.count, tokens: tokens.count, rows: rows, draftRows: draftRows, acceptedDrafted: acceptedDrafted,
            seconds: Double((now - stepStart) / .nanoseconds(1)) / 1e9)
        stepStart = now
        steps.append(report)
        var piece = ""
        for token in tokens { piece += detokenizer.append(token) }
        let safe = filter.append(piece)
        text += safe
        job.continuation.yield(.text(safe, report))
        if filter.stopped || job.isCancelled { return false }
        if now >= job.deadline {
            timedOut = true
            return false
        }
        return true
    }
}
