import Foundation
import GGUF
import Tokenizer
import XCTest

/// The default model (Gemma 3 270M Q4_K_M) for the tests that check against llama.cpp.
///
/// Its path is `$PPD_MODEL`, else `~/.cache/ppd/gemma-3-270m-q4_k_m.gguf`. A missing file fails
/// the test, unless `PPD_ALLOW_MISSING_MODEL=1`, which skips it instead.
enum DefaultModel {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["PPD_MODEL"], !path.isEmpty { return path }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/ppd/gemma-3-270m-q4_k_m.gguf").path
    }

    /// Loaded once for all tests.
    private static let loaded: Result<SentencePieceTokenizer, Error> = Result {
        try SentencePieceTokenizer(gguf: GGUFFile(path: path))
    }

    /// The tokenizer of the default model; fails (or skips, see above) when the file is absent.
    static func tokenizer() throws -> SentencePieceTokenizer {
        guard FileManager.default.fileExists(atPath: path) else {
            let message = "the default model is missing: run `make test` or `Scripts/fetch-model.sh` to fetch it "
                + "(or set PPD_MODEL; PPD_ALLOW_MISSING_MODEL=1 skips these tests)"
            if ProcessInfo.processInfo.environment["PPD_ALLOW_MISSING_MODEL"] == "1" { throw XCTSkip("\(path): \(message)") }
            throw TokenizerError(source: path, reason: message)  // fails the test with this message
        }
        return try loaded.get()
    }
}

/// Test fixtures in `Fixtures/` (see PROVENANCE.md there).
enum Fixtures {
    static func data(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw TokenizerError(source: name, reason: "fixture not found in the test bundle")
        }
        return try Data(contentsOf: url)
    }

    /// `reference.json`: llama.cpp's tokens and greedy output for five prompts.
    struct Reference: Decodable {
        let promptTokens: [Int32]
        let generatedTokens: [Int32]
        let generatedText: String
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", generatedTokens = "generated_tokens", generatedText = "generated_text"
        }
    }

    static func reference() throws -> [String: Reference] {
        try JSONDecoder().decode([String: Reference].self, from: data("reference.json"))
    }

    /// `llama_cpp_tokenize.json`: llama.cpp's ids for extra texts in all four flag combinations.
    struct TokenizeCase: Decodable {
        let text: String
        let addSpecialParseSpecial: [Int32]
        let addSpecialNoParse: [Int32]
        let noAddParseSpecial: [Int32]
        let noAddNoParse: [Int32]
        let detokenized: String
        enum CodingKeys: String, CodingKey {
            case text, detokenized
            case addSpecialParseSpecial = "add_special_parse_special", addSpecialNoParse = "add_special_no_parse"
            case noAddParseSpecial = "no_add_parse_special", noAddNoParse = "no_add_no_parse"
        }
    }

    static func tokenizeCases(_ name: String = "llama_cpp_tokenize.json") throws -> [TokenizeCase] {
        struct File: Decodable { let cases: [TokenizeCase] }
        return try JSONDecoder().decode(File.self, from: data(name)).cases
    }
}
