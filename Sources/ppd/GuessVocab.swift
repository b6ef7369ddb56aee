import ArgumentParser
import Foundation
import CommandOptions
import PPD

struct GuessVocab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guess-vocab",
        abstract: "Count token frequencies in ShareGPT conversations and write the guess vocabulary (the tokens prompt-token guesses are ranked among).",
        discussion: """
            Every turn (user and assistant) of the first --conversations conversations is tokenized with the model's \
            tokenizer and counted; the --size most frequent tokens are written, most frequent first, with their counts \
            (format ppd-guess-vocab/1). `ppd generate --ppd --guess-vocab FILE --guess-head-size K` then ranks guesses \
            among the K most frequent; the output is unchanged, a step gets cheaper.
            """)

    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?
    @Option(help: "ShareGPT JSON file.")
    var data = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ppd/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json").path
    @Option(help: "Conversations to count (from the start of the file).")
    var conversations = 20_000
    @Option(help: "Most tokens to keep.")
    var size = 65_536
    @Option(help: "Where to write the vocabulary (JSON).")
    var out: String

    func run() throws {
        guard conversations > 0, size > 0 else { throw ValidationError("--conversations and --size must be positive") }
        let outURL = URL(fileURLWithPath: out)
        guard FileManager.default.fileExists(atPath: outURL.deletingLastPathComponent().path) else {
            throw ValidationError("--out: the directory \(outURL.deletingLastPathComponent().path) does not exist")
        }
        let path = try ModelLocation.resolve(model)
        let file = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let vocabSize = try Transformer(file: file, threads: 1).config.vocabSize
        let contents = try ShareGPT.read(contentsOf: URL(fileURLWithPath: data), limit: conversations)
        var counts = [Int](repeating: 0, count: vocabSize)
        let started = ContinuousClock.now
        var characters = 0
        for (index, conversation) in contents.conversations.enumerated() {
            for turn in conversation.turns {
                characters += turn.text.utf8.count
                for token in tokenizer.encode(turn.text, addSpecial: false) where Int(token) < vocabSize { counts[Int(token)] += 1 }
            }
            if (index + 1) % 200 == 0 || index + 1 == contents.conversations.count {
                let seconds = started.secondsSince()
                let rate = Double(index + 1) / seconds
                FileHandle.standardError.write(Data(String(
                    format: "\rconversation %d/%d, %.0f/s (%.1f MB/s), ETA %.0f s   ", index + 1, contents.conversations.count, rate,
                    Double(characters) / seconds / 1e6, Double(contents.conversations.count - index - 1) / rate).utf8))
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let vocabulary = GuessVocabulary(
            counts: counts, limit: size, modelSHA256: try FileDigest.sha256(ofFile: path),
            source: "every turn of the first \(contents.conversations.count) conversations of \(URL(fileURLWithPath: data).lastPathComponent)")
        try vocabulary.write(to: outURL)
        print("\(vocabulary.countedTokens) tokens counted, \(counts.filter { $0 > 0 }.count) distinct; kept \(vocabulary.tokens.count) in \(out)")
        for k in [4096, 8192, 16384, 32768, 65536] where k <= vocabulary.tokens.count {
            print(String(format: "  %6d most frequent cover %.4f of the counted text", k, vocabulary.coverage(size: k)))
        }
    }
}
