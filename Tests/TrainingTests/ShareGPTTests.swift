import Foundation
import XCTest

@testable import Training

final class ShareGPTTests: XCTestCase {
    let sample = #"""
        [
          {"id": "a_0", "conversations": [{"from": "human", "value": "Hi {there} \"friend\""}, {"from": "gpt", "value": "Hello!\n}"}]},
          {"id": "b_1", "conversations": [{"from": "alien", "value": "?"}]},
          {"id": "c_2", "conversations": [{"from": "system", "value": "Be brief."}, {"from": "user", "value": "2+2?"}, {"from": "chatgpt", "value": "4"}]},
          {"id": "d_3", "conversations": [{"from": "human", "value": "cut off in the mid
        """#

    func testReadsCompleteRecordsOfATruncatedFile() throws {
        let contents = try ShareGPT.parse(Data(sample.utf8), file: "sample.json")
        XCTAssertTrue(contents.truncated)
        XCTAssertEqual(contents.skipped, 1)
        XCTAssertEqual(contents.conversations.map(\.id), ["a_0", "c_2"])
        XCTAssertEqual(contents.conversations[0].turns.map(\.role), [.user, .assistant])
        XCTAssertEqual(contents.conversations[0].turns[0].text, "Hi {there} \"friend\"")
        XCTAssertEqual(contents.conversations[0].turns[1].text, "Hello!\n}")
        XCTAssertEqual(contents.conversations[1].turns.map(\.role), [.system, .user, .assistant])
        let limited = try ShareGPT.parse(Data(sample.utf8), file: "sample.json", limit: 1)
        XCTAssertEqual(limited.conversations.count, 1)
        XCTAssertFalse(limited.truncated)
        let complete = try ShareGPT.parse(Data(#"[{"id": "x", "conversations": [{"from": "human", "value": "a"}]}]"#.utf8), file: "f")
        XCTAssertFalse(complete.truncated)
        XCTAssertEqual(complete.conversations.count, 1)
    }

    func testMalformedFilesNameTheFile() {
        XCTAssertThrowsError(try ShareGPT.parse(Data("{}".utf8), file: "bad.json")) { XCTAssertTrue("\($0)".contains("bad.json")) }
        XCTAssertThrowsError(try ShareGPT.parse(Data("[1, 2]".utf8), file: "bad.json")) { XCTAssertTrue("\($0)".contains("byte 1")) }
        XCTAssertThrowsError(try ShareGPT.read(contentsOf: URL(fileURLWithPath: "/nonexistent/sharegpt.json"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/sharegpt.json"))
        }
    }
}
