import Foundation
import PPD

extension Generate {
    /// `--prompts FILE --batch B`: every prompt of a JSON Lines file, B sharing each forward pass;
    /// one JSON line per prompt on standard output as it finishes, progress on standard error.
    func generateBatched(texts: [String], transformer: Transformer, tokenizer: SentencePieceTokenizer, options: GenerationOptions) throws {
        let prompts = texts.map { tokenizer.encode($0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let start = ContinuousClock.now
        var done = 0, generated = 0
        _ = try BatchGenerator(model: transformer).generate(prompts: prompts, options: options, batchSize: batch) { index, result in
            done += 1
            generated += result.tokens.count
            let line = BatchedReply(
                index: index, prompt: texts[index], text: tokenizer.decode(result.tokens), promptTokens: result.promptTokens.count,
                tokens: result.tokens, stopReason: result.stopReason.rawValue)
            if let data = try? encoder.encode(line), let json = String(data: data, encoding: .utf8) { print(json) }
            fflush(stdout)
            let seconds = start.secondsSince()
            let rate = Double(done) / max(seconds, 1e-9)
            FileHandle.standardError.write(Data(String(
                format: "\r[%d/%d replies, %.2f replies/s, %.1f tokens/s, ETA %.0f s]", done, prompts.count, rate,
                Double(generated) / max(seconds, 1e-9), Double(prompts.count - done) / max(rate, 1e-9)).utf8))
        }
        FileHandle.standardError.write(Data(String(
            format: "\n[%d prompts, batch %d: %.1f s, %.2f replies/s, %.1f generated tokens/s]\n", prompts.count, batch,
            start.secondsSince(), Double(prompts.count) / max(start.secondsSince(), 1e-9),
            Double(generated) / max(start.secondsSince(), 1e-9)).utf8))
    }

    /// The prompts of a JSON Lines file: one object with a string "prompt" per non-empty line.
    /// Errors name the file and the line.
    static func readPrompts(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw EvaluationError(file: path, "cannot read the prompt file (missing, unreadable or not UTF-8)")
        }
        var prompts: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let prompt = object["prompt"] as? String
            else {
                throw EvaluationError(file: path, "line \(number + 1): expected a JSON object with a string \"prompt\"")
            }
            prompts.append(prompt)
        }
        guard !prompts.isEmpty else { throw EvaluationError(file: path, "no prompts") }
        return prompts
    }
}

/// One line of `ppd generate --prompts` output.
struct BatchedReply: Encodable {
    let index: Int
    let prompt: String
    let text: String
    let promptTokens: Int
    let tokens: [Int32]
    let stopReason: String

    enum CodingKeys: String, CodingKey {
        case index, prompt, text, promptTokens = "prompt_tokens", tokens, stopReason = "stop_reason"
    }
}
