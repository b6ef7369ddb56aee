// Example-Memory: the paper's Fig. 1 and Fig. 7a on this machine. What PPD adds to the memory
// of plain decoding: the peak resident set of `ppd generate` (one process per run, as a user
// runs it) plain, with the default PPD, with the prompt tokens alone and with prompt lookup
// alone, on the same questions in alternating order; and the bytes PPD's own buffers take
// (prompt tokens, guess head, tree buffers, extra logits rows and cache slots) as the decoder
// reports them, beside the paper's 0.0004% of runtime memory.
//
//   swift run -c release Example-Memory                          # 4 MT-Bench questions, 64 tokens
//   swift run -c release Example-Memory --questions 8 --rounds 2

import ArgumentParser
import CommandOptions
import Foundation
import PPD

@main
struct Memory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Example-Memory", abstract: "Peak resident memory of plain decoding and PPD, and the bytes PPD adds (Fig. 1, Fig. 7a).")

    @OptionGroup var selection: BenchmarkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?
    @Option(help: "The ppd binary to measure (default: the one beside this executable).")
    var ppd: String?

    /// The configurations, as `ppd generate` flags.
    static let configurations: [(name: String, flags: [String])] = [
        ("plain", []), ("ppd (default)", ["--ppd"]), ("ppd, prompt tokens only", ["--ppd", "--no-lookup"]),
        ("prompt lookup only", ["--ppd", "--tree", "none"]),
    ]

    /// One measured run.
    struct Run {
        var peakResidentBytes: Int
        var addedBytes: Int
        var tokensPerSecond: Double
    }

    func run() throws {
        let bench = try selection.single()
        let prefix = try output.prefix(default: "Experiments/results/memory")
        let binary = try locatePPD()
        let modelPath = try ModelLocation.resolve(model)
        let questions = try selection.pick(from: bench, count: selection.questionCount(default: 4))
        let maxTokens = selection.tokens(default: 64)
        func generate(_ flags: [String], _ question: BenchmarkQuestion) throws -> Run {
            try measure(binary, ["generate", "--model", modelPath, "--max-tokens", "\(maxTokens)", "--json", "--prompt", bench.promptText(question)] + flags)
        }
        // Warm-up: caches (model digest, cost profile) are made before anything is measured.
        for configuration in Self.configurations { _ = try generate(configuration.flags, questions[0]) }
        var runs = Self.configurations.map { _ in [Run]() }
        var meter = ProgressMeter(total: questions.count * selection.rounds * Self.configurations.count)
        for (q, question) in questions.enumerated() {
            for round in 0..<selection.rounds {
                for k in Self.configurations.indices {
                    let c = (k + q + round) % Self.configurations.count
                    let run = try generate(Self.configurations[c].flags, question)
                    runs[c].append(run)
                    note(meter.advance(String(format: "question %d, %@: peak %.1f MB", q + 1, Self.configurations[c].name, Double(run.peakResidentBytes) / 1e6)))
                }
            }
        }

        let caption = "\(bench.rawValue), \(questions.count) questions (offset \(selection.offset)), \(maxTokens) tokens, \(selection.rounds) round(s); \(CostProfile.Machine.current(threads: ProcessInfo.processInfo.activeProcessorCount).cpu), \(RunInfo.date()), git \(RunInfo.gitCommit().prefix(10))"
        let table = try makeTable(runs, caption: caption)
        print("\n" + table.text, terminator: "")
        try OutputOptions.write(table.text + "\n" + table.markdown, to: prefix + ".txt")
        try writeHDF5(runs, questions: questions, settings: [
            "bench": .string(bench.rawValue), "max_tokens": .int(Int64(maxTokens)), "rounds": .int(Int64(selection.rounds)),
            "model_path": .string(modelPath), "ppd_binary": .string(binary), "date": .string(RunInfo.date()),
            "git_commit": .string(RunInfo.gitCommit()), "command_line": .string(CommandLine.arguments.joined(separator: " ")),
        ], to: prefix + ".h5")
        let peaks = runs.map { median($0.map { Double($0.peakResidentBytes) / 1e6 }) }
        try BarChart(
            title: "Peak resident memory of ppd generate (median over runs)", yLabel: "MB",
            categories: Self.configurations.map(\.name), series: [BarChart.Series(name: "peak resident set", values: peaks)],
            reference: peaks[0], caption: caption
        ).write(to: URL(fileURLWithPath: prefix + ".svg"))
        note("wrote \(prefix).txt, \(prefix).h5, \(prefix).svg")
    }

    /// One row per configuration: peak resident memory (median, range), its ratio to plain
    /// decoding's, and the bytes PPD's buffers add by the decoder's own account.
    func makeTable(_ runs: [[Run]], caption: String) throws -> ResultTable {
        let plain = median(runs[0].map { Double($0.peakResidentBytes) })
        var table = ResultTable(
            columns: ["configuration", "peak RSS (MB)", "range (MB)", "vs plain", "PPD's buffers (bytes)", "buffers / plain peak", "tok/s"],
            notes: [caption, "peak RSS: VmHWM of each `ppd generate --json` process (median over runs); paper: PPD adds 0.0004% of runtime memory"])
        for (configuration, measured) in zip(Self.configurations, runs) {
            let peaks = measured.map { Double($0.peakResidentBytes) }
            let added = median(measured.map { Double($0.addedBytes) })
            try table.append([
                configuration.name, String(format: "%.1f", median(peaks) / 1e6),
                String(format: "%.1f-%.1f", (peaks.min() ?? 0) / 1e6, (peaks.max() ?? 0) / 1e6),
                String(format: "%+.2f%%", (median(peaks) / plain - 1) * 100),
                configuration.flags.isEmpty ? "-" : String(format: "%.0f", added),
                configuration.flags.isEmpty ? "-" : String(format: "%.3f%%", added / plain * 100),
                String(format: "%.1f", median(measured.map(\.tokensPerSecond))),
            ])
        }
        return table
    }

    /// `ppd-memory/1`: settings on `/`, `/questions`, and per configuration `/configurations/<k>`
    /// with its name and flags as attributes and one value per run (question-major, rounds inner).
    func writeHDF5(_ runs: [[Run]], questions: [BenchmarkQuestion], settings: [String: AttributeValue], to path: String) throws {
        let h5 = try HDF5File.create(path: path)
        do {
            for (name, value) in settings.merging(["format": .string("ppd-memory/1")], uniquingKeysWith: { $1 }) { try h5.setAttribute(name, value) }
            try h5.writeStrings("/questions", questions.map(\.text))
            try h5.createGroup("/configurations")
            for (k, (configuration, measured)) in zip(Self.configurations, runs).enumerated() {
                let group = "/configurations/\(k)"
                try h5.createGroup(group)
                try h5.setAttribute("name", .string(configuration.name), on: group)
                try h5.setAttribute("flags", .string(configuration.flags.joined(separator: " ")), on: group)
                try h5.writeDataset(group + "/peak_resident_bytes", measured.map { Int64($0.peakResidentBytes) })
                try h5.writeDataset(group + "/added_bytes", measured.map { Int64($0.addedBytes) })
                try h5.writeDataset(group + "/tokens_per_second", measured.map(\.tokensPerSecond))
            }
            try h5.close()
        } catch {
            h5.discard()
            throw error
        }
    }

    /// Runs `binary` with `arguments` and reads its `--json` report; a failure names the
    /// command and ends with what it wrote to standard error.
    func measure(_ binary: String, _ arguments: [String]) throws -> Run {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("example-memory-\(UUID()).err")
        guard FileManager.default.createFile(atPath: errors.path, contents: nil) else {
            throw EvaluationError(file: errors.path, "cannot create a file for the child's standard error")
        }
        defer { try? FileManager.default.removeItem(at: errors) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let peak = report["peak_resident_bytes"] as? Int
        else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw EvaluationError(
                file: binary, "`ppd \(arguments.prefix(1).joined()) ...` exited with status \(process.terminationStatus) or wrote no report: \(message.suffix(400))")
        }
        let added = (report["added_memory"] as? [String: Any])?["total"] as? Int ?? 0
        return Run(peakResidentBytes: peak, addedBytes: added, tokensPerSecond: report["decode_tokens_per_second"] as? Double ?? 0)
    }

    /// `--ppd`, or the `ppd` built beside this executable.
    func locatePPD() throws -> String {
        let path = ppd ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("ppd").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw EvaluationError(file: path, "no ppd binary here: `swift build -c release --product ppd` builds it, or name one with --ppd")
        }
        return path
    }
}
