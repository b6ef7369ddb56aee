import Foundation
import GGUF
import XCTest

@testable import Tokenizer

/// The default model's tokenizer against llama.cpp's ids and text.
final class GemmaTokenizerTests: XCTestCase {
    func testVocabularyFacts() throws {
        let vocabulary = try DefaultModel.tokenizer().vocabulary
        XCTAssertEqual(vocabulary.count, 262_144)
        XCTAssertEqual(vocabulary.bos, 2)
        XCTAssertEqual(vocabulary.eos, 1)
        XCTAssertEqual(vocabulary.pad, 0)
        XCTAssertEqual(vocabulary.unk, 3)
        XCTAssertTrue(vocabulary.addBOS)
        XCTAssertFalse(vocabulary.addEOS)
        XCTAssertFalse(vocabulary.addSpacePrefix)
        XCTAssertEqual(vocabulary.id(for: "<start_of_turn>"), 105)
        XCTAssertEqual(vocabulary.id(for: "<end_of_turn>"), 106)
        XCTAssertEqual(vocabulary.types[105], .control)
        XCTAssertEqual(vocabulary.types[107], .userDefined)  // "\n"
        XCTAssertEqual(vocabulary.types[212], .control)  // "</s>": user-defined in the file, control in llama.cpp
        XCTAssertEqual(vocabulary.types[203], .userDefined)  // "<s>"
        XCTAssertEqual(vocabulary.id(for: "<0x0A>"), 248)
    }

    func testReferencePromptTokens() throws {
        let tokenizer = try DefaultModel.tokenizer()
        let reference = try Fixtures.reference()
        XCTAssertEqual(reference.count, 5)
        for (prompt, expected) in reference {
            XCTAssertEqual(tokenizer.encode(prompt), expected.promptTokens, prompt)
        }
    }

    func testReferenceGeneratedTextDecodes() throws {
        let tokenizer = try DefaultModel.tokenizer()
        for (prompt, expected) in try Fixtures.reference() {
            XCTAssertEqual(tokenizer.decode(expected.generatedTokens), expected.generatedText, prompt)
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            let streamed = expected.generatedTokens.map { stream.append($0) }.joined() + stream.finish()
            XCTAssertEqual(streamed, expected.generatedText, prompt)
        }
    }

    func testMatchesLlamaCppOnExtraTexts() throws {
        let tokenizer = try DefaultModel.tokenizer()
        let cases = try Fixtures.tokenizeCases()
        XCTAssertGreaterThan(cases.count, 60)
        for item in cases {
            let name = item.text.debugDescription
            XCTAssertEqual(tokenizer.encode(item.text), item.addSpecialParseSpecial, name)
            XCTAssertEqual(tokenizer.encode(item.text, parseSpecial: false), item.addSpecialNoParse, name)
            XCTAssertEqual(tokenizer.encode(item.text, addSpecial: false), item.noAddParseSpecial, name)
            XCTAssertEqual(tokenizer.encode(item.text, addSpecial: false, parseSpecial: false), item.noAddNoParse, name)
            XCTAssertEqual(tokenizer.decode(item.addSpecialParseSpecial), item.detokenized, name)
        }
    }

    /// The same vocabulary with `add_space_prefix` switched on, against llama.cpp on a copy of
    /// the model's metadata with that flag flipped: the prefix goes on the first fragment and
    /// on every fragment after a special token.
    func testMatchesLlamaCppWithSpacePrefix() throws {
        let gemma = try DefaultModel.tokenizer().vocabulary
        let tokenizer = SentencePieceTokenizer(
            vocabulary: try Vocabulary(
                tokens: gemma.tokens, scores: gemma.scores, types: gemma.types, bos: gemma.bos, eos: gemma.eos,
                unk: gemma.unk, pad: gemma.pad, addBOS: true, addEOS: false, addSpacePrefix: true))
        let cases = try Fixtures.tokenizeCases("llama_cpp_tokenize_space_prefix.json")
        XCTAssertGreaterThan(cases.count, 60)
        for item in cases {
            let name = item.text.debugDescription
            XCTAssertEqual(tokenizer.encode(item.text), item.addSpecialParseSpecial, name)
            XCTAssertEqual(tokenizer.encode(item.text, parseSpecial: false), item.addSpecialNoParse, name)
            XCTAssertEqual(tokenizer.encode(item.text, addSpecial: false), item.noAddParseSpecial, name)
            XCTAssertEqual(tokenizer.encode(item.text, addSpecial: false, parseSpecial: false), item.noAddNoParse, name)
            XCTAssertEqual(tokenizer.decode(item.addSpecialParseSpecial), item.detokenized, name)
        }
    }

    func testRoundTripsOnExtraTexts() throws {
        let tokenizer = try DefaultModel.tokenizer()
        // A literal "▁" in the text decodes to a space (in llama.cpp too), so those texts cannot round-trip.
        for item in try Fixtures.tokenizeCases() where !item.text.unicodeScalars.contains("\u{2581}") {
            let name = item.text.debugDescription
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(item.text, addSpecial: false), renderSpecial: true), item.text, name)
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(item.text, parseSpecial: false)), item.text, name)
        }
    }

    func testStreamingEmojiFromByteTokens() throws {
        let tokenizer = try DefaultModel.tokenizer()
        let ids = tokenizer.encode("🦙!", addSpecial: false)
        XCTAssertEqual(ids.count, 5)  // four byte tokens, then "!"
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        XCTAssertEqual(ids.map { stream.append($0) }, ["", "", "", "🦙", "!"])
    }
}
