import ArgumentParser
import PPD

/// Which tokens the prompt-token rows rank their guesses among (the guess head), the same in
/// `ppd generate`, `serve`, `train`, `eval-guesses`, `build-tree` and every example.
public struct GuessHeadOptions: ParsableArguments {
    @Option(help: "Guess vocabulary (ppd-guess-vocab/1 JSON from `ppd guess-vocab`), or \"none\": prompt-token rows rank (and train, and are priced for) their guesses among its --guess-head-size most frequent tokens, which makes a row cheaper and never changes the output; \"none\": the full vocabulary, the paper's setting. Default: the shipped vocabulary when present and made for this model, else none.")
    public var guessVocab: String?

    @Option(help: "Tokens of the guess head: the most frequent of the guess vocabulary.")
    public var guessHeadSize = Defaults.guessHeadSize

    public init() {}

    public func validate() throws {
        guard guessHeadSize >= 1 else { throw ValidationError("--guess-head-size must be >= 1") }
    }

    /// The head these options name for `model` (nil: the full vocabulary), with its file;
    /// `note` hears why a default vocabulary was not used.
    public func head(model: Transformer, modelSHA256: String?, note: (String) -> Void) throws -> (head: GuessHead, file: String)? {
        try Defaults.guessHead(option: guessVocab, size: guessHeadSize, model: model, modelSHA256: modelSHA256, note: note)
    }
}
