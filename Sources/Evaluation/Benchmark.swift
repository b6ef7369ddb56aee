import Foundation
import Tokenizer

/// The four benchmarks the repository ships (`Experiments/data/<name>/question.jsonl`, first turns
/// only) with the toolkit's one rule for picking questions and one rule for turning a question
/// into model input.
public enum Benchmark: String, CaseIterable, Sendable {
    case mtBench = "mt_bench"
    case alpacaEval = "alpaca_eval"
    case humanEval = "humaneval"
    case gsm8k

    /// The benchmark called `name` (`mt_bench`, `alpaca_eval`, `humaneval`, `gsm8k`).
    public static func named(_ name: String) throws -> Benchmark {
        guard let benchmark = Benchmark(rawValue: name) else {
            throw EvaluationError("unknown benchmark \"\(name)\" (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return benchmark
    }

    /// The question file, relative to the repository root.
    public var relativePath: String { "Experiments/data/\(rawValue)/question.jsonl" }

    /// Every question, from the shipped file found from any working directory.
    public func allQuestions() throws -> [BenchmarkQuestion] {
        try QuestionFile.read(ShippedFiles.require(relativePath))
    }

    /// `count` questions spread evenly over the file (`QuestionSelection.evenlySpread`).
    public func questions(_ count: Int, offset: Int = 0) throws -> [BenchmarkQuestion] {
        QuestionSelection.evenlySpread(try allQuestions(), count: count, offset: offset)
    }

    /// The model input text of a question: HumanEval's code prompt as it is (the paper
    /// continues the code), the chat benchmarks in `template` (the plain `User: ...\nAssistant:`
    /// template the shipped prompt tokens were trained with, by default).
    public func promptText(_ question: BenchmarkQuestion, template: PromptTemplate = .plain) -> String {
        self == .humanEval ? question.text : template.prompt(question.text)
    }

    /// The sampling temperature FastChat's MT-Bench uses for a question's category (0 for the
    /// other benchmarks and unknown categories): writing and roleplay 0.7, STEM and humanities
    /// 0.1, extraction, math, coding and reasoning 0.
    public func temperature(for question: BenchmarkQuestion) -> Float {
        guard self == .mtBench else { return 0 }
        switch question.category {
        case "writing", "roleplay": return 0.7
        case "stem", "humanities": return 0.1
        default: return 0
        }
    }
}

/// Which questions of a file an experiment uses.
public enum QuestionSelection {
    /// `count` questions at equal steps through `all` (step `all.count / count`, at least 1),
    /// starting at index `offset` (taken modulo the step): every category of a sorted file
    /// gets its share, and a different offset gives disjoint questions for tuning vs measuring.
    public static func evenlySpread<T>(_ all: [T], count: Int, offset: Int = 0) -> [T] {
        guard count > 0, !all.isEmpty else { return [] }
        let step = max(1, all.count / count)
        let start = step > 1 ? offset % step : min(max(offset, 0), all.count - 1)
        return Array(stride(from: start, to: all.count, by: step).prefix(count).map { all[$0] })
    }
}
