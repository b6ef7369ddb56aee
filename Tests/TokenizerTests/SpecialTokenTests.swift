import XCTest

@testable import Tokenizer

/// Cutting special tokens out of the text before SentencePiece, as llama.cpp does.
final class SpecialTokenTests: XCTestCase {
    private func gemmaLike() throws -> SentencePieceTokenizer {
        try TestVocabularies.tokenizer(
            [("\n", 0, .userDefined), ("\n\n", 0, .userDefined), ("  ", 0, .userDefined), ("   ", 0, .userDefined),
             ("<start_of_turn>", 0, .control), ("<end_of_turn>", 0, .control),
             ("▁", -1, .normal), ("u", -1, .normal), ("s", -1, .normal), ("e", -1, .normal), ("r", -1, .normal),
             ("user", -2, .normal), ("us", -3, .normal), ("er", -3, .normal), ("use", -4, .normal),
             ("H", -1, .normal), ("i", -1, .normal), ("Hi", -2, .normal), ("▁Hi", -1.5, .normal)],
            addSpacePrefix: false)
    }

    func testTurnMarkersAndNewlines() throws {
        let tokenizer = try gemmaLike()
        XCTAssertEqual(
            tokenizer.encode("<start_of_turn>user\nHi<end_of_turn>"),
            [1] + tokenizer.ids("<start_of_turn>", "user", "\n", "Hi", "<end_of_turn>"))
    }

    func testControlTokensNeedParseSpecial() throws {
        let tokenizer = try gemmaLike()
        let ids = tokenizer.encode("<start_of_turn>Hi", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(ids.contains(tokenizer.ids("<start_of_turn>")[0]))
        XCTAssertEqual(ids.suffix(1), tokenizer.ids("Hi")[...])
        // User-defined tokens are cut out either way.
        XCTAssertEqual(tokenizer.encode("Hi\nHi", addSpecial: false, parseSpecial: false), tokenizer.ids("Hi", "\n", "Hi"))
    }

    func testLongestSpecialTokenFirst() throws {
        let tokenizer = try gemmaLike()
        XCTAssertEqual(tokenizer.encode("\n\n\nHi", addSpecial: false), tokenizer.ids("\n\n", "\n", "Hi"))
        XCTAssertEqual(tokenizer.encode("Hi     Hi", addSpecial: false), tokenizer.ids("Hi", "   ", "  ", "Hi"))
        // A single space is no special token: it stays in the text and becomes ▁.
        XCTAssertEqual(tokenizer.encode("Hi Hi", addSpecial: false), tokenizer.ids("Hi", "▁Hi"))
    }

    func testLongerTokenWinsEvenWhenItStartsLater() throws {
        // llama.cpp cuts tokens one at a time, longest first: in "abcd" the 3-byte "bcd" is cut
        // before the 2-byte "ab" is looked for, so "ab" is not found.
        let tokenizer = try TestVocabularies.tokenizer(
            [("ab", 0, .userDefined), ("bcd", 0, .userDefined), ("a", 0, .normal)], addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("abcd", addSpecial: false), tokenizer.ids("a", "bcd"))
        XCTAssertEqual(tokenizer.encode("abab", addSpecial: false), tokenizer.ids("ab", "ab"))
    }

    func testOverlappingOccurrencesOfOneToken() throws {
        let tokenizer = try TestVocabularies.tokenizer([("aa", 0, .userDefined), ("a", 0, .normal)], addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("aaaaa", addSpecial: false), tokenizer.ids("aa", "aa", "a"))
    }

    func testSpacePrefixAfterEverySpecialToken() throws {
        // As llama.cpp: the prefix goes on the first fragment and on every fragment after a special token.
        let tokenizer = try TestVocabularies.tokenizer(
            [("\n", 0, .userDefined), ("▁Hi", 0, .normal), ("Hi", -1, .normal), ("▁", -2, .normal)], addSpacePrefix: true)
        XCTAssertEqual(tokenizer.encode("Hi\nHi", addSpecial: false), tokenizer.ids("▁Hi", "\n", "▁Hi"))
        XCTAssertEqual(tokenizer.encode("\nHi", addSpecial: false), tokenizer.ids("\n", "▁Hi"))
    }

    func testBosWrittenInTextIsParsed() throws {
        let tokenizer = try gemmaLike()
        XCTAssertEqual(tokenizer.encode("<s>Hi</s>"), [1, 1] + tokenizer.ids("Hi") + [2])
    }

    func testSplitterFragments() throws {
        let vocabulary = try TestVocabularies.make([("<x>", 0, .control), ("\n", 0, .userDefined)], withBytes: false)
        let splitter = SpecialTokenSplitter(vocabulary: vocabulary)
        let text = Array("a<x>\n<x".utf8)
        let fragments = text.withUnsafeBufferPointer { splitter.split($0, parseSpecial: true) }
        XCTAssertEqual(fragments, [.text(0..<1), .token(3), .token(4), .text(5..<7)])
        let plain = text.withUnsafeBufferPointer { splitter.split($0, parseSpecial: false) }
        XCTAssertEqual(plain, [.text(0..<4), .token(4), .text(5..<7)])
    }
}
