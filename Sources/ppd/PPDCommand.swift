import ArgumentParser

/// The `ppd` command-line tool.
@main
struct PPDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppd",
        abstract: "Parallel prompt decoding toolkit: inspect GGUF models, tokenize, generate, serve, benchmark.",
        subcommands: [Generate.self, Train.self, EvalGuesses.self, GuessVocab.self, BuildTree.self, Serve.self, Inspect.self, Tokenize.self, Bench.self, BenchKernels.self])
}
