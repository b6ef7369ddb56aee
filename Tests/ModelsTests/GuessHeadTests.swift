import Foundation
import Kernels
import Models
import TestSupport
import XCTest

/// The guess head: rows that only guess take their logits from a subset of the output layer;
/// every logit it computes is bitwise the full layer's, and the other rows of the batch do not
/// change at all.
final class GuessHeadTests: XCTestCase {
    func testGuessRowsGetTheFullLogitsOfTheHeadsTokensAndOtherRowsAreUnchanged() throws {
        let arithmetics: [MatrixArithmetic] = MatrixArithmetic.isInt8Available ? [.float32, .int8] : [.float32]
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2] {
                for arithmetic in arithmetics {
                    // int8: a shape and encodings the int8 kernels repack (the output layer included).
                    var spec = arithmetic == .int8 ? TinyModel.int8Ready(architecture, seed: seed, vocab: 96) : TinyModel(architecture)
                    spec.seed = seed
                    let model = try ModelLoader.load(path: try spec.write(), threads: Int(seed) + 1, arithmetic: arithmetic)
                    var random = SplitMix(state: seed &* 31)
                    let tokens = (0..<9).map { _ in Int32(4 + random.int(spec.vocab - 4)) }
                    let headTokens = (0..<spec.vocab).filter { _ in random.int(3) == 0 }.map { Int32($0) }
                    let before = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32))
                    let head = try model.makeGuessHead(tokens: headTokens.reversed() + headTokens.prefix(2))
                    XCTAssertEqual(head.tokens, headTokens, "sorted and distinct")
                    XCTAssertEqual(head.relativeCost, Double(headTokens.count) / Double(spec.vocab), accuracy: 1e-12)
                    // With int8 the first head shares the output layer's rows: it adds its token list
                    // and the layer's row order only. A second head over other tokens copies its rows.
                    let hidden = model.config.hiddenSize
                    if arithmetic == .int8 {
                        XCTAssertEqual(head.addedBytes, 4 * headTokens.count + 4 * spec.vocab)
                        let second = try model.makeGuessHead(tokens: [4, 5, 6])
                        XCTAssertGreaterThanOrEqual(second.addedBytes, 3 * 4 + 4 * hidden / 2, "a copy of 4 rows (4 bits per weight or more)")
                    } else {
                        XCTAssertGreaterThan(head.addedBytes, 4 * headTokens.count, "a copy of the encoded rows")
                    }

                    let full = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32))
                    XCTAssertEqual(full.values.map(\.bitPattern), before.values.map(\.bitPattern), "logits after the head is made")
                    let guessRows = [1, 4, 5, 8]
                    let mixed = try model.forward(
                        tokens: tokens, cache: model.makeCache(capacity: 32), guesses: GuessRows(head: head, rows: guessRows))
                    // Guess rows hold the head's tokens only, in its order: nothing else is stored.
                    XCTAssertEqual(mixed.values.count, (tokens.count - guessRows.count) * spec.vocab + guessRows.count * headTokens.count)
                    for row in 0..<tokens.count {
                        let what = "\(architecture) seed \(seed) \(arithmetic) row \(row)"
                        XCTAssertEqual(mixed.isGuessRow[row], guessRows.contains(row), what)
                        if guessRows.contains(row) {
                            XCTAssertEqual(mixed.width(ofRow: row), headTokens.count, what)
                            for (index, value) in mixed.row(row).enumerated() {
                                let token = mixed.token(at: index, inRow: row)
                                XCTAssertEqual(token, headTokens[index], what)
                                XCTAssertEqual(value.bitPattern, full.row(row)[full.row(row).startIndex + Int(token)].bitPattern, "\(what) token \(token)")
                            }
                            let expanded = mixed.fullRow(row)
                            for token in 0..<spec.vocab where !headTokens.contains(Int32(token)) {
                                XCTAssertEqual(expanded[token], -.infinity, "\(what) token \(token)")
                            }
                            // Ranking a guess row is ranking its full-vocabulary row.
                            for count in [1, 5, headTokens.count + 3] {
                                let ranked = mixed.topTokens(count, row: row)
                                let reference = expanded[...].topK(count)
                                XCTAssertEqual(ranked.map(\.token), reference.map { Int32($0.index) }, "\(what) top \(count)")
                                XCTAssertEqual(ranked.map(\.value.bitPattern), reference.map(\.value.bitPattern), "\(what) top \(count)")
                            }
                        } else {
                            XCTAssertEqual(Array(mixed.row(row)), Array(full.row(row)), what)
                            XCTAssertEqual(mixed.topTokens(4, row: row).map(\.token), full.row(row).topK(4).map { Int32($0.index) }, what)
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
