// Example-SpeculativeCombo: the paper's Section 5.4 claim, that PPD is orthogonal to other ways
// of guessing (up to 1.22x on top of speculative decoding alone), on this machine with the
// drafters it has: the prompt tokens' guesses alone, prompt-lookup drafts alone (n-gram matches
// in the prompt and the text so far, a training-free speculative decoder), Medusa-style heads
// alone (the shipped ones, their tree sized on this machine), prompt tokens + prompt lookup
// merged into one verification tree (the tools' default), the same merge with the draft's last
// token carrying the prompt tokens (`--draft-prompt-tokens`), and all three merged, each against
// plain decoding, per benchmark; the table gives the speedup of each merge over the best single
// drafter.
//
//   swift run -c release Example-SpeculativeCombo                  # 4 questions x 4 benchmarks, 64 tokens
//   swift run -c release Example-SpeculativeCombo --bench mt_bench --questions 20 --max-tokens 96 --rounds 2

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct SpeculativeCombo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-SpeculativeCombo", abstract: "Prompt tokens, prompt lookup and both in one tree, per benchmark (Section 5.4).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Longest prompt-lookup draft (tokens), as ppd generate's --lookup-length.")
    var lookupLength = 6
    @Option(help: "Medusa-style heads (default: the shipped ones).")
    var medusa: String?

    func run() throws {
        let prefix = try output.prefix(default: "Experiments/results/speculative-combo")
        let s = try session.makeSession()
        let lookup = try PromptLookupDrafter(ngramSizes: 1...3, draftLength: lookupLength, branches: 1)
        let tree = try s.sizing().best().tree
        let (heads, headsPath) = try s.medusaHeads(path: medusa)
        let medusaDrafter = try s.medusaDrafter(heads, path: headsPath)
        let medusaRows = medusaDrafter.paths.count
        let methods = [
            DecodingMethod.autoregressive(s.model, name: "plain"),
            .promptDecoding(try s.decoder(tree: tree), name: "prompt tokens", attributes: ["drafters": .string("prompt tokens")]),
            .promptDecoding(
                try s.decoder(tree: .rootOnly, drafter: lookup, draftRows: lookupLength), name: "prompt lookup",
                attributes: ["drafters": .string("prompt lookup")]),
            .promptDecoding(
                try s.decoder(tree: .rootOnly, drafter: medusaDrafter, draftRows: medusaRows), name: "Medusa heads",
                attributes: ["drafters": .string("Medusa-style heads")]),
            .promptDecoding(
                try s.decoder(tree: tree, drafter: lookup, draftRows: lookupLength), name: "merged",
                attributes: ["drafters": .string("prompt tokens + prompt lookup")]),
            .promptDecoding(
                try s.decoder(tree: tree, drafter: lookup, draftRows: lookupLength, draftCarriesPromptTokens: true),
                name: "merged, drafts carry prompt tokens",
                attributes: ["drafters": .string("prompt tokens + prompt lookup, the draft's last token carrying the prompt tokens")]),
            .promptDecoding(
                try s.decoder(tree: tree, drafter: DrafterGroup([lookup, medusaDrafter]), draftRows: lookupLength + medusaRows),
                name: "merged + Medusa", attributes: ["drafters": .string("prompt tokens + prompt lookup + Medusa-style heads")]),
        ]
        let count = selection.questionCount(default: 4), maxTokens = selection.tokens(default: 64)
        var parts: [(name: String, result: ExperimentResultFile)] = []
        for bench in selection.benchmarks(default: Benchmark.allCases) {
            note("\(bench.rawValue): \(count) questions, \(maxTokens) tokens, \(selection.rounds) round(s)")
            let questions = try selection.pick(from: bench, count: count)
            let summaries = try SideBySide(methods, rounds: selection.rounds).run(
                prompts: s.prompts(questions, from: bench), options: { _ in s.options(maxTokens: maxTokens) }, progress: note)
            parts.append((bench.rawValue, ExperimentResultFile(
                settings: ["bench": .string(bench.rawValue)], questions: questions, methods: methods, summaries: summaries)))
        }

        let caption = "\(count) questions per benchmark (offset \(selection.offset)), \(maxTokens) tokens, greedy, \(selection.rounds) round(s); \(s.describeMachine())"
        let table = try makeTable(parts, caption: caption)
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        var settings = s.settings()
        settings["max_tokens"] = .int(Int64(maxTokens))
        settings["lookup_length"] = .int(Int64(lookupLength))
        settings["medusa_heads"] = .string(headsPath)
        try ExperimentResultFile.write(parts: parts, settings: settings, to: prefix + ".h5")
        try BarChart(
            title: "Speedup over plain decoding: each drafter alone and merged (\(maxTokens) tokens x \(count) questions)",
            yLabel: "speedup (tok/s ratio)", categories: parts.map(\.name),
            series: methods.dropFirst().map { method in
                BarChart.Series(name: method.name, values: parts.map { part in
                    let summaries = part.result.methods.map(\.summary)
                    return part.result.methods.firstIndex { $0.name == method.name }.map { summaries[$0].speedup(over: summaries[0]) } ?? .nan
                })
            },
            reference: 1, caption: caption
        ).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// One row per benchmark: each method's speedup over plain decoding (tau), and each merge's
    /// speedup over the fastest single drafter on the same questions.
    func makeTable(_ parts: [(name: String, result: ExperimentResultFile)], caption: String) throws -> ResultTable {
        var table = ResultTable(
            columns: [
                "benchmark", "plain tok/s", "prompt tokens", "prompt lookup", "Medusa heads", "merged", "merged, chain on draft",
                "merged + Medusa", "merged / best single", "chain on draft / best single", "merged + Medusa / best single",
                "same as plain",
            ],
            notes: [caption, "speedup over plain decoding (median over questions of the per-question tok/s ratio), tau in brackets; merged = prompt tokens + prompt lookup (the default); chain on draft: the same with the draft's last token carrying the prompt tokens (--draft-prompt-tokens); paper (Section 5.4): up to 1.22x over speculative decoding alone"])
        for (name, result) in parts {
            let summaries = result.methods.map(\.summary)
            let plain = summaries[0]
            func cell(_ k: Int) -> String { String(format: "%.2fx (%.2f)", summaries[k].speedup(over: plain), summaries[k].tau) }
            let best = [1, 2, 3].max { summaries[$0].speedup(over: plain) < summaries[$1].speedup(over: plain) }!
            func overBest(_ k: Int) -> String { String(format: "%.2fx over %@", summaries[k].speedup(over: summaries[best]), result.methods[best].name) }
            try table.append([
                name, String(format: "%.1f", plain.tokensPerSecond), cell(1), cell(2), cell(3), cell(4), cell(5), cell(6),
                overBest(4), overBest(5), overBest(6),
                summaries.dropFirst().allSatisfy { $0.sameTokens(as: plain) } ? "yes" : "NO",
            ])
        }
        return table
    }
}
