import ArgumentParser
import PPD

/// The model and the trained prompt tokens an experiment loads, with the tools' defaults
/// (`ExperimentSession`): one meaning per flag in every example.
public struct SessionOptions: ParsableArguments {
    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    public var model: String?

    @Option(help: "Trained prompt tokens (safetensors). Default: the shipped tokens of the default model, found from any directory.")
    public var promptTokens: String?

    @Option(help: "Their guess-accuracy table (default: <prompt tokens stem>-accuracy.json beside them).")
    public var accuracies: String?

    @OptionGroup public var guess: GuessHeadOptions

    @OptionGroup public var compute: ComputeOptions

    public init() {}

    /// The session these options describe; notes (profiling, fallbacks) go to standard error.
    public func makeSession() throws -> ExperimentSession {
        try makeSession(arithmetic: compute.arithmetic, threads: compute.threads)
    }

    /// The same session on another arithmetic and thread count (another "hardware point").
    public func makeSession(arithmetic: MatrixArithmetic, threads: Int?) throws -> ExperimentSession {
        try ExperimentSession(
            model: model, promptTokens: promptTokens, accuracies: accuracies, guessVocabulary: guess.guessVocab,
            guessHeadSize: guess.guessHeadSize, arithmetic: arithmetic, threads: threads, progress: note)
    }
}
