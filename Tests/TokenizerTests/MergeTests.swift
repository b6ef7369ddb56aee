import XCTest

@testable import Tokenizer

/// SentencePiece merges on hand-made vocabularies.
final class MergeTests: XCTestCase {
    func testHighestScoringPairMergesFirst() throws {
        let tokenizer = try TestVocabularies.tokenizer([
            ("▁", -5, .normal), ("a", -5, .normal), ("b", -5, .normal), ("c", -5, .normal),
            ("ab", -1, .normal), ("bc", -0.5, .normal), ("abc", -2, .normal), ("▁a", -3, .normal),
        ])
        // "▁abc": bc (-0.5) beats ab (-1); then a+bc = abc (-2) beats ▁a (-3); ▁+abc is no token.
        XCTAssertEqual(tokenizer.encode("abc", addSpecial: false), tokenizer.ids("▁", "abc"))
        XCTAssertEqual(tokenizer.encode("abc"), [1] + tokenizer.ids("▁", "abc"))
    }

    func testMergeOrderDecidesTheSegmentation() throws {
        // "ab" outranks "bc", so "abc" becomes ab + c although "bc" and "a" are tokens too.
        let tokenizer = try TestVocabularies.tokenizer(
            [("a", -9, .normal), ("b", -9, .normal), ("c", -9, .normal), ("ab", -1, .normal), ("bc", -2, .normal)],
            addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("abc", addSpecial: false), tokenizer.ids("ab", "c"))
        XCTAssertEqual(tokenizer.encode("bca", addSpecial: false), tokenizer.ids("bc", "a"))
    }

    func testTiesMergeLeftmostFirst() throws {
        let tokenizer = try TestVocabularies.tokenizer([("a", -9, .normal), ("aa", -1, .normal)], addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("aaa", addSpecial: false), tokenizer.ids("aa", "a"))
        XCTAssertEqual(tokenizer.encode("aaaaa", addSpecial: false), tokenizer.ids("aa", "aa", "a"))
    }

    func testMergesNeedEveryIntermediateToken() throws {
        // "abc" is a token, but neither "ab" nor "bc" is: SentencePiece cannot reach it.
        let tokenizer = try TestVocabularies.tokenizer(
            [("a", 0, .normal), ("b", 0, .normal), ("c", 0, .normal), ("abc", 10, .normal)], addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("abc", addSpecial: false), tokenizer.ids("a", "b", "c"))
    }

    func testByteFallbackForMissingCharacters() throws {
        let tokenizer = try TestVocabularies.tokenizer([("x", 0, .normal)], addSpacePrefix: false)
        // é = C3 A9, 🦙 = F0 9F A6 99
        XCTAssertEqual(tokenizer.encode("xé🦙", addSpecial: false),
                       tokenizer.ids("x", "<0xC3>", "<0xA9>", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"))
    }

    func testByteFallbackToUnknownWithoutByteTokens() throws {
        let tokenizer = try TestVocabularies.tokenizer([("x", 0, .normal)], withBytes: false, addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("xéx", addSpecial: false), [tokenizer.ids("x")[0], 0, 0, tokenizer.ids("x")[0]])
    }

    func testSpacesBecomeSpaceMarks() throws {
        let tokenizer = try TestVocabularies.tokenizer(
            [("▁", 0, .normal), ("h", 0, .normal), ("i", 0, .normal), ("▁hi", -1, .normal), ("▁h", -2, .normal),
             ("hi", -3, .normal), ("▁▁", -4, .normal)])
        XCTAssertEqual(tokenizer.encode("hi hi", addSpecial: false), tokenizer.ids("▁hi", "▁hi"))
        XCTAssertEqual(tokenizer.encode("  hi", addSpecial: false), tokenizer.ids("▁▁", "▁hi"))
        let noPrefix = try TestVocabularies.tokenizer([("▁", 0, .normal), ("h", 0, .normal), ("i", 0, .normal), ("hi", -1, .normal)],
                                                      addSpacePrefix: false)
        XCTAssertEqual(noPrefix.encode("hi hi", addSpecial: false), noPrefix.ids("hi", "▁", "hi"))
    }

    func testSpecialFlags() throws {
        let tokenizer = try TestVocabularies.tokenizer([("▁x", 0, .normal)], addBOS: false, addEOS: true)
        XCTAssertEqual(tokenizer.encode("x"), tokenizer.ids("▁x") + [2])
        XCTAssertEqual(tokenizer.encode("x", addSpecial: false), tokenizer.ids("▁x"))
        XCTAssertEqual(tokenizer.encode(""), [2])
        XCTAssertEqual(tokenizer.encode("", addSpecial: false), [])
    }

    func testLookupComparesBytesNotCanonicalEquivalence() throws {
        // "é" precomposed and "e" + combining acute are equal as Swift Strings, different tokens here.
        let vocabulary = try TestVocabularies.make([("\u{E9}", 0, .normal), ("e\u{301}", 0, .normal)], withBytes: false)
        XCTAssertEqual(vocabulary.id(for: "\u{E9}"), 3)
        XCTAssertEqual(vocabulary.id(for: "e\u{301}"), 4)
        XCTAssertNil(vocabulary.id(for: "e"))
    }

    func testVocabularyRejectsBadParts() {
        XCTAssertThrowsError(try Vocabulary(tokens: ["a", "a"]))
        XCTAssertThrowsError(try Vocabulary(tokens: ["a", "b"], scores: [0]))
        XCTAssertThrowsError(try Vocabulary(tokens: ["a", "b"], types: [.normal]))
        XCTAssertThrowsError(try Vocabulary(tokens: ["a"], bos: 5))
        XCTAssertThrowsError(try Vocabulary(tokens: []))
        XCTAssertEqual(try Vocabulary(tokens: ["a", ""]).tokens[1], "[EMPTY_1]")
    }
}
