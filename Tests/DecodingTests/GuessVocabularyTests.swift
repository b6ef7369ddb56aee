import Foundation
import XCTest

@testable import Decoding
@testable import Trees

final class GuessVocabularyTests: XCTestCase {
    func testMostFrequentFirstTiesBySmallerIdAndCoverage() throws {
        let counts = [0, 5, 2, 5, 0, 1, 7]
        let vocabulary = GuessVocabulary(counts: counts, limit: 4, modelSHA256: "abc", source: "test")
        XCTAssertEqual(vocabulary.tokens, [6, 1, 3, 2])
        XCTAssertEqual(vocabulary.counts, [7, 5, 5, 2])
        XCTAssertEqual(vocabulary.countedTokens, 20)
        XCTAssertEqual(vocabulary.prefix(2), [6, 1])
        XCTAssertEqual(vocabulary.coverage(size: 2), 0.6, accuracy: 1e-12)
        XCTAssertEqual(vocabulary.coverage(size: 100), 0.95, accuracy: 1e-12)
        XCTAssertEqual(GuessVocabulary(counts: counts, limit: 100, modelSHA256: nil, source: "").tokens.count, 5)
    }

    func testRoundTripValidationAndErrorsNameTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("guess-vocab-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let vocabulary = GuessVocabulary(counts: [3, 0, 9, 1], limit: 10, modelSHA256: "abc", source: "counted")
        try vocabulary.write(to: url)
        let read = try GuessVocabulary(contentsOf: url)
        XCTAssertEqual(read, vocabulary)
        XCTAssertNoThrow(try read.validate(vocabSize: 4, modelSHA256: "abc", file: url.path))
        XCTAssertNoThrow(try read.validate(vocabSize: 4, modelSHA256: nil, file: url.path))
        XCTAssertThrowsError(try read.validate(vocabSize: 3, modelSHA256: nil, file: url.path)) {
            XCTAssertTrue("\($0)".contains(url.path) && "\($0)".contains("outside the model's vocabulary"), "\($0)")
        }
        XCTAssertThrowsError(try read.validate(vocabSize: 4, modelSHA256: "def", file: url.path)) {
            XCTAssertTrue("\($0)".contains("tokenizer of model"), "\($0)")
        }
        for (text, reason) in [
            ("not json", "is not a JSON object"),
            (#"{"format": "ppd-tree/1"}"#, "expected ppd-guess-vocab/1"),
            (#"{"format": "ppd-guess-vocab/1", "tokens": [1, 2], "counts": [5]}"#, "same length"),
            (#"{"format": "ppd-guess-vocab/1", "tokens": [1, 1], "counts": [5, 4]}"#, "distinct"),
            (#"{"format": "ppd-guess-vocab/1", "tokens": [], "counts": []}"#, "non-empty"),
        ] {
            try Data(text.utf8).write(to: url)
            XCTAssertThrowsError(try GuessVocabulary(contentsOf: url)) {
                XCTAssertTrue("\($0)".contains(url.path) && "\($0)".contains(reason), "\($0)")
            }
        }
        XCTAssertThrowsError(try GuessVocabulary(contentsOf: url.appendingPathExtension("missing"))) {
            XCTAssertTrue("\($0)".contains("cannot be read"), "\($0)")
        }
    }
}
