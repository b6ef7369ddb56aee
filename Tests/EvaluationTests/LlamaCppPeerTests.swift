import Foundation
import XCTest

@testable import Evaluation

/// The llama.cpp anchors: the decode speed read from both programs' reports, and a missing
/// directory named.
final class LlamaCppPeerTests: XCTestCase {
    func testDecodeSpeedIsReadFromBothPrograms() throws {
        // llama-lookup's and llama-simple's report lines (llama.cpp b6xxx).
        let lookup = "encoded   18 tokens in    0.031 seconds, speed:  580.645 t/s\ndecoded   96 tokens in    0.851 seconds, speed:  112.808 t/s\n"
        let simple = "main: decoded 64 tokens in 0.79 s, speed: 81.01 t/s\n"
        XCTAssertEqual(LlamaCppPeer.decodeSpeed(lookup)?.0, 96)
        XCTAssertEqual(try XCTUnwrap(LlamaCppPeer.decodeSpeed(lookup)?.1), 112.808, accuracy: 1e-9)
        XCTAssertEqual(LlamaCppPeer.decodeSpeed(simple)?.0, 64)
        XCTAssertEqual(try XCTUnwrap(LlamaCppPeer.decodeSpeed(simple)?.1), 81.01, accuracy: 1e-9)
        XCTAssertNil(LlamaCppPeer.decodeSpeed("error: failed to load model"))
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-llama-\(UUID())").path
        XCTAssertThrowsError(try LlamaCppPeer(directory: missing, modelPath: "m.gguf", threads: 2)) {
            XCTAssertTrue("\($0)".contains("llama-lookup") && "\($0)".contains(missing), "\($0)")
        }
    }
}
