import Foundation

/// One benchmark question of a FastChat `question.jsonl` file.
public struct BenchmarkQuestion: Sendable, Equatable {
    /// The record's `question_id` (as text: ids are numbers in some files, strings in others).
    public var id: String
    /// The record's `category`, or "".
    public var category: String
    /// The first turn.
    public var text: String

    /// A question.
    public init(id: String, category: String, text: String) {
        self.id = id
        self.category = category
        self.text = text
    }
}

/// FastChat question files (`question.jsonl`: one object per line with a `turns` list), the
/// format of the vendored MT-Bench, Alpaca Eval, HumanEval and GSM8K questions.
public enum QuestionFile {
    /// The first turn of up to `limit` questions. Errors name the file and the line.
    public static func read(_ path: String, limit: Int = .max) throws -> [BenchmarkQuestion] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError(file: path, "cannot read the question file")
        }
        var out: [BenchmarkQuestion] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where out.count < limit {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let turns = object["turns"] as? [String], let first = turns.first
            else { throw EvaluationError(file: path, "line \(number + 1) is not a question with \"turns\"") }
            let id = object["question_id"].map { "\($0)" } ?? String(number)
            out.append(BenchmarkQuestion(id: id, category: object["category"] as? String ?? "", text: first))
        }
        return out
    }
}
