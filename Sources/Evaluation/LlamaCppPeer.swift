import Decoding
import Foundation
import Tokenizer

/// llama.cpp as an external anchor of a side-by-side comparison (built outside the repository,
/// `../shared/tools/build-llama-cpp.sh`): its `llama-lookup` program, greedy, on the same threads,
/// once with no drafts (`--spec-draft-n-max 0`: llama.cpp's plain decoding; `llama-simple` cannot
/// set its thread count) and once with its training-free prompt-lookup drafts. Each run starts
/// the program on the prompt's text and reads the decode speed it reports; the run has no tokens
/// of ours, so it counts only as a speed (one step per decoded token, tau 1).
public struct LlamaCppPeer {
    /// The directory holding the program and its shared libraries.
    public let directory: URL
    public let modelPath: String
    public let threads: Int

    /// Throws, naming the directory, unless `llama-lookup` is there.
    public init(directory: String, modelPath: String, threads: Int) throws {
        self.directory = URL(fileURLWithPath: directory)
        self.modelPath = modelPath
        self.threads = threads
        guard FileManager.default.isExecutableFile(atPath: self.directory.appendingPathComponent("llama-lookup").path) else {
            throw EvaluationError(file: directory, "no executable llama-lookup here (../shared/tools/build-llama-cpp.sh DIR builds llama.cpp's programs)")
        }
    }

    /// llama.cpp's plain greedy decoding: `llama-lookup` with no drafts.
    public func plain(tokenizer: SentencePieceTokenizer, name: String = "llama.cpp plain") -> DecodingMethod {
        lookup(tokenizer: tokenizer, draft: 0, name: name)
    }

    /// `llama-lookup` with drafts of up to `draft` tokens (`--spec-draft-n-max`; 0: none).
    public func lookup(tokenizer: SentencePieceTokenizer, draft: Int = 3, name: String = "llama.cpp lookup") -> DecodingMethod {
        DecodingMethod(name: name, attributes: ["kind": .string("external"), "program": .string("llama-lookup"), "draft": .int(Int64(draft))]) { prompt, options in
            try self.run(
                "llama-lookup",
                ["-m", modelPath, "-t", String(threads), "-p", Self.text(prompt, tokenizer), "-n", String(options.maxTokens), "--temp", "0",
                 "--spec-draft-n-max", String(draft)], options)
        }
    }

    /// The prompt's text without the BOS token (the programs add their own).
    static func text(_ prompt: [Int32], _ tokenizer: SentencePieceTokenizer) -> String {
        let bos = tokenizer.vocabulary.bos
        return tokenizer.decode(bos != nil && prompt.first == bos ? Array(prompt.dropFirst()) : prompt)
    }

    /// Runs `program` and turns its reported decode speed into a run of that many tokens.
    func run(_ program: String, _ arguments: [String], _ options: GenerationOptions) throws -> DecodingRun {
        let process = Process()
        process.executableURL = directory.appendingPathComponent(program)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LD_LIBRARY_PATH"] = directory.path
        process.environment = environment
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        _ = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: stderr, as: UTF8.self)
        guard process.terminationStatus == 0, let (tokens, speed) = Self.decodeSpeed(text), speed > 0 else {
            throw EvaluationError(file: process.executableURL?.path, "failed or reported no decode speed (exit \(process.terminationStatus)): \(text.suffix(600))")
        }
        let seconds = 1 / speed
        let steps = (0..<tokens).map { _ in
            DecodingRun.Step(rows: 1, nodes: 0, depth: 0, accepted: 0, emitted: 1, seconds: seconds, forwardSeconds: seconds)
        }
        return DecodingRun(prompt: [], tokens: [], stopReason: .maxTokens, prefillSeconds: 0, steps: steps)
    }

    /// "decoded N tokens in S seconds, speed: X t/s" (llama-lookup; llama-simple writes "S s"):
    /// N and X.
    static func decodeSpeed(_ text: String) -> (Int, Double)? {
        let pattern = #"decoded\s+(\d+)\s+tokens\s+in\s+[\d.]+\s*(?:s|seconds),\s*speed:\s*([\d.]+)\s*t/s"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let tokensRange = Range(match.range(at: 1), in: text), let speedRange = Range(match.range(at: 2), in: text),
            let tokens = Int(text[tokensRange]), let speed = Double(text[speedRange])
        else { return nil }
        return (tokens, speed)
    }
}
