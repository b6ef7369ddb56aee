// Example-Peers: the paper's comparisons with other ways of guessing future tokens (Table 1,
// Fig. 4, Fig. 7b), on this machine: plain decoding; PPD's prompt tokens; Medusa-style heads
// trained here on the same data and budget (`ppd train --medusa`); prompt lookup (n-gram
// drafts, training free); PPD + prompt lookup (the tools' default); and all three in one tree.
// Each drafter runs with a chain (one guess per distance) and with its best tree on this
// machine (Fig. 7b's tree-attention ablation). With --llama-cpp DIR, llama.cpp's llama-lookup
// runs on the same prompts as external anchors, without drafts (its plain decoding) and with.
//
//   swift run -c release Example-Peers                           # MT-Bench, 8 questions, 64 tokens
//   swift run -c release Example-Peers --questions 20 --max-tokens 96 --rounds 2 --llama-cpp ~/.cache/ppd-peers/llama.cpp-bin

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-Peers",
        abstract: "PPD against Medusa-style heads and prompt lookup, each with a chain and its best tree (Table 1, Fig. 4, Fig. 7b).")

    @OptionGroup var session: SessionOptions
    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Medusa-style heads (default: the shipped ones, Experiments/prompts/gemma-3-270m-medusa3.safetensors).")
    var medusa: String?
    @Option(help: "Longest prompt-lookup draft (tokens), as ppd generate's --lookup-length.")
    var lookupLength = 6
    @Option(help: "Directory with llama.cpp's llama-lookup (../shared/tools/build-llama-cpp.sh DIR builds it): adds llama.cpp's plain decoding (no drafts) and prompt lookup as external anchors.")
    var llamaCpp: String?

    func run() throws {
        let prefix = try output.prefix(default: "Experiments/results/peers")
        let s = try session.makeSession()
        let (heads, headsPath) = try s.medusaHeads(path: medusa)
        let methods = try makeMethods(s, heads: heads, headsPath: headsPath)
        let count = selection.questionCount(default: 8), maxTokens = selection.tokens(default: 64)
        var parts: [(name: String, result: ExperimentResultFile)] = []
        var memory: [String: Int] = [:]
        for bench in selection.benchmarks(default: [.mtBench]) {
            note("\(bench.rawValue): \(count) questions, \(maxTokens) tokens, \(selection.rounds) round(s), \(methods.count) methods")
            let questions = try selection.pick(from: bench, count: count)
            let prompts = s.prompts(questions, from: bench)
            let summaries = try SideBySide(methods.map(\.method), rounds: selection.rounds).run(
                prompts: prompts, options: { _ in s.options(maxTokens: maxTokens) }, progress: note)
            parts.append((bench.rawValue, ExperimentResultFile(
                settings: ["bench": .string(bench.rawValue)], questions: questions, methods: methods.map(\.method), summaries: summaries)))
            // Memory PPD-style decoding adds for the longest prompt of the benchmark.
            let longest = prompts.map(\.count).max() ?? 1
            for entry in methods {
                guard let decoder = entry.decoder else { continue }
                memory[entry.method.name] = max(
                    memory[entry.method.name] ?? 0,
                    decoder.addedMemory(promptLength: longest, maxTokens: maxTokens, policy: GreedyAcceptance()).total)
            }
        }

        let caption = "\(count) questions per benchmark (offset \(selection.offset)), \(maxTokens) tokens, greedy, \(selection.rounds) round(s); \(s.describeMachine())"
        let table = try makeTable(parts, memory: memory, caption: caption)
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        var settings = s.settings()
        settings["max_tokens"] = .int(Int64(maxTokens))
        settings["lookup_length"] = .int(Int64(lookupLength))
        settings["medusa_heads"] = .string(headsPath)
        try ExperimentResultFile.write(parts: parts, settings: settings, to: prefix + ".h5")
        try BarChart(
            title: "Speedup over plain decoding by drafter, chain and best tree (\(maxTokens) tokens x \(count) questions)",
            yLabel: "speedup (tok/s ratio)", categories: parts.map(\.name),
            series: methods.dropFirst().map { entry in
                BarChart.Series(name: entry.method.name, values: parts.map { part in
                    let summaries = part.result.methods.map(\.summary)
                    return part.result.methods.firstIndex { $0.name == entry.method.name }.map { summaries[$0].speedup(over: summaries[0]) } ?? .nan
                })
            },
            reference: 1, caption: caption
        ).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// The compared methods, plain decoding first; `decoder` is nil for plain and external ones.
    func makeMethods(_ s: ExperimentSession, heads: MedusaHeads, headsPath: String) throws -> [(method: DecodingMethod, decoder: PromptDecoder?)] {
        let n = s.promptTokens.count
        let chain = try DynamicTree.chain(promptTokens: n)
        let bestTree = try s.sizing().best().tree
        let medusaChain = try s.medusaDrafter(heads, path: headsPath, tree: try TokenTree(paths: (1...heads.count).map { Array(repeating: 0, count: $0) }))
        let medusaBest = try s.medusaDrafter(heads, path: headsPath)
        let medusaBestRows = medusaBest.paths.count
        let lookupChain = try PromptLookupDrafter(ngramSizes: 1...3, draftLength: lookupLength, branches: 1)
        let lookupTree = try PromptLookupDrafter(ngramSizes: 1...3, draftLength: lookupLength, branches: 3)
        func ppd(_ name: String, _ tree: DynamicTree, _ drafter: (any TokenDrafter)?, rows: Int, drafters: String) throws -> (DecodingMethod, PromptDecoder?) {
            let decoder = try s.decoder(tree: tree, drafter: drafter, draftRows: rows)
            return (.promptDecoding(decoder, name: name, attributes: ["drafters": .string(drafters), "draft_rows": .int(Int64(rows))]), decoder)
        }
        var methods: [(method: DecodingMethod, decoder: PromptDecoder?)] = [
            (.autoregressive(s.model, name: "plain"), nil),
            try ppd("PPD chain", chain, nil, rows: 0, drafters: "prompt tokens"),
            try ppd("PPD tree", bestTree, nil, rows: 0, drafters: "prompt tokens"),
            try ppd("Medusa chain", .rootOnly, medusaChain, rows: heads.count, drafters: "Medusa-style heads"),
            try ppd("Medusa tree", .rootOnly, medusaBest, rows: medusaBestRows, drafters: "Medusa-style heads"),
            try ppd("lookup chain", .rootOnly, lookupChain, rows: lookupLength, drafters: "prompt lookup"),
            try ppd("lookup tree", .rootOnly, lookupTree, rows: 3 * lookupLength, drafters: "prompt lookup"),
            try ppd("PPD+lookup chain", chain, lookupChain, rows: lookupLength, drafters: "prompt tokens + prompt lookup"),
            try ppd("PPD+lookup tree (default)", bestTree, lookupChain, rows: lookupLength, drafters: "prompt tokens + prompt lookup"),
            try ppd(
                "PPD+lookup+Medusa", bestTree, DrafterGroup([lookupChain, medusaBest]), rows: lookupLength + medusaBestRows,
                drafters: "prompt tokens + prompt lookup + Medusa-style heads"),
        ]
        if let llamaCpp {
            let peer = try LlamaCppPeer(directory: llamaCpp, modelPath: s.modelPath, threads: s.model.pool.threadCount)
            methods += [(peer.plain(tokenizer: s.tokenizer), nil), (peer.lookup(tokenizer: s.tokenizer), nil)]
        }
        return methods
    }

    /// One row per benchmark and method: tok/s, tau, speedup over plain, bytes added to plain
    /// decoding, and whether every output equals plain decoding's.
    func makeTable(_ parts: [(name: String, result: ExperimentResultFile)], memory: [String: Int], caption: String) throws -> ResultTable {
        var table = ResultTable(
            columns: ["benchmark", "method", "tok/s", "tau", "speedup", "added bytes", "same as plain"],
            notes: [
                caption,
                "speedup: median over questions of the per-question tok/s ratio to plain decoding; added bytes: what the method holds beyond plain decoding (prompt tokens or heads, guess head, tree buffers, logits, cache slots) for the longest prompt; llama.cpp rows are external anchors (their own tokenization; tau and equality not measured)",
            ])
        for (name, result) in parts {
            let summaries = result.methods.map(\.summary)
            let plain = summaries[0]
            for (k, method) in result.methods.enumerated() {
                let external = method.attributes["kind"] == .string("external")
                try table.append([
                    name, method.name, String(format: "%.1f", summaries[k].tokensPerSecond),
                    external ? "-" : String(format: "%.2f", summaries[k].tau), String(format: "%.2fx", summaries[k].speedup(over: plain)),
                    k == 0 || external ? "-" : String(memory[method.name] ?? 0),
                    k == 0 ? "-" : external ? "-" : summaries[k].sameTokens(as: plain) ? "yes" : "NO",
                ])
            }
        }
        return table
    }
}
