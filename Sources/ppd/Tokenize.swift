import ArgumentParser
import CommandOptions
import PPD

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids and pieces of a text.")

    @Argument(help: "GGUF file whose vocabulary to use.")
    var model: String

    @Argument(help: "Text to tokenize.")
    var text: String

    @Flag(help: "Do not add BOS/EOS.")
    var noSpecial = false

    @Flag(help: "Print only the ids, space-separated.")
    var idsOnly = false

    func run() throws {
        let tokenizer = try SentencePieceTokenizer(gguf: try GGUFFile(path: try ModelLocation.resolve(model)))
        let ids = tokenizer.encode(text, addSpecial: !noSpecial)
        if idsOnly {
            print(ids.map(String.init).joined(separator: " "))
            return
        }
        for id in ids { print("\(id)\t\(tokenizer.piece(for: id).debugDescription)") }
        print("\(ids.count) tokens")
    }
}
