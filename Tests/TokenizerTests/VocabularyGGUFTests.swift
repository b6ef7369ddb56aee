import Foundation
import GGUF
import XCTest

@testable import Tokenizer

/// Reading vocabularies from GGUF metadata written by the project's GGUFWriter.
final class VocabularyGGUFTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes a GGUF with these metadata entries and opens it.
    private func file(_ entries: [(String, GGUFValue)], name: String = "vocab.gguf") throws -> GGUFFile {
        var writer = GGUFWriter()
        for (key, value) in entries { writer.set(key, value) }
        let path = directory.appendingPathComponent(name).path
        try writer.write(to: path)
        return try GGUFFile(path: path)
    }

    private static func strings(_ texts: [String]) -> GGUFValue {
        .array(elementType: .string, values: GGUFArray(texts.map { .string($0) }))
    }

    private static let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "▁a", "\n"]

    func testReadsEverythingWithLlamaCppDefaults() throws {
        let gguf = try file([
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
        ])
        let vocabulary = try Vocabulary(gguf: gguf)
        XCTAssertEqual(vocabulary.count, 7)
        XCTAssertEqual(vocabulary.scores, [Float](repeating: 0, count: 7))
        // No types in the file: all normal, except "</s>", which llama.cpp makes control by its text.
        XCTAssertEqual(vocabulary.types, [.normal, .normal, .control, .normal, .normal, .normal, .normal])
        XCTAssertEqual(vocabulary.bos, 1)
        XCTAssertEqual(vocabulary.eos, 2)
        XCTAssertEqual(vocabulary.unk, 0)
        XCTAssertNil(vocabulary.pad)
        XCTAssertTrue(vocabulary.addBOS)
        XCTAssertFalse(vocabulary.addEOS)
        XCTAssertTrue(vocabulary.addSpacePrefix)
        XCTAssertEqual(vocabulary.id(for: "▁a"), 5)
    }

    func testReadsExplicitValues() throws {
        let gguf = try file([
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
            ("tokenizer.ggml.scores", .array(elementType: .float32, values: GGUFArray((0..<7).map { .float32(-Float($0)) }))),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, values: GGUFArray([2, 3, 3, 1, 1, 1, 4].map { .int32($0) }))),
            ("tokenizer.ggml.bos_token_id", .uint32(2)),
            ("tokenizer.ggml.eos_token_id", .uint32(1)),
            ("tokenizer.ggml.unknown_token_id", .uint32(0)),
            ("tokenizer.ggml.padding_token_id", .uint32(6)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.ggml.add_eos_token", .bool(true)),
            ("tokenizer.ggml.add_space_prefix", .bool(false)),
        ])
        let vocabulary = try Vocabulary(gguf: gguf)
        XCTAssertEqual(vocabulary.scores[5], -5)
        XCTAssertEqual(vocabulary.types[6], .userDefined)
        XCTAssertEqual(vocabulary.types[0], .unknown)
        XCTAssertEqual(vocabulary.bos, 2)
        XCTAssertEqual(vocabulary.eos, 1)
        XCTAssertEqual(vocabulary.pad, 6)
        XCTAssertFalse(vocabulary.addBOS)
        XCTAssertTrue(vocabulary.addEOS)
        XCTAssertFalse(vocabulary.addSpacePrefix)
        let tokenizer = try SentencePieceTokenizer(gguf: gguf)
        XCTAssertEqual(tokenizer.encode("a\na"), [4, 6, 4, 1])
    }

    func testLlamaCppTypeCorrectionsByText() throws {
        let texts = ["<unk>", "<s>", "</s>", "<|im_end|>", "<PRE>", "<|channel|>", "x", "<|fim_prefix|>", "<SUF>"]
        let given: [Int32] = [2, 3, 4, 1, 1, 3, 1, 1, 1]
        let gguf = try file([
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", Self.strings(texts)),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, values: GGUFArray(given.map { .int32($0) }))),
            ("tokenizer.ggml.fim_suf_token_id", .uint32(6)),
        ])
        let types = try Vocabulary(gguf: gguf).types
        XCTAssertEqual(types[2], .control)  // "</s>" ends generation
        XCTAssertEqual(types[3], .control)  // "<|im_end|>" too
        XCTAssertEqual(types[4], .control)  // fill-in-the-middle prefix, no id in the file
        XCTAssertEqual(types[7], .control)
        XCTAssertEqual(types[5], .userDefined)  // gpt-oss marker, always rendered
        XCTAssertEqual(types[6], .normal)
        XCTAssertEqual(types[8], .normal)  // the file names the suffix token: no guessing
        // Hand-made vocabularies keep their types as given.
        XCTAssertEqual(try Vocabulary(tokens: texts, types: given.map { TokenType(gguf: Int($0)) }).types[2], .userDefined)
    }

    func testOutOfRangeSpecialIdKeepsTheDefault() throws {
        let gguf = try file([
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
            ("tokenizer.ggml.bos_token_id", .uint32(70_000)),
            ("tokenizer.ggml.padding_token_id", .uint32(70_000)),
        ])
        let vocabulary = try Vocabulary(gguf: gguf)
        XCTAssertEqual(vocabulary.bos, 1)
        XCTAssertNil(vocabulary.pad)
    }

    func testUnsupportedModelNamesFileAndModel() throws {
        let gguf = try file([
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
        ], name: "bpe.gguf")
        XCTAssertThrowsError(try Vocabulary(gguf: gguf)) { error in
            let text = "\(error)"
            XCTAssertTrue(error is TokenizerError)
            XCTAssertTrue(text.contains("bpe.gguf"), text)
            XCTAssertTrue(text.contains("'gpt2'"), text)
        }
    }

    func testMissingOrMalformedMetadataThrows() throws {
        let cases: [(String, [(String, GGUFValue)], String)] = [
            ("no-model", [("tokenizer.ggml.tokens", Self.strings(Self.tokens))], "tokenizer.ggml.model"),
            ("no-tokens", [("tokenizer.ggml.model", .string("llama"))], "tokenizer.ggml.tokens"),
            ("short-scores", [
                ("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
                ("tokenizer.ggml.scores", .array(elementType: .float32, values: [.float32(0)])),
            ], "tokenizer.ggml.scores"),
            ("string-types", [
                ("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
                ("tokenizer.ggml.token_type", Self.strings(Self.tokens)),
            ], "tokenizer.ggml.token_type"),
            ("duplicate", [
                ("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", Self.strings(["a", "b", "a"])),
            ], "appears twice"),
            ("bool-bos", [
                ("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", Self.strings(Self.tokens)),
                ("tokenizer.ggml.bos_token_id", .bool(true)),
            ], "tokenizer.ggml.bos_token_id"),
        ]
        for (name, entries, mention) in cases {
            let gguf = try file(entries, name: "\(name).gguf")
            XCTAssertThrowsError(try Vocabulary(gguf: gguf), name) { error in
                XCTAssertTrue("\(error)".contains("\(name).gguf"), "\(error)")
                XCTAssertTrue("\(error)".contains(mention), "\(error)")
            }
        }
    }
}
