import Decoding
import Foundation
import Tokenizer

/// llama.cpp's own programs as external anchors of a side-by-side comparison (built outside the
/// repository, `../shared/tools/build-llama-cpp.sh`): `llama-simple` (plain greedy decoding) and
/// `llama-lookup` (its training-free prompt-lookup decoding). Each run starts the program on the
/// prompt's text and reads the decode speed it reports; the run has no tokens of ours, so it
/// counts only as a speed (one step per decoded token, tau 1).
public struct LlamaCppPeer {
    /// The directory holding the programs and their shared libraries.
    public let directory: URL
    public let modelPath: String
    public let threads: Int

    /// Throws, naming the directory, unless both programs are there.
    public init(directory: String, modelPath: String, threads: Int) throws {
        self.directory = URL(fileURLWithPath: directory)
        self.modelPath = modelPath
        self.threads = threads
        for program in ["llama-simple", "llama-lookup"] where !FileManager.default.isExecutableFile(atPath: self.directory.appendingPathComponent(program).path) {
            throw EvaluationError(file: directory, "no executable \(program) here (../shared/tools/build-llama-cpp.sh DIR builds llama.cpp's programs)")
        }
    }

    /// Plain greedy decoding with `llama-simple` (the prompt as text, decoded from its tokens).
    public func plain(tokenizer: SentencePieceTokenizer, name: String = "llama.cpp plain") -> DecodingMethod {
        DecodingMethod(name: name, attributes: ["kind": .string("external"), "program": .string("llama-simple")]) { prompt, options in
            try self.run("llama-simple", ["-m", modelPath, "-n", String(options.maxTokens), Self.text(prompt, tokenizer)], options)
        }
    }

    /// `llama-lookup` with drafts of up to `draft` tokens (`--spec-draft-n-max`).
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

    /// "decoded N tokens in S seconds, speed: X t/s" (llama-lookup) or "decoded N tokens in S s,
    /// speed: X t/s" (llama-simple): N and X.
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
