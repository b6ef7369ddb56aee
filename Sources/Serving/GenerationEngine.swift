import Decoding
import Foundation
import Kernels
import Tokenizer

/// Counts of what the engine has done, for `/health` and tests.
public struct EngineStatistics: Sendable, Equatable, Encodable {
    /// Requests waiting for the model.
    public var queued = 0
    /// Whether a generation is running.
    public var running = false
    /// Requests taken into the queue (each ends completed, cancelled, timed out or failed).
    public var accepted = 0
    public var completed = 0
    /// Stopped because the client went away.
    public var cancelled = 0
    /// Stopped (or dropped from the queue) at the request timeout.
    public var timedOut = 0
    /// Refused because the queue was full.
    public var rejected = 0
    /// Failed with an error from the model.
    public var failed = 0

    enum CodingKeys: String, CodingKey {
        case queued, running, accepted, completed, cancelled, timedOut = "timed_out", rejected, failed
    }
}

/// Runs generations one at a time on a thread of its own (the model's forward pass is
/// synchronous and uses every core), in arrival order, with a bounded queue in front.
/// Each request's events arrive on an `AsyncThrowingStream`; dropping the stream (a client that
/// disconnects) cancels the request, waiting or running. The thread ends with `shutdown()` or
/// when the engine is released.
public final class GenerationEngine: @unchecked Sendable {
    public let model: ServedModel
    public let limits: ServingLimits
    /// The queue and the thread's loop; the thread holds it, so it outlives the engine until
    /// the loop has seen the shutdown.
    private let core: EngineCore

    public init(model: ServedModel, limits: ServingLimits) {
        self.model = model
        self.limits = limits
        core = EngineCore(model: model, limits: limits)
        let core = core
        let thread = Thread { core.work() }
        thread.name = "ppd-generation"
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit { core.shutdown() }

    /// What the engine has done so far.
    public var statistics: EngineStatistics { core.statistics }

    /// Queues `request`; throws a 429 `APIError` when the queue is full and a 503 when the engine
    /// is stopping. The stream yields the request's text step by step, then its summary, or
    /// throws an `APIError` (timeout, model failure). Ending the stream early cancels the request.
    public func submit(_ request: PreparedRequest) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        try core.submit(request)
    }

    /// Stops taking requests, fails those still waiting with 503 and lets the running one end.
    public func shutdown() { core.shutdown() }
}

/// The engine's queue, counts and generation loop.
final class EngineCore: @unchecked Sendable {
    let model: ServedModel
    let limits: ServingLimits

    private let condition = NSCondition()
    private var queue: [GenerationJob] = []
    private var stats = EngineStatistics()
    private var stopping = false

    init(model: ServedModel, limits: ServingLimits) {
        self.model = model
        self.limits = limits
    }

    var statistics: EngineStatistics {
        condition.lock()
        defer { condition.unlock() }
        return stats
    }

    func submit(_ request: PreparedRequest) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        let deadline = ContinuousClock.now + .milliseconds(Int64(limits.requestTimeout * 1000))
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, Error>.makeStream(bufferingPolicy: .unbounded)
        let job = GenerationJob(request: request, deadline: deadline, continuation: continuation)
        continuation.onTermination = { termination in
            if case .cancelled = termination { job.cancel() }
        }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw APIError.unavailable("the server is shutting down", code: "shutting_down") }
        guard queue.count < limits.queueCapacity else {
            stats.rejected += 1
            throw APIError.queueFull(capacity: limits.queueCapacity)
        }
        queue.append(job)
        stats.accepted += 1
        stats.queued = queue.count
        condition.signal()
        return stream
    }

    func shutdown() {
        condition.lock()
        stopping = true
        let waiting = queue
        queue.removeAll()
        stats.queued = 0
        stats.failed += waiting.count
        condition.signal()
        condition.unlock()
        for job in waiting { job.continuation.finish(throwing: APIError.unavailable("the server is shutting down", code: "shutting_down")) }
    }

    /// The thread's loop: runs jobs until shutdown.
    func work() {
        while let job = nextJob() {
            let (outcome, last) = run(job)
            condition.lock()
            stats.running = false
            switch outcome {
            case .completed: stats.completed += 1
            case .cancelled: stats.cancelled += 1
            case .timedOut: stats.timedOut += 1
            case .failed: stats.failed += 1
            }
            condition.unlock()
            switch last {
            case .success(let summary):
                job.continuation.yield(.finished(summary))
                job.continuation.finish()
            case .failure(let error):
                job.continuation.finish(throwing: error)
            case nil:
                job.continuation.finish()
            }
        }
    }

    /// The next job (nil when stopping), marked running.
    private func nextJob() -> GenerationJob? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
        guard !stopping, !queue.isEmpty else { return nil }
        let job = queue.removeFirst()
        stats.queued = queue.count
        stats.running = true
        return job
    }

    /// How a job ended.
    enum Outcome { case completed, cancelled, timedOut, failed }

    /// Runs `job`; returns how it ended and its last event (the summary or the error), which
    /// `work` sends after counting the outcome, so a client that has seen the end of its stream
    /// also sees it counted.
    private func run(_ job: GenerationJob) -> (Outcome, Result<GenerationSummary, APIError>?) {
        if job.isCancelled { return (.cancelled, nil) }
        if ContinuousClock.now >= job.deadline {
            return (.timedOut, .failure(Self.timeout(limits.requestTimeout, waiting: true)))
        }
        var run = GenerationRun(job: job, model: model)
        do {
            let summary = try run.generate()
            if job.isCancelled { return (.cancelled, nil) }
            if run.timedOut { return (.timedOut, .failure(Self.timeout(limits.requestTimeout, waiting: false))) }
            return (.completed, .success(summary))
        } catch {
            return (.failed, .failure(APIError.internalError("generation failed: \(error)")))
        }
    }

    private static func timeout(_ seconds: Double, waiting: Bool) -> APIError {
        APIError.unavailable(
            String(format: "the request took longer than the server's limit of %g s%@", seconds, waiting ? " waiting for the model" : ""),
            code: "timeout")
    }
}

/// A queued request and the channel its events go out on.
final class GenerationJob: @unchecked Sendable {
    let request: PreparedRequest
    let deadline: ContinuousClock.Instant
    let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    private let lock = NSLock()
    private var cancelled = false

    init(request: PreparedRequest, deadline: ContinuousClock.Instant, continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
        self.request = request
        self.deadline = deadline
        self.continuation = continuation
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}
