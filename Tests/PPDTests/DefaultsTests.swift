import Foundation
import PPD
import TestSupport
import XCTest

/// How `--guess-vocab` resolves: the shipped vocabulary serves the default model only; with
/// another model it is left out with a note, while a named vocabulary that does not fit is an
/// error naming the file.
final class DefaultsTests: XCTestCase {
    func testTheShippedGuessVocabularyIsLeftOutForAnotherModel() throws {
        // `swift test` runs in the package root, where the shipped vocabulary lives.
        XCTAssertTrue(FileManager.default.fileExists(atPath: Defaults.guessVocabularyPath), "run from the repository root")
        let tiny = try ModelLoader.load(path: try TinyModel(.gemma3).write(), threads: 1)
        var notes: [String] = []
        XCTAssertNil(try Defaults.guessHead(option: nil, size: 100, model: tiny, modelSHA256: nil, note: { notes.append($0) }))
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].contains(Defaults.guessVocabularyPath) && notes[0].contains("outside the model's vocabulary"), notes[0])

        XCTAssertThrowsError(
            try Defaults.guessHead(option: Defaults.guessVocabularyPath, size: 100, model: tiny, modelSHA256: nil, note: { notes.append($0) })
        ) { XCTAssertTrue("\($0)".contains(Defaults.guessVocabularyPath), "\($0)") }
        XCTAssertNil(try Defaults.guessHead(option: "none", size: 100, model: tiny, modelSHA256: nil, note: { notes.append($0) }))
        XCTAssertEqual(notes.count, 1)

        // A vocabulary that fits is used, with its file.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try GuessVocabulary(counts: (0..<tiny.config.vocabSize).map { $0 % 7 }, limit: 50, modelSHA256: nil, source: "test").write(to: url)
        let found = try Defaults.guessHead(option: url.path, size: 20, model: tiny, modelSHA256: nil, note: { notes.append($0) })
        XCTAssertEqual(found?.file, url.path)
        XCTAssertEqual(found?.head.tokens.count, 20)
    }

    /// Shipped files are found from any working directory (under the checkout the library was
    /// built from), and as given from the repository root.
    func testShippedFilesResolveFromAnyDirectory() throws {
        let relative = "Experiments/prompts/gemma-3-270m-3x1-run7.safetensors"
        XCTAssertEqual(Defaults.shippedFile(relative), relative)
        let root = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(root) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(FileManager.default.temporaryDirectory.path))
        let found = Defaults.shippedFile(relative)
        XCTAssertTrue(found.hasPrefix("/") && FileManager.default.fileExists(atPath: found), found)
        XCTAssertTrue(FileManager.default.fileExists(atPath: Defaults.promptTokensPath))
        XCTAssertTrue(FileManager.default.fileExists(atPath: Defaults.guessVocabularyPath))
        XCTAssertEqual(Defaults.shippedFile("Experiments/no-such-file"), "Experiments/no-such-file")
    }
}
