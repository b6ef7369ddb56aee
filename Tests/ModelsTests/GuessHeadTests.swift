import Foundation
import Models
import TestSupport
import XCTest

/// The guess head: rows that only guess take their logits from a subset of the output layer;
/// every logit it computes is bitwise the full layer's, and the other rows of the batch do not
/// change at all.
final class GuessHeadTests: XCTestCase {
    func testGuessRowsGetTheFullLogitsOfTheHeadsTokensAndOtherRowsAreUnchanged() throws {
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2] {
                var spec = TinyModel(architecture)
                spec.seed = seed
                let model = try ModelLoader.load(path: try spec.write(), threads: Int(seed) + 1)
                var random = SplitMix(state: seed &* 31)
                let tokens = (0..<9).map { _ in Int32(4 + random.int(spec.vocab - 4)) }
                let headTokens = (0..<spec.vocab).filter { _ in random.int(3) == 0 }.map { Int32($0) }
                let head = try model.makeGuessHead(tokens: headTokens.reversed() + headTokens.prefix(2))
                XCTAssertEqual(head.tokens, headTokens, "sorted and distinct")
                XCTAssertEqual(head.relativeCost, Double(headTokens.count) / Double(spec.vocab), accuracy: 1e-12)

                let full = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32))
                let guessRows = [1, 4, 5, 8]
                let mixed = try model.forward(
                    tokens: tokens, cache: model.makeCache(capacity: 32), guesses: GuessRows(head: head, rows: guessRows))
                let inHead = Set(headTokens)
                for row in 0..<tokens.count {
                    let what = "\(architecture) seed \(seed) row \(row)"
                    if guessRows.contains(row) {
                        for (token, (value, reference)) in zip(mixed.row(row), full.row(row)).enumerated() {
                            if inHead.contains(Int32(token)) {
                                XCTAssertEqual(value.bitPattern, reference.bitPattern, "\(what) token \(token)")
                            } else {
                                XCTAssertEqual(value, -.infinity, "\(what) token \(token)")
                            }
                        }
                    } else {
                        XCTAssertEqual(Array(mixed.row(row)), Array(full.row(row)), what)
                    }
                }
                // Only some logit rows, guesses among them, in another order of the batch rows.
                let some = try model.forward(
                    tokens: tokens, cache: model.makeCache(capacity: 32), logitRows: [2, 5, 7],
                    guesses: GuessRows(head: head, rows: [5]))
                XCTAssertEqual(Array(some.row(0)), Array(full.row(2)))
                XCTAssertEqual(Array(some.row(1)), Array(mixed.row(5)))
                XCTAssertEqual(Array(some.row(2)), Array(full.row(7)))
                // No logit rows at all (the layers alone, as the cost profile measures them).
                let none = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), logitRows: [])
                XCTAssertEqual(none.rows, [])
                XCTAssertTrue(none.values.isEmpty)
            }
        }
    }

    func testBadGuessRequestsAreClearErrors() throws {
        let model = try ModelLoader.load(path: try TinyModel(.gemma3).write(), threads: 1)
        let vocab = model.config.vocabSize
        XCTAssertThrowsError(try model.makeGuessHead(tokens: [])) { XCTAssertTrue("\($0)".contains("empty")) }
        XCTAssertThrowsError(try model.makeGuessHead(tokens: [3, Int32(vocab)])) {
            XCTAssertTrue("\($0)".contains("outside the vocabulary"))
        }
        XCTAssertThrowsError(try model.makeGuessHead(tokens: [-1])) { XCTAssertTrue("\($0)".contains("outside the vocabulary")) }
        let head = try model.makeGuessHead(tokens: [4, 5, 6])
        XCTAssertThrowsError(
            try model.forward(tokens: [4, 5], cache: model.makeCache(capacity: 8), logitRows: [1], guesses: GuessRows(head: head, rows: [0]))
        ) { XCTAssertTrue("\($0)".contains("guess row 0 is not among the logit rows")) }
        // A head made for another model (another vocabulary size) is refused.
        var other = TinyModel(.gemma3)
        other.vocab = vocab + 32
        let otherHead = try ModelLoader.load(path: try other.write(), threads: 1).makeGuessHead(tokens: [4])
        XCTAssertThrowsError(
            try model.forward(tokens: [4], cache: model.makeCache(capacity: 8), guesses: GuessRows(head: otherHead, rows: [0]))
        ) { XCTAssertTrue("\($0)".contains("not made for this model")) }
    }
}
