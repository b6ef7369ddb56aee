import Foundation
import PPD
import Server
import Serving
import XCTest

/// `ppd serve` from the outside: the `openai` Python client, raw HTTP for every bad-request
/// class, a load of 16 concurrent clients, and the web page in headless Chromium.
final class ServerTests: XCTestCase {
    func testOpenAIClientStreamingAndErrors() throws {
        try ServerFixture.start().runChecker("api")
    }

    func testLoadOfSixteenClientsWithDisconnects() throws {
        try ServerFixture.start().runChecker("load")
    }

    func testWebPageInHeadlessChromium() throws {
        let screenshot = ProcessInfo.processInfo.environment["PPD_SERVE_SCREENSHOT"]
        try ServerFixture.start().runChecker("page", screenshot: screenshot)
    }

    /// The server's greedy text (checked against these expectations by the API checks) is the
    /// text `ppd generate --json` prints for the same prompt.
    func testGreedyTextEqualsPPDGenerate() throws {
        let fixture = try ServerFixture.start()
        guard let tool = ServerFixture.ppdTool() else {
            return XCTFail("no ppd binary beside the tests or in .build/release: build the package first")
        }
        let cases = fixture.expectations["completions"] as! [[String: Any]]
        for expected in cases.prefix(2) {
            let process = Process()
            process.executableURL = tool
            process.arguments = [
                "generate", "--json", "--model", try ServerFixture.modelPath(), "--prompt", expected["prompt"] as! String,
                "--max-tokens", String(expected["max_tokens"] as! Int),
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            let report = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            XCTAssertEqual(report["text"] as? String, expected["text"] as? String)
            XCTAssertGreaterThan(report["peak_resident_bytes"] as? Int ?? 0, 100 << 20, "the JSON report's peak resident memory")
        }
    }

    /// `ppd generate --prompts FILE --batch B` prints one JSON line per prompt whose text is what
    /// `ppd generate --json --prompt` prints for that prompt alone; a bad line of the file is an
    /// error naming the file and the line, before the model loads.
    func testPromptsFileGivesEachPromptsTextAlone() throws {
        guard let tool = ServerFixture.ppdTool() else {
            return XCTFail("no ppd binary beside the tests or in .build/release: build the package first")
        }
        let model = try ServerFixture.modelPath()
        func run(_ arguments: [String]) throws -> (status: Int32, out: Data, err: String) {
            let process = Process()
            process.executableURL = tool
            process.arguments = arguments
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let out = output.fileHandleForReading.readDataToEndOfFile()
            let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, out, err)
        }
        let prompts = ["The capital of France is", "def add(a, b):", "Once upon a time"]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prompts-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try prompts.map { #"{"prompt": \#(String(decoding: try! JSONEncoder().encode($0), as: UTF8.self))}"# }
            .joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let batched = try run(["generate", "--model", model, "--prompts", file.path, "--batch", "3", "--max-tokens", "12"])
        XCTAssertEqual(batched.status, 0, batched.err)
        let lines = String(decoding: batched.out, as: UTF8.self).split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(lines.compactMap { $0["index"] as? Int }.sorted(), [0, 1, 2])
        for line in lines {
            let index = line["index"] as! Int
            let alone = try run(["generate", "--json", "--model", model, "--prompt", prompts[index], "--max-tokens", "12"])
            let report = try JSONSerialization.jsonObject(with: alone.out) as! [String: Any]
            XCTAssertEqual(line["text"] as? String, report["text"] as? String, prompts[index])
            XCTAssertEqual(line["prompt"] as? String, prompts[index])
        }
        try "{\"prompt\": \"ok\"}\n[1, 2]\n".write(to: file, atomically: true, encoding: .utf8)
        let bad = try run(["generate", "--model", "/no/such/model.gguf", "--prompts", file.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains(file.path) && bad.err.contains("line 2"), bad.err)
    }
}
