import Foundation
import Synchronization

/// A fixed set of worker threads for data-parallel loops.
///
/// `run(tasks:_:)` runs `body(i)` for every task index; threads (the caller included) claim
/// tasks one at a time from a shared counter, so a thread that the operating system preempts
/// (this machine is shared) delays the job by at most one task, not half of it. Which thread
/// runs a task never changes what the task computes: kernels split work by output rows only,
/// never inside a reduction. Workers spin briefly between jobs (a decode step issues ~150 jobs
/// of microseconds to milliseconds each) and then sleep. One `run` at a time: a pool belongs to
/// one model instance, used from one thread.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that execute tasks, the calling thread included.
    public let threadCount: Int
    private let shared: Shared

    /// State the workers hold on to; it outlives the pool until every worker has exited.
    private final class Shared: @unchecked Sendable {
        /// Job number in the high 32 bits, next unclaimed task in the low 32 bits.
        let claim = Atomic<UInt64>(0)
        /// The low half of `claim` once a job has finished: no task index reaches it.
        static let closed: UInt64 = 0xFFFF_FFFF
        let completed = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let sleepLock = NSCondition()
        var job: ((Int) -> Void)?
        /// Read by workers that may be a job behind, so it is atomic; the claim word's
        /// compare-exchange, not this value, decides whether a claim is valid.
        let taskCount = Atomic<Int>(0)
        let spinLimit: Int

        init(spinLimit: Int) { self.spinLimit = spinLimit }

        /// Claims and runs tasks of job `number` until none is left.
        func work(on number: UInt64) {
            while true {
                let current = claim.load(ordering: .acquiring)
                guard current >> 32 == number else { return }
                let task = Int(current & 0xFFFF_FFFF)
                guard task < taskCount.load(ordering: .relaxed) else { return }
                let (exchanged, _) = claim.compareExchange(
                    expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
                guard exchanged else { continue }
                runTask(task)
                completed.add(1, ordering: .releasing)
            }
        }

        /// Runs one task of the current job. The job cannot change before this task completes,
        /// so reading it here is safe. A separate, never-inlined function so that this thread's
        /// reference to the job's closure is released before the task counts as completed: the
        /// closure lives in the caller's `withoutActuallyEscaping` scope, which ends as soon as the
        /// last task completes, and a reference still held then would be released into a dead
        /// stack frame (the Swift runtime reports "closure argument was escaped in
        /// withoutActuallyEscaping block"; memory can be corrupted).
        @inline(never)
        private func runTask(_ task: Int) {
            job!(task)
        }

        func workerLoop() {
            var seen: UInt64 = 0
            while true {
                var spins = 0
                var number = claim.load(ordering: .acquiring) >> 32
                while number == seen && !stopping.load(ordering: .relaxed) {
                    spins += 1
                    if spins > spinLimit {
                        sleepLock.lock()
                        while claim.load(ordering: .acquiring) >> 32 == seen && !stopping.load(ordering: .relaxed) {
                            sleepLock.wait()
                        }
                        sleepLock.unlock()
                    }
                    number = claim.load(ordering: .acquiring) >> 32
                }
                if stopping.load(ordering: .acquiring) { return }
                seen = number
                work(on: number)
            }
        }
    }

    /// A pool without workers: everything runs on the calling thread. Kernels called from inside
    /// another pool's task use it.
    public static let inline = ThreadPool(threadCount: 1)

    /// Creates a pool of `threadCount` threads (default: active processor count).
    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount, spinIterations: Int = 100_000) {
        self.threadCount = max(1, threadCount)
        shared = Shared(spinLimit: spinIterations)
        for _ in 1..<self.threadCount {
            let state = shared
            let thread = Thread { state.workerLoop() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit {
        shared.sleepLock.lock()
        shared.stopping.store(true, ordering: .releasing)
        shared.sleepLock.broadcast()
        shared.sleepLock.unlock()
    }

    /// Runs `body(i)` for `i` in `0..<tasks` across the pool; returns when all are done.
    /// With one task or one thread, runs inline.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 0 { return }
        if tasks == 1 || threadCount == 1 {
            for i in 0..<tasks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let s = shared
            s.job = escapable
            s.taskCount.store(tasks, ordering: .relaxed)
            s.completed.store(0, ordering: .relaxed)
            let number = ((s.claim.load(ordering: .relaxed) >> 32) &+ 1) & 0xFFFF_FFFF  // wraps after 2^32 jobs
            s.sleepLock.lock()
            s.claim.store(number << 32, ordering: .releasing)
            s.sleepLock.broadcast()
            s.sleepLock.unlock()
            s.work(on: number)
            while s.completed.load(ordering: .acquiring) < tasks {}
            // Close the job before anything of the next one is written. A worker preempted
            // between reading the claim word (number, tasks) and its compare-exchange would
            // otherwise compare `tasks` against the *next* job's larger task count, win the
            // exchange on this unchanged word, and run a task of the next job outside its
            // claim: that task ran twice and counted twice, so `run` could return while a task
            // was still writing (measured: 221 of 60,000 jobs in
            // `testThreadPoolKeepsJobsApartUnderPreemption` before this line).
            s.claim.store(number << 32 | Shared.closed, ordering: .releasing)
            s.job = nil
        }
    }

    /// Splits `0..<count` into contiguous chunks (multiples of `granularity`), several per
    /// thread, and runs `body(range)` on each.
    public func parallelFor(count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        // Several chunks per thread (a preempted thread then holds up little), fewer for small jobs.
        let parts = min(threadCount * (units >= 1024 ? 8 : 4), units)
        if parts <= 1 || threadCount == 1 {
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
