import Decoding
import Evaluation
import Foundation
import Models
import Store
import TestSupport
import XCTest

/// The experiment layer: shipped files from any directory, the question rule, tables, one timing
/// rule for plain and prompt decoding, side-by-side runs and result files read back exactly.
final class EvaluationTests: XCTestCase {
    let relative = "Experiments/prompts/gemma-3-270m-3x1-run7.safetensors"

    func testShippedFilesAreFoundFromAnyDirectoryAndMissingOnesNamed() throws {
        let root = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(root) }
        XCTAssertEqual(ShippedFiles.locate(relative), relative)
        // From a directory inside the checkout (walking up) and from one outside it.
        for directory in [root + "/Sources/Evaluation", FileManager.default.temporaryDirectory.path] {
            XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
            let found = try XCTUnwrap(ShippedFiles.locate(relative), directory)
            XCTAssertTrue(found.hasPrefix("/") && FileManager.default.fileExists(atPath: found), found)
            XCTAssertEqual(try Benchmark.mtBench.allQuestions().count, 80)
        }
        XCTAssertNil(ShippedFiles.locate("Experiments/no-such-file"))
        XCTAssertThrowsError(try ShippedFiles.require("Experiments/no-such-file")) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("Experiments/no-such-file") && text.contains(ShippedFiles.environmentVariable), text)
        }
    }

    func testQuestionsAreSpreadEvenlyAndOffsetsGiveOtherQuestions() throws {
        let all = Array(0..<80)
        XCTAssertEqual(QuestionSelection.evenlySpread(all, count: 4), [0, 20, 40, 60])
        XCTAssertEqual(QuestionSelection.evenlySpread(all, count: 4, offset: 3), [3, 23, 43, 63])
        XCTAssertEqual(QuestionSelection.evenlySpread(all, count: 4, offset: 23), [3, 23, 43, 63])
        XCTAssertEqual(QuestionSelection.evenlySpread(all, count: 100), all)
        XCTAssertEqual(QuestionSelection.evenlySpread([Int](), count: 3), [])
        XCTAssertEqual(QuestionSelection.evenlySpread(all, count: 0), [])
        XCTAssertEqual(QuestionSelection.evenlySpread(Array(0..<3), count: 5, offset: 1), [1, 2])
        let picked = try Benchmark.mtBench.questions(8)
        XCTAssertEqual(picked.count, 8)
        XCTAssertEqual(Set(picked.map(\.category)).count, 8, "MT-Bench is sorted by category: one question each")
    }

    func testBenchmarkPromptsAndTemperaturesFollowOneRule() throws {
        XCTAssertThrowsError(try Benchmark.named("mtbench")) { XCTAssertTrue("\($0)".contains("mt_bench"), "\($0)") }
        XCTAssertEqual(try Benchmark.named("gsm8k"), .gsm8k)
        let question = BenchmarkQuestion(id: "1", category: "writing", text: "Write a poem.")
        XCTAssertEqual(Benchmark.mtBench.promptText(question), "User: Write a poem.\nAssistant:")
        XCTAssertEqual(Benchmark.humanEval.promptText(question), "Write a poem.")
        XCTAssertEqual(Benchmark.mtBench.temperature(for: question), 0.7)
        XCTAssertEqual(Benchmark.mtBench.temperature(for: BenchmarkQuestion(id: "2", category: "math", text: "")), 0)
        XCTAssertEqual(Benchmark.mtBench.temperature(for: BenchmarkQuestion(id: "3", category: "stem", text: "")), 0.1)
        XCTAssertEqual(Benchmark.alpacaEval.temperature(for: question), 0)
        for benchmark in Benchmark.allCases { XCTAssertFalse(try benchmark.allQuestions().isEmpty, benchmark.rawValue) }
    }

    func testTablesRenderAsTextAndMarkdown() throws {
        var table = ResultTable(columns: ["method", "tok/s"], notes: ["bench x"])
        try table.append(["autoregressive", "60.1"])
        try table.append(["ppd|chain"])
        XCTAssertThrowsError(try table.append(["a", "b", "c"]))
        XCTAssertEqual(table.text, "bench x\nmethod          tok/s\nautoregressive   60.1\nppd|chain            \n")
        XCTAssertEqual(table.markdown, "bench x\n\n| method | tok/s |\n|---|---:|\n| autoregressive | 60.1 |\n| ppd\\|chain |  |\n")
    }

    /// A tiny model, plain decoding and prompt decoding with a chain side by side: the greedy
    /// tokens agree, both follow the one timing rule, the order rotates, and the result file
    /// reads back exactly.
    func testSideBySideRunsAreComparableAndTheResultFileReadsBack() throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 20
        spec.context = 128
        let model = try ModelLoader.load(path: try spec.write(), threads: 2)
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 3, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try .chain(promptTokens: 2))
        var order: [String] = []
        func logged(_ method: DecodingMethod) -> DecodingMethod {
            DecodingMethod(name: method.name, attributes: method.attributes) { order.append(method.name); return try method.generate($0, $1) }
        }
        let methods = [logged(.autoregressive(model)), logged(.promptDecoding(decoder, name: "ppd-chain"))]
        let prompts: [[Int32]] = [[2, 5, 9, 4, 7], [2, 11, 6], [2, 8, 8, 13, 4, 5]]
        var lines: [String] = []
        let summaries = try SideBySide(methods, rounds: 2, warmUpTokens: 4).run(
            prompts: prompts, options: { _ in GenerationOptions(maxTokens: 24) }, progress: { lines.append($0) })
        XCTAssertEqual(lines.count, 12)
        XCTAssertTrue(lines.last!.hasPrefix("[12/12, ") && lines.last!.contains("runs/s, ETA 0 s]"), lines.last!)
        // Warm-up, then per question and round the first method rotates: q0r0 AR, q0r1 PPD, q1r0 PPD, ...
        XCTAssertEqual(Array(order.prefix(2)), ["autoregressive", "ppd-chain"])
        XCTAssertEqual(Array(order.dropFirst(2).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)),
            ["autoregressive", "ppd-chain", "ppd-chain", "autoregressive", "autoregressive", "ppd-chain"])
        let (plain, ppd) = (summaries[0], summaries[1])
        XCTAssertTrue(ppd.sameTokens(as: plain))
        for run in plain.runs.flatMap({ $0 }) {
            XCTAssertEqual(run.tokens.count, 24)
            XCTAssertEqual(run.steps.count, 23)
            XCTAssertEqual(run.decodeTokens, 23)
            XCTAssertEqual(run.tau, 1)
            XCTAssertTrue(run.steps.allSatisfy { $0.rows == 1 && $0.seconds >= $0.forwardSeconds && $0.forwardSeconds > 0 })
        }
        for run in ppd.runs.flatMap({ $0 }) {
            XCTAssertEqual(run.decodeTokens, run.tokens.count - 1, "tokens after the prefill's, as for plain decoding")
            XCTAssertTrue(run.steps.allSatisfy { $0.rows > 1 + $0.nodes && $0.seconds >= $0.forwardSeconds })
        }
        XCTAssertGreaterThan(plain.tokensPerSecond, 0)
        XCTAssertEqual(plain.speedup(over: plain), 1)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("experiment-\(UUID()).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let questions = prompts.indices.map { BenchmarkQuestion(id: "\($0)", category: "c\($0)", text: "question \($0)") }
        try ExperimentResultFile(settings: ["bench": .string("tiny")], questions: questions, methods: methods, summaries: summaries)
            .write(to: path)
        let back = try ExperimentResultFile.read(from: path)
        XCTAssertEqual(back.settings["bench"], .string("tiny"))
        XCTAssertEqual(back.settings["format"], .string(ExperimentResultFile.format))
        XCTAssertEqual(back.questions, questions)
        XCTAssertEqual(back.methods.map(\.name), ["autoregressive", "ppd-chain"])
        XCTAssertEqual(back.methods[1].attributes["kind"], .string("ppd"))
        XCTAssertEqual(back.methods[1].attributes["identical_to_baseline"], .bool(true))
        for (read, written) in zip(back.methods.map(\.summary), summaries) {
            XCTAssertEqual(read.runs.map { $0.map(\.tokens) }, written.runs.map { $0.map(\.tokens) })
            XCTAssertEqual(read.runs.map { $0.map(\.prompt) }, written.runs.map { $0.map(\.prompt) })
            XCTAssertEqual(read.runs.map { $0.map(\.steps) }, written.runs.map { $0.map(\.steps) })
            XCTAssertEqual(read.tokensPerSecond, written.tokensPerSecond)
        }
        // Another HDF5 file is refused by name.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("other-\(UUID()).h5").path
        defer { try? FileManager.default.removeItem(atPath: other) }
        let h5 = try HDF5File.create(path: other)
        try h5.setAttribute("format", .string("ppd-tree-ablation/1"))
        try h5.close()
        XCTAssertThrowsError(try ExperimentResultFile.read(from: other)) { XCTAssertTrue("\($0)".contains(other), "\($0)") }
    }

    /// README's "Experiments from code" example, from a directory outside the checkout, on the
    /// real model: the session finds the shipped prompt tokens and guess head, and greedy PPD
    /// (hardware-aware tree, guess head, prompt lookup) gives plain decoding's tokens.
    func testReadmeExperimentRunsFromAnotherDirectoryOnTheRealModel() throws {
        guard FileManager.default.fileExists(atPath: try ModelLocation.resolve(nil)) else {
            throw XCTSkip("the default model is not present (make model)")
        }
        let root = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(root) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(FileManager.default.temporaryDirectory.path))

        let session = try ExperimentSession()
        XCTAssertTrue(session.promptTokensPath.hasSuffix(Defaults.promptTokensPath) && session.promptTokensPath.hasPrefix("/"))
        XCTAssertNotNil(session.guess, "the shipped guess vocabulary is found from another directory")
        let questions = try Benchmark.mtBench.questions(2, offset: 1)
        let methods = [DecodingMethod.autoregressive(session.model), .promptDecoding(try session.defaultDecoder(), name: "ppd")]
        let results = try SideBySide(methods).run(
            prompts: session.prompts(questions, from: .mtBench), options: { _ in session.options(maxTokens: 24) })
        XCTAssertTrue(results[1].sameTokens(as: results[0]))
        XCTAssertGreaterThan(results[1].tau, 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID()).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ExperimentResultFile(settings: session.settings(), questions: questions, methods: methods, summaries: results).write(to: path)
        let back = try ExperimentResultFile.read(from: path)
        XCTAssertEqual(back.settings["model_sha256"], .string(session.modelSHA256))
        XCTAssertEqual(back.methods.map(\.summary.tokens), results.map(\.tokens))

        // The layout check users run with h5py (make demo, make experiments) accepts the file.
        let script = try ShippedFiles.require("Scripts/check-experiment.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("layout ok"), text)
    }
}
