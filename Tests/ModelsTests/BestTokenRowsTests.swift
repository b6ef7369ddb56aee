import Foundation
import Kernels
import Models
import TestSupport
import XCTest

/// Best-token rows: logit rows that keep only their best token (greedy verification), which must
/// be the token and logit their full row's `argmax()` gives, with every other row unchanged.
final class BestTokenRowsTests: XCTestCase {
    func testBestTokenRowsHoldTheArgmaxOfTheirFullRowAndNothingElse() throws {
        let arithmetics: [MatrixArithmetic] = MatrixArithmetic.isInt8Available ? [.float32, .int8] : [.float32]
        for architecture in TinyModel.Architecture.allCases {
            for arithmetic in arithmetics {
                var spec = arithmetic == .int8 ? TinyModel.int8Ready(architecture, seed: 3, vocab: 96) : TinyModel(architecture)
                spec.seed = 3
                let model = try ModelLoader.load(path: try spec.write(), threads: 2, arithmetic: arithmetic)
                var random = SplitMix(state: 77)
                let tokens = (0..<9).map { _ in Int32(4 + random.int(spec.vocab - 4)) }
                let full = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32))
                let head = try model.makeGuessHead(tokens: (0..<Int32(spec.vocab)).filter { $0 % 3 == 0 })
                let guessRows = [1, 4], bestRows = [0, 2, 3, 8]
                for guesses in [nil, GuessRows(head: head, rows: guessRows)] {
                    let mixed = try model.forward(
                        tokens: tokens, cache: model.makeCache(capacity: 32), guesses: guesses, bestTokenRows: bestRows)
                    let guessed = guesses == nil ? [] : guessRows
                    let fullRows = tokens.count - bestRows.count - guessed.count
                    XCTAssertEqual(mixed.values.count, fullRows * spec.vocab + guessed.count * head.tokens.count, "no values for best-token rows")
                    for row in 0..<tokens.count {
                        let what = "\(architecture) \(arithmetic) guesses \(guesses != nil) row \(row)"
                        let expected = full.row(row).argmax()
                        if bestRows.contains(row) {
                            XCTAssertTrue(mixed.isBestTokenRow(row), what)
                            XCTAssertEqual(mixed.width(ofRow: row), 0, what)
                            let best = mixed.bestToken(ofRow: row)
                            XCTAssertEqual(best.token, Int32(expected), what)
                            XCTAssertEqual(best.value.bitPattern, full.row(row)[full.row(row).startIndex + expected].bitPattern, what)
                        } else if guessed.contains(row) {
                            XCTAssertTrue(mixed.isGuessRow[row], what)
                            XCTAssertFalse(mixed.isBestTokenRow(row), what)
                        } else {
                            XCTAssertEqual(mixed.row(row).map(\.bitPattern), full.row(row).map(\.bitPattern), what)
                            XCTAssertEqual(mixed.bestToken(ofRow: row).token, Int32(expected), what)
                        }
                    }
                }
                // Only some logit rows: best-token rows are named by batch index, like guess rows.
                let some = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), logitRows: [2, 5, 7], bestTokenRows: [7])
                XCTAssertEqual(some.row(0).map(\.bitPattern), full.row(2).map(\.bitPattern))
                XCTAssertEqual(some.bestToken(ofRow: 2).token, Int32(full.row(7).argmax()))
                // Rows the forward cannot honour are refused by name.
                XCTAssertThrowsError(
                    try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), logitRows: [2, 5], bestTokenRows: [7])
                ) { XCTAssertTrue("\($0)".contains("best-token row 7 is not among the logit rows"), "\($0)") }
                XCTAssertThrowsError(
                    try model.forward(
                        tokens: tokens, cache: model.makeCache(capacity: 32), guesses: GuessRows(head: head, rows: [3]), bestTokenRows: [3])
                ) { XCTAssertTrue("\($0)".contains("both a guess row and a best-token row"), "\($0)") }
            }
        }
    }
}
