import ArgumentParser
import PPD

/// Which questions an experiment runs and how long: the benchmark, the question count (spread
/// evenly, `QuestionSelection`), the offset into the file, the tokens per question and the rounds.
public struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Benchmark: mt_bench, alpaca_eval, humaneval or gsm8k (questions from Experiments/data/<bench>/question.jsonl); repeatable where an experiment runs several. Default: the experiment's.")
    public var bench: [Benchmark] = []

    @Option(help: "Number of questions, spread evenly over the benchmark (default: the experiment's).")
    public var questions: Int?

    @Option(help: "Index of the first question (modulo the spacing): another offset gives other questions, for measuring on questions a setting was not tuned on.")
    public var offset = 0

    @Option(help: "Tokens to generate per question (default: the experiment's).")
    public var maxTokens: Int?

    @Option(help: "Runs of every method on every question (speeds are medians over rounds).")
    public var rounds = 1

    public init() {}

    public func validate() throws {
        guard questions ?? 1 >= 1, maxTokens ?? 2 >= 2, rounds >= 1, offset >= 0 else {
            throw ValidationError("--questions and --rounds must be >= 1, --max-tokens >= 2, --offset >= 0")
        }
    }

    /// The benchmarks of `--bench`, or `defaults` without the option.
    public func benchmarks(default defaults: [Benchmark]) -> [Benchmark] { bench.isEmpty ? defaults : bench }

    /// The one benchmark of an experiment that runs one: `--bench`, or `defaultBenchmark`.
    public func single(default defaultBenchmark: Benchmark = .mtBench) throws -> Benchmark {
        guard bench.count <= 1 else { throw ValidationError("--bench: this experiment runs one benchmark (given \(bench.count))") }
        return bench.first ?? defaultBenchmark
    }

    /// `--questions`, or the experiment's default.
    public func questionCount(default count: Int) -> Int { questions ?? count }

    /// `--max-tokens`, or the experiment's default.
    public func tokens(default count: Int) -> Int { maxTokens ?? count }

    /// `count` questions of `benchmark` spread evenly from `--offset`.
    public func pick(from benchmark: Benchmark, count: Int) throws -> [BenchmarkQuestion] {
        try benchmark.questions(count, offset: offset)
    }
}
