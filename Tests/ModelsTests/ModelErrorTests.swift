import Foundation
import GGUF
import Models
import TestSupport
import XCTest

/// Bad models and bad inputs give clear errors, never a crash or a silent wrong answer.
final class ModelErrorTests: XCTestCase {
    func assertLoadFails(_ spec: TinyModel, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try spec.write()
        XCTAssertThrowsError(try ModelLoader.load(path: path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "'\(error)' does not say '\(expected)'", file: file, line: line)
            XCTAssertTrue("\(error)".contains(path), "'\(error)' does not name the file", file: file, line: line)
        }
    }

    func testMissingTensor() throws {
        var spec = TinyModel(.llama)
        spec.omitTensor = "blk.1.ffn_up.weight"
        try assertLoadFails(spec, "missing tensor 'blk.1.ffn_up.weight'")
    }

    func testWrongShape() throws {
        var spec = TinyModel(.gemma3)
        spec.misshapeTensor = "blk.0.attn_k.weight"
        try assertLoadFails(spec, "tensor 'blk.0.attn_k.weight' has shape [64, 33], expected [64, 32]")
    }

    func testUnsupportedArchitecture() throws {
        var writer = try TinyModel(.llama).writer()
        writer.set("general.architecture", .string("mamba"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mamba-\(UUID()).gguf").path
        try writer.write(to: path)
        XCTAssertThrowsError(try ModelLoader.load(path: path)) { XCTAssertTrue("\($0)".contains("architecture 'mamba' is not supported")) }
    }

    func testBadInputs() throws {
        var spec = TinyModel(.llama)
        spec.context = 16
        let model = try ModelLoader.load(path: try spec.write())
        let cache = model.makeCache(capacity: 64)
        XCTAssertEqual(cache.capacity, 16)
        XCTAssertThrowsError(try model.forward(tokens: [Int32](repeating: 5, count: 17), cache: cache)) {
            XCTAssertTrue("\($0)".contains("context"), "\($0)")
        }
        XCTAssertEqual(cache.count, 0, "a failed forward must not leave entries in the cache")
        XCTAssertThrowsError(try model.embed([999])) { XCTAssertTrue("\($0)".contains("outside the vocabulary")) }
        XCTAssertThrowsError(try model.forward(tokens: [5], cache: cache, logitRows: [3])) { XCTAssertTrue("\($0)".contains("logit row 3")) }
    }
}
