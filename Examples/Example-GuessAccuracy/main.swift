// Example-GuessAccuracy: the paper's Fig. 6 on this machine. How often the prompt tokens' top-k
// guesses contain the model's own greedy token at distances 1, 2, 3, for several sets of
// prompt tokens measured on the same greedy continuations of Alpaca Eval questions (the
// paper's eval.py): the shipped trained tokens (also ranked among the guess head's tokens, as
// generation ranks them), the untrained text initialisation, and the shipped runs with 2 and 3
// virtual tokens per prompt token (Fig. 6b's trend), beside the paper's Vicuna-7B accuracies.
//
//   swift run -c release Example-GuessAccuracy                         # 20 Alpaca Eval questions
//   swift run -c release Example-GuessAccuracy --tokens my.safetensors --questions 40

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct GuessAccuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-GuessAccuracy", abstract: "Cumulative top-k guess accuracy by distance for several prompt-token sets (Fig. 6).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Cuts per question (positions in the reply where the guesses are scored).")
    var cuts = 16
    @Option(help: "Seed of the cuts.")
    var seed: UInt64 = 0
    @Option(help: "Another prompt-token file to measure (repeatable).")
    var tokens: [String] = []

    /// The paper's Vicuna-7B cumulative accuracies at top-1/3/5/10 by distance, derived from its
    /// tree file (shared reference, paper-experiments.md section 4).
    static let vicuna7B: [[Double]] = [[0.483, 0.700, 0.777, 0.846], [0.263, 0.489, 0.590, 0.704], [0.164, 0.363, 0.466, 0.599]]
    static let shownRanks = [1, 3, 5, 10]

    func run() throws {
        let bench = try selection.single(default: .alpacaEval)
        let prefix = try output.prefix(default: "Experiments/results/guess-accuracy")
        let s = try session.makeSession()
        let questions = try selection.pick(from: bench, count: selection.questionCount(default: 20))
        let evaluation = try GuessAccuracyEvaluation(
            model: s.model, tokenizer: s.tokenizer, questions: questions.map(\.text), template: .plain,
            replyTokens: selection.tokens(default: 64), cutsPerQuestion: cuts, seed: seed, modelSHA256: s.modelSHA256, progress: note)

        var results: [(name: String, file: String, virtualTokens: Int, rankedAmong: String, result: GuessAccuracyEvaluation.Result)] = []
        for set in try tokenSets(s) {
            note("measuring \(set.name)")
            let result = try evaluation.accuracy(of: set.tokens, rankedAmong: set.head)
            results.append((set.name, set.file, set.tokens.virtualTokens, set.head == nil ? "full vocabulary" : "guess head", result))
        }

        var table = ResultTable(
            columns: ["prompt tokens", "V", "ranked among", "cuts"] + (1...3).flatMap { d in Self.shownRanks.map { "d\(d) top-\($0)" } },
            notes: [
                "\(bench.rawValue), \(questions.count) questions (offset \(selection.offset)), \(evaluation.replyTokens)-token greedy replies, \(cuts) cuts each, seed \(seed); \(s.describeMachine())",
                "cumulative top-k: the k best guesses of prompt token d contain the model's greedy token d places past the cut's next token",
            ])
        for entry in results {
            let cells = entry.result.cumulative.prefix(3).flatMap { row in Self.shownRanks.map { String(format: "%.3f", row[$0 - 1]) } }
            try table.append([entry.name, "\(entry.virtualTokens)", entry.rankedAmong, "\(entry.result.cuts)"] + cells)
        }
        try table.append(["paper: Vicuna-7B (tree file)", "1", "full vocabulary", "-"] + Self.vicuna7B.flatMap { $0.map { String(format: "%.3f", $0) } })
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        try writeHDF5(results, settings: s.settings().merging([
            "bench": .string(bench.rawValue), "questions": .int(Int64(questions.count)), "reply_tokens": .int(Int64(evaluation.replyTokens)),
            "cuts_per_question": .int(Int64(cuts)), "seed": .int(Int64(bitPattern: seed)),
        ]) { $1 }, questions: questions, to: prefix + ".h5")
        try figure(results, caption: s.describeMachine()).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// The sets to measure: the session's tokens over the full vocabulary and on the guess head,
    /// the text initialisation, the shipped V = 2 and V = 3 runs, and every `--tokens` file.
    func tokenSets(_ s: ExperimentSession) throws -> [(name: String, file: String, tokens: PromptTokens, head: GuessHead?)] {
        // Short names for the legend: the file's stem without the model's prefix.
        let stem = { (path: String) in
            URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.replacingOccurrences(of: "gemma-3-270m-", with: "")
        }
        var sets: [(name: String, file: String, tokens: PromptTokens, head: GuessHead?)] = [(stem(s.promptTokensPath), s.promptTokensPath, s.promptTokens, nil)]
        if let head = s.guess?.head { sets.append((stem(s.promptTokensPath) + " (guess head)", s.promptTokensPath, s.promptTokens, head)) }
        let count = s.promptTokens.count
        let text = try PromptTokens.fromText(
            tokenIDs: s.tokenizer.encode(PromptTokens.paperInitialText(count: count), addSpecial: false), count: count, virtualTokens: 1,
            model: s.model)
        sets.append(("text initialisation (untrained)", "", text, nil))
        let shipped = ["Experiments/prompts/gemma-3-270m-3x2-run4.safetensors", "Experiments/prompts/gemma-3-270m-3x3-run5.safetensors"]
        for path in shipped.compactMap(ShippedFiles.locate) + tokens {
            sets.append((stem(path), path, try PromptTokens.load(from: URL(fileURLWithPath: path)), nil))
        }
        return sets
    }

    /// `ppd-guess-accuracy/1`: settings on `/`, `/questions`, and per set `/sets/<name>` with its
    /// file, V, ranking, loss and cut count as attributes and `per_rank` and `cumulative`
    /// (distances x 10) as datasets.
    func writeHDF5(
        _ results: [(name: String, file: String, virtualTokens: Int, rankedAmong: String, result: GuessAccuracyEvaluation.Result)],
        settings: [String: AttributeValue], questions: [BenchmarkQuestion], to path: String
    ) throws {
        let h5 = try HDF5File.create(path: path)
        do {
            for (name, value) in settings.merging(["format": .string("ppd-guess-accuracy/1")], uniquingKeysWith: { $1 }) {
                try h5.setAttribute(name, value)
            }
            try h5.writeStrings("/questions", questions.map(\.text))
            try h5.writeStrings("/question_ids", questions.map(\.id))
            try h5.createGroup("/sets")
            for (order, entry) in results.enumerated() {
                let group = "/sets/" + entry.name.replacingOccurrences(of: "/", with: "_")
                try h5.createGroup(group)
                let attributes: [String: AttributeValue] = [
                    "order": .int(Int64(order)), "file": .string(entry.file), "virtual_tokens": .int(Int64(entry.virtualTokens)),
                    "ranked_among": .string(entry.rankedAmong), "mean_loss": .double(entry.result.meanLoss),
                    "cuts": .int(Int64(entry.result.cuts)), "questions": .int(Int64(entry.result.questions)),
                ]
                for (name, value) in attributes { try h5.setAttribute(name, value, on: group) }
                let shape = [entry.result.perRank.count, entry.result.perRank.first?.count ?? 0]
                try h5.writeDataset(group + "/per_rank", entry.result.perRank.flatMap { $0 }, shape: shape)
                try h5.writeDataset(group + "/cumulative", entry.result.cumulative.flatMap { $0 }, shape: shape)
            }
            try h5.close()
        } catch {
            h5.discard()
            throw error
        }
    }

    /// Cumulative top-k against k, one panel per distance, one line per set, the paper's
    /// Vicuna-7B points beside them.
    func figure(
        _ results: [(name: String, file: String, virtualTokens: Int, rankedAmong: String, result: GuessAccuracyEvaluation.Result)], caption: String
    ) -> LinePlot {
        let panels = (0..<3).map { d in
            LinePlot.Panel(
                title: "distance \(d + 1)", yLabel: "top-k accuracy",
                series: results.compactMap { entry in
                    guard d < entry.result.cumulative.count else { return nil }
                    return LinePlot.Series(
                        name: entry.name, points: entry.result.cumulative[d].enumerated().map { (x: Double($0.offset + 1), y: $0.element) })
                } + [LinePlot.Series(
                    name: "paper: Vicuna-7B", points: zip(Self.shownRanks, Self.vicuna7B[d]).map { (x: Double($0.0), y: $0.1) }, line: false)])
        }
        return LinePlot(title: "Guess accuracy of prompt tokens (Fig. 6)", xLabel: "k (top-k)", panels: panels, caption: caption)
    }
}
