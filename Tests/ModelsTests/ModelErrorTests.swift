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

    /// Bad indices into the public cache and mask API are named errors that change nothing,
    /// not traps or writes outside a buffer.
    func testBadCacheAndMaskIndicesThrow() throws {
        let model = try ModelLoader.load(path: try TinyModel(.llama).write())
        let cache = model.makeCache(capacity: 16)
        _ = try model.forward(tokens: [2, 5, 6, 7, 8], cache: cache)
        let before = cache.positions
        for (start, slots) in [(6, [Int]()), (-1, []), (2, [1]), (2, [3, 3]), (2, [4, 3]), (2, [5])] {
            XCTAssertThrowsError(try cache.keep(from: start, slots: slots), "start \(start), slots \(slots)") {
                XCTAssertTrue("\($0)".contains("KVCache.keep"), "\($0)")
            }
            XCTAssertEqual(cache.positions, before, "a refused keep changes nothing")
        }
        XCTAssertThrowsError(try cache.truncate(to: -1)) { XCTAssertTrue("\($0)".contains("negative"), "\($0)") }
        try cache.truncate(to: 9)
        XCTAssertEqual(cache.count, 5, "truncating past the end keeps everything")
        try cache.keep(from: 2, slots: [3, 4])
        XCTAssertEqual(cache.positions, [0, 1, 2, 3])

        XCTAssertThrowsError(try AttentionMask(batchSize: 3, batchVisibility: [true, false])) {
            XCTAssertTrue("\($0)".contains("2 visibility entries for a batch of 3"), "\($0)")
        }
        for parents in [[nil, 1], [nil, 0, 3], [0], [nil, -1]] as [[Int?]] {
            XCTAssertThrowsError(try AttentionMask.tree(parents: parents), "\(parents)") {
                XCTAssertTrue("\($0)".contains("is not an earlier batch token"), "\($0)")
            }
        }
        XCTAssertEqual(try AttentionMask.tree(parents: [nil, 0, 0]).batchVisibility, [true, false, false, true, true, false, true, false, true])

        XCTAssertThrowsError(try Logits(rows: [0, 1], vocabSize: 4, values: [1, 2, 3])) {
            XCTAssertTrue("\($0)".contains("3 values for 2 rows of 4"), "\($0)")
        }
        XCTAssertEqual(try Logits(rows: [0, 1], vocabSize: 2, values: [1, 2, 4, 3]).bestToken(ofRow: 1).token, 0)
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
