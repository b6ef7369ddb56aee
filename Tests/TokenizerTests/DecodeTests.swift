import XCTest

@testable import Tokenizer

/// Decoding whole sequences and streams, and encode/decode round trips.
final class DecodeTests: XCTestCase {
    private func tokenizer(addSpacePrefix: Bool = false) throws -> SentencePieceTokenizer {
        try TestVocabularies.tokenizer(
            [("▁", -1, .normal), ("▁the", -1, .normal), ("the", -2, .normal), ("\n", 0, .userDefined),
             ("<turn>", 0, .control), ("<unused0>", 0, .unused), ("t", -3, .normal), ("h", -3, .normal),
             ("e", -3, .normal), ("th", -3, .normal), ("▁t", -4, .normal), ("▁th", -3, .normal)],
            addSpacePrefix: addSpacePrefix)
    }

    func testDecodeRendersEachTokenType() throws {
        let tokenizer = try tokenizer()
        let ids = [1] + tokenizer.ids("the", "▁the", "\n", "<turn>", "<0x41>", "<unused0>", "<0xC3>", "<0xA9>") + [2]
        XCTAssertEqual(tokenizer.decode(ids), "the the\nAé")
        XCTAssertEqual(tokenizer.decode(ids, renderSpecial: true), "<s>the the\n<turn>Aé</s>")
        XCTAssertEqual(tokenizer.decode([-1, 99_999]), "")
    }

    func testPieceIsTheRawText() throws {
        let tokenizer = try tokenizer()
        XCTAssertEqual(tokenizer.piece(for: tokenizer.ids("▁the")[0]), "▁the")
        XCTAssertEqual(tokenizer.piece(for: tokenizer.ids("<0x41>")[0]), "<0x41>")
        XCTAssertEqual(tokenizer.piece(for: 1), "<s>")
        XCTAssertEqual(tokenizer.piece(for: -3), "")
    }

    func testInvalidBytesDecodeToReplacementCharacter() throws {
        let tokenizer = try tokenizer()
        XCTAssertEqual(tokenizer.decode(tokenizer.ids("<0xFF>", "<0x41>")), "\u{FFFD}A")
        XCTAssertEqual(tokenizer.decode(tokenizer.ids("<0xF0>", "<0x9F>")), "\u{FFFD}")
    }

    func testStreamingHoldsBackSplitCharacters() throws {
        let tokenizer = try tokenizer()
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        // 🦙 = F0 9F A6 99, split over four byte tokens; é = C3 A9.
        let ids = tokenizer.ids("the", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>", "▁the", "<0xC3>", "<0xA9>")
        let outputs = ids.map { stream.append($0) }
        XCTAssertEqual(outputs, ["the", "", "", "", "🦙", " the", "", "é"])
        XCTAssertEqual(stream.pendingByteCount, 0)
        XCTAssertEqual(stream.finish(), "")
    }

    func testStreamingEmitsInvalidBytesAtOnce() throws {
        let tokenizer = try tokenizer()
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        XCTAssertEqual(stream.append(tokenizer.ids("<0xFF>")[0]), "\u{FFFD}")
        XCTAssertEqual(stream.append(tokenizer.ids("<0xE2>")[0]), "")
        // E2 followed by 41 can never complete: both come out, the E2 as U+FFFD.
        XCTAssertEqual(stream.append(tokenizer.ids("<0x41>")[0]), "\u{FFFD}A")
        // ED A0 would be a surrogate: invalid as soon as the second byte arrives.
        XCTAssertEqual(stream.append(tokenizer.ids("<0xED>")[0]), "")
        XCTAssertEqual(stream.append(tokenizer.ids("<0xA0>")[0]), "\u{FFFD}\u{FFFD}")
        XCTAssertEqual(stream.append(tokenizer.ids("<0xF0>")[0]), "")
        XCTAssertEqual(stream.pendingByteCount, 1)
        XCTAssertEqual(stream.finish(), "\u{FFFD}")
        XCTAssertEqual(stream.pendingByteCount, 0)
    }

    func testStreamingSkipsOrRendersControlTokens() throws {
        let tokenizer = try tokenizer()
        var quiet = StreamingDetokenizer(tokenizer: tokenizer)
        var loud = StreamingDetokenizer(tokenizer: tokenizer, renderSpecial: true)
        let ids: [Int32] = [1] + tokenizer.ids("the", "<turn>") + [2]
        XCTAssertEqual(ids.map { quiet.append($0) }.joined(), "the")
        XCTAssertEqual(ids.map { loud.append($0) }.joined(), "<s>the<turn></s>")
    }

    func testStreamingEqualsWholeDecode() throws {
        let tokenizer = try TestVocabularies.tokenizer([("▁", -1, .normal), ("a", -1, .normal), ("▁a", -1, .normal)])
        for text in ["a 🦙 a", "日本語 a", "é\u{301} a\u{10FFFD}", "   ", "a"] {
            let ids = tokenizer.encode(text)
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            let streamed = ids.map { stream.append($0) }.joined() + stream.finish()
            XCTAssertEqual(streamed, tokenizer.decode(ids), text)
        }
    }

    func testRoundTrips() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = Array("the th e t h \n\n xyz 🦙é日本\t<turn> ")
        let withPrefix = try tokenizer(addSpacePrefix: true)
        let withoutPrefix = try tokenizer(addSpacePrefix: false)
        for _ in 0..<200 {
            let text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            // Without the prefix the text comes back exactly; with it, behind one space per
            // fragment that starts the text or follows a special token.
            let ids = withoutPrefix.encode(text, addSpecial: false)
            XCTAssertEqual(withoutPrefix.decode(ids, renderSpecial: true), text)
            XCTAssertEqual(withoutPrefix.decode(withoutPrefix.encode(text, parseSpecial: false)), text)
            let prefixed = withPrefix.decode(withPrefix.encode("x" + text, addSpecial: false, parseSpecial: false))
            let expected = ("x" + text).split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : " " + $0 }.joined(separator: "\n")
            XCTAssertEqual(prefixed, expected, text.debugDescription)
        }
    }
}
