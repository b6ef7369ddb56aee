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
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ppd")
        let tool = FileManager.default.isExecutableFile(atPath: binary.path)
            ? binary : ServerFixture.repositoryRoot.appendingPathComponent(".build/release/ppd")
        guard FileManager.default.isExecutableFile(atPath: tool.path) else {
            return XCTFail("no ppd binary at \(binary.path) or \(tool.path): build the package first")
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
}
