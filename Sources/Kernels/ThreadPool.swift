import Foundation
import Synchronization

/// A fixed set of worker threads for data-parallel loops over a few large tasks.
///
/// `run(tasks:_:)` hands task `i` to thread `i % threadCount` (the caller is thread 0) and
/// returns when all tasks are done. Work is split by output rows only, never inside a
/// reduction, so results do not depend on the thread count. Workers spin briefly between jobs
/// (a decode step issues ~100 jobs of a few microseconds to a millisecond each) and then sleep.
/// One `run` at a time: a pool belongs to one model instance, used from one thread.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that execute tasks, the calling thread included.
    public let threadCount: Int
    private let shared: Shared

    /// State the workers hold on to; it outlives the pool until every worker has exited.
    private final class Shared: @unchecked Sendable {
        let generation = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let sleepLock = NSCondition()
        var job: ((Int) -> Void)?
        var taskCount = 0
        let threadCount: Int
        let spinLimit: Int

        init(threadCount: Int, spinLimit: Int) {
            self.threadCount = threadCount
            self.spinLimit = spinLimit
        }

        func publish() {
            sleepLock.lock()
            generation.add(1, ordering: .releasing)
            sleepLock.broadcast()
            sleepLock.unlock()
        }

        func workerLoop(_ worker: Int) {
            var seen = 0
            while true {
                var spins = 0
                while generation.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins > spinLimit {
                        sleepLock.lock()
                        while generation.load(ordering: .acquiring) == seen { sleepLock.wait() }
                        sleepLock.unlock()
                    }
                }
                seen = generation.load(ordering: .acquiring)
                if stopping.load(ordering: .acquiring) { return }
                if let job {
                    var i = worker
                    while i < taskCount {
                        job(i)
                        i += threadCount
                    }
                }
                finished.add(1, ordering: .releasing)
            }
        }
    }

    /// Creates a pool of `threadCount` threads (default: active processor count).
    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount, spinIterations: Int = 100_000) {
        self.threadCount = max(1, threadCount)
        shared = Shared(threadCount: self.threadCount, spinLimit: spinIterations)
        for worker in 1..<self.threadCount {
            let state = shared
            let thread = Thread { state.workerLoop(worker) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit {
        shared.stopping.store(true, ordering: .releasing)
        shared.publish()
    }

    /// Runs `body(i)` for `i` in `0..<tasks` across the pool; returns when all are done.
    /// With `tasks == 1` or a single thread, runs inline.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 0 { return }
        if tasks == 1 || threadCount == 1 {
            for i in 0..<tasks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            shared.job = escapable
            shared.taskCount = tasks
            shared.finished.store(0, ordering: .relaxed)
            shared.publish()
            var i = 0
            while i < tasks {
                escapable(i)
                i += threadCount
            }
            while shared.finished.load(ordering: .acquiring) < threadCount - 1 {}
            shared.job = nil
        }
    }

    /// Splits `0..<count` into contiguous chunks (multiples of `granularity`), one per thread,
    /// and runs `body(range)` on each.
    public func parallelFor(count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        let parts = min(threadCount, units)
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        run(tasks: parts) { part in
            let start = units * part / parts * granularity
            let end = min(count, units * (part + 1) / parts * granularity)
            if start < end { body(start..<end) }
        }
    }
}
