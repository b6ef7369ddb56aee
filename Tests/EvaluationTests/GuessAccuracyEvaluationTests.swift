import Decoding
import Evaluation
import Foundation
import GGUF
import Models
import TestSupport
import Tokenizer
import Training
import XCTest

/// The guess-accuracy evaluation on a tiny model: the same numbers as preparing the sequences by
/// hand and scoring them with the training objective, shared text for every set, and
/// cumulative accuracies that only grow with k.
final class GuessAccuracyEvaluationTests: XCTestCase {
    func testAccuracyEqualsTheObjectiveOnTheSameCutsForEverySet() throws {
        var spec = TinyModel(.llama)
        spec.vocab = 48
        let file = try GGUFFile(path: try spec.write())
        let model = try Transformer(file: file, threads: 1)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let questions = ["abc abc", "cab bca abc", "aaa bbb"]
        var lines: [String] = []
        let evaluation = try GuessAccuracyEvaluation(
            model: model, tokenizer: tokenizer, questions: questions, replyTokens: 12, cutsPerQuestion: 4, seed: 5,
            progress: { lines.append($0) })
        XCTAssertTrue(lines.isEmpty, "nothing runs before the first measurement")

        // By hand: the examples, their forward passes and the objective's accuracy.
        let maker = TrainingExamples(
            template: .plain, reply: .selfDistilled(tokens: 12), maxLength: model.config.contextLength, cutsPerSequence: 4,
            promptTokens: 3, seed: 5)
        var random = RandomSource(seed: 5)
        let examples = try questions.enumerated().compactMap {
            try maker.example(Conversation(id: "q\($0.offset)", turns: [(.user, $0.element)]), model: model, tokenizer: tokenizer, random: &random)
        }
        for (v, seed) in [(1, UInt64(1)), (2, 2), (1, 3)] {
            let tokens = try PromptTokens.random(count: 3, virtualTokens: v, hiddenSize: model.config.hiddenSize, seed: seed, scale: 1)
            let sequences = try examples.map {
                try TrainingSequence(model: model, tokens: $0.tokens, cuts: $0.cuts, promptTokens: 3, virtualTokens: v)
            }
            let expected = try PromptTokenObjective(model: model).accuracy(on: sequences, promptTokens: tokens)
            let measured = try evaluation.accuracy(of: tokens)
            XCTAssertEqual(measured.perRank, expected.accuracy, "V = \(v)")
            XCTAssertEqual(measured.meanLoss, expected.loss)
            XCTAssertEqual(measured.questions, examples.count)
            XCTAssertEqual(measured.cuts, examples.reduce(0) { $0 + $1.cuts.count })
            for row in measured.cumulative {
                XCTAssertEqual(row.count, 10)
                XCTAssertTrue(zip(row, row.dropFirst()).allSatisfy { $0 <= $1 } && row.last! <= 1 + 1e-12)
            }
        }
        XCTAssertEqual(lines.count, questions.count, "the continuations are made once for every set of 3 prompt tokens")
        XCTAssertTrue(lines.last!.hasPrefix("[3/3, ") && lines.last!.contains("questions/s"), lines.last!)
        XCTAssertThrowsError(try GuessAccuracyEvaluation(model: model, tokenizer: tokenizer, questions: []))
        XCTAssertThrowsError(try evaluation.accuracy(of: try PromptTokens.random(count: 3, virtualTokens: 1, hiddenSize: 7, seed: 1, scale: 1)))
    }
}
