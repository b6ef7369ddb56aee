import Foundation
import PPD
import Server
import Serving
import XCTest

/// One `ppd serve` for the test process, in process on a free loopback port: the default model,
/// the shipped prompt tokens on a chain tree with prompt lookup, PPD by default, a queue of 8.
/// Also the greedy texts every check compares with (plain autoregressive decoding, the library's
/// `ppd generate`), written to a JSON file for the Python checker.
final class ServerFixture: @unchecked Sendable {
    let engine: GenerationEngine
    let url: String
    let expectFile: URL
    let expectations: [String: Any]
    private let serverTask: Task<Void, Error>

    nonisolated(unsafe) private static var shared: ServerFixture?

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/check_server.py")

    /// The model, skipping when it is absent only if `PPD_ALLOW_MISSING_MODEL=1`.
    /// The `ppd` binary beside the test bundle, else in `.build/release`; nil when neither exists.
    static func ppdTool() -> URL? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ppd")
        let built = repositoryRoot.appendingPathComponent(".build/release/ppd")
        return [beside, built].first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func modelPath() throws -> String {
        let path = ModelLocation.defaultPath
        if FileManager.default.fileExists(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["PPD_ALLOW_MISSING_MODEL"] == "1" { throw XCTSkip("default model not found at \(path)") }
        XCTFail("default model not found at \(path): run `make test` or Scripts/fetch-model.sh to fetch it")
        throw XCTSkip("no model")
    }

    static func start() throws -> ServerFixture {
        if let shared { return shared }
        let fixture = try ServerFixture()
        shared = fixture
        return fixture
    }

    /// A served model on the default GGUF (shared with `timeout` engines of single tests).
    static func servedModel() throws -> ServedModel {
        let path = try modelPath()
        let file = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let transformer = try Transformer(file: file, threads: nil, arithmetic: .fastest)
        let tokens = try PromptTokens.load(from: URL(fileURLWithPath: Defaults.promptTokensPath))
        let decoder = try PromptDecoder(
            model: transformer, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: tokens.count),
            drafter: try PromptLookupDrafter(), draftRowLimit: 6)
        return ServedModel(
            id: "gemma-3-270m-q4_k_m", transformer: transformer, tokenizer: tokenizer, decoder: decoder,
            stopTokens: StopTokens.defaults(for: tokenizer.vocabulary), chat: ChatPrompt(template: .plain), defaultDecoding: .ppd)
    }

    private init() throws {
        let model = try Self.servedModel()
        expectations = try Self.expectations(for: model)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ppd-server-tests-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        expectFile = directory.appendingPathComponent("expect.json")
        try JSONSerialization.data(withJSONObject: expectations, options: [.prettyPrinted, .sortedKeys]).write(to: expectFile)

        engine = GenerationEngine(model: model, limits: ServingLimits(queueCapacity: 8))
        let server = PPDServer(engine: engine, host: "127.0.0.1", port: 0)
        let ready = DispatchSemaphore(value: 0)
        let port = PortBox()
        serverTask = Task {
            try await server.run(handleSignals: false) { bound in
                port.value = bound
                ready.signal()
            }
        }
        guard ready.wait(timeout: .now() + 60) == .success, port.value > 0 else {
            throw ServerError("the server did not start listening within 60 s")
        }
        url = "http://127.0.0.1:\(port.value)"
    }

    final class PortBox: @unchecked Sendable { var value = 0 }

    /// Greedy texts (plain decoding) of the prompts the checks send.
    static func expectations(for model: ServedModel) throws -> [String: Any] {
        let generator = AutoregressiveGenerator(model: model.transformer)
        func greedy(_ prompt: [Int32], _ maxTokens: Int) throws -> GenerationResult {
            try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: maxTokens, stopTokens: model.stopTokens))
        }
        var completions: [[String: Any]] = []
        for (prompt, maxTokens) in [
            ("The three primary colors are", 24), ("def fibonacci(n):", 32),
            ("Question: What is the capital of France?\nAnswer:", 20), ("Write a short poem about the sea.\n", 24),
        ] {
            let ids = model.tokenizer.encode(prompt)
            let result = try greedy(ids, maxTokens)
            completions.append([
                "prompt": prompt, "max_tokens": maxTokens, "text": model.tokenizer.decode(result.tokens), "tokens": result.tokens.count,
                "prompt_tokens": ids.count, "finish_reason": result.stopReason == .stopToken ? "stop" : "length",
            ])
        }
        let first = completions[0]["text"] as! String
        let middle = first.index(first.startIndex, offsetBy: first.count / 2)
        let sequence = String(first[middle...].prefix(4))
        let stopped = String(first[..<first.range(of: sequence)!.lowerBound])

        let messages = [ChatMessage(role: "user", content: "Name three fruits.")]
        let chatResult = try greedy(model.tokenizer.encode(model.chat.text(for: messages)), 24)
        var chatText = model.tokenizer.decode(chatResult.tokens)
        var chatFinish = chatResult.stopReason == .stopToken ? "stop" : "length"
        for stop in model.chat.stopSequences {
            if let cut = chatText.range(of: stop) {
                chatText = String(chatText[..<cut.lowerBound])
                chatFinish = "stop"
            }
        }
        return [
            "model": model.id, "completions": completions, "stop": ["sequence": sequence, "text": stopped],
            "chat": [
                "messages": messages.map { ["role": $0.role, "content": $0.content] }, "max_tokens": 24, "text": chatText,
                "finish_reason": chatFinish,
            ] as [String: Any],
            "chromium": "/usr/bin/chromium",
        ]
    }

    /// Runs the Python checker's `part` against the server; fails the test with its output
    /// unless every check passed.
    func runChecker(_ part: String, screenshot: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.checker.path, part, "--url", url, "--expect", expectFile.path]
            + (screenshot.map { ["--screenshot", $0] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        print(text)
        XCTAssertEqual(process.terminationStatus, 0, "check_server.py \(part) failed:\n\(text)", file: file, line: line)
    }
}
