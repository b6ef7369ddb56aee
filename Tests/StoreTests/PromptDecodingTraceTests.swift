import Decoding
import Foundation
import Models
import TestSupport
import XCTest

@testable import Store

/// The HDF5 trace of a prompt-decoding run on a tiny model: telemetry, row table, activations
/// and logits agree with the run, and h5py reads the file.
final class PromptDecodingTraceTests: XCTestCase {
    func testTraceRecordsStepsRowsActivationsAndLogits() throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 20
        let model = try ModelLoader.load(path: try spec.write())
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 4, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: 2))
        let trace = PromptDecodingTrace(layers: [0, 1], taps: [.layerOutput, .ffnOutput], logitsMode: .topK(3), steps: [0, 1, 2])
        let prompt: [Int32] = [2, 5, 6, 7, 8]
        let result = try decoder.generate(
            prompt: prompt, options: GenerationOptions(maxTokens: 20), policy: GreedyAcceptance(), observer: trace)
        let scratch = try ScratchDirectory()
        let path = scratch.path("trace.h5")
        try trace.write(result: result, attributes: ["policy": .string("greedy"), "seed": .int(0)], to: path)

        let file = try HDF5File.open(path: path)
        XCTAssertEqual(try file.attribute("format"), .string("ppd-trace/1"))
        XCTAssertEqual(try file.attribute("policy"), .string("greedy"))
        XCTAssertEqual(try file.readDataset("/prompt", as: Int32.self), prompt)
        XCTAssertEqual(try file.readDataset("/tokens", as: Int32.self), result.tokens)
        XCTAssertEqual(try file.readDataset("/steps/emitted", as: Int32.self), result.steps.map { Int32($0.tokens.count) })
        XCTAssertEqual(try file.readDataset("/steps/accepted", as: Int32.self), result.steps.map { Int32($0.accepted) })
        XCTAssertEqual(try file.readDataset("/steps/input_rows", as: Int32.self), result.steps.map { Int32($0.inputRows) })
        XCTAssertEqual(try file.readDataset("/steps/tokens", as: Int32.self), result.tokens)
        XCTAssertEqual(try file.readDataset("/steps/token_offsets", as: Int64.self).last, Int64(result.tokens.count))
        XCTAssertEqual(try file.attribute("mean_accepted_length", of: "/steps"), .double(result.meanAcceptedLength))

        // Rows: the prefill's 5 inputs + 2 x 2 prompt rows, then steps 1 and 2 with their layouts.
        let rowSteps = try file.readDataset("/rows/step", as: Int32.self)
        let expectedRows = [prompt.count + 4, result.steps[1].inputRows, result.steps[2].inputRows]
        XCTAssertEqual(rowSteps.count, expectedRows.reduce(0, +))
        for step in 0..<3 { XCTAssertEqual(rowSteps.filter { $0 == step }.count, expectedRows[step]) }
        let kinds = try file.readDataset("/rows/kind", as: Int32.self)
        XCTAssertEqual(kinds.filter { $0 == 1 }.count, 2, "one root per verification step")
        XCTAssertEqual(Array(kinds.prefix(9)), [0, 0, 0, 0, 0, 3, 3, 3, 3])
        let virtual = try file.readDataset("/rows/virtual", as: Int32.self)
        XCTAssertEqual(Array(virtual[5..<9]), [0, 1, 0, 1])
        let rowTokens = try file.readDataset("/rows/token", as: Int32.self)
        let accepted = try file.readDataset("/rows/accepted", as: Int32.self)
        XCTAssertEqual(Array(rowTokens.prefix(9)), prompt + [-1, -1, -1, -1])
        // In each verification step the accepted rows hold the root and the accepted guesses: the
        // step's emitted tokens minus the next token, preceded by the root (the previous next token).
        for step in 1...2 {
            let rows = rowSteps.indices.filter { rowSteps[$0] == step && accepted[$0] == 1 }
            let emittedBefore = result.steps[..<step].reduce(0) { $0 + $1.tokens.count }
            let expected = [result.tokens[emittedBefore - 1]] + result.steps[step].tokens.dropLast()
            XCTAssertEqual(rows.map { rowTokens[$0] }, Array(expected), "step \(step)")
        }

        // Activations: every row of the recorded passes, for each layer and tap.
        for layer in ["layer_00", "layer_01"] {
            for tap in ["layer_output", "ffn_output"] {
                XCTAssertEqual(try file.shape(of: "/activations/\(layer)/\(tap)"), [rowSteps.count, model.config.hiddenSize])
                XCTAssertEqual(try file.readDataset("/activations/\(layer)/\(tap)_step", as: Int32.self), rowSteps)
            }
        }
        // Logits: the prefill's last input + 4 prompt rows, then every row of steps 1 and 2.
        let logitSteps = try file.readDataset("/logits/step", as: Int32.self)
        XCTAssertEqual(logitSteps.count, 1 + 4 + expectedRows[1] + expectedRows[2])
        XCTAssertEqual(try file.shape(of: "/logits/ids"), [logitSteps.count, 3])
        // The prefill's first logits row is the last input token: its top-1 is the first token.
        XCTAssertEqual(try file.readDataset("/logits/ids", as: Int32.self)[0], result.tokens[0])
        try file.close()

        // h5py reads the same.
        let script = """
            import sys, h5py
            f = h5py.File(sys.argv[1], "r")
            assert f.attrs["format"] == "ppd-trace/1", f.attrs["format"]
            assert list(f["tokens"][:]) == [int(t) for t in sys.argv[2].split(",")]
            assert f["steps/emitted"][:].sum() == len(f["tokens"])
            assert f["activations/layer_01/layer_output"].shape[1] == 64
            assert f["logits/ids"].shape[1] == 3
            print("ok")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path, result.tokens.map(String.init).joined(separator: ",")]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "h5py could not read the trace (pip install h5py): \(output)")
    }
    /// Drafted rows in the trace: one row of kind 4 per drafted token, under a token row, one
    /// position below it, accepted exactly as often as the steps say; with the prompt chain on
    /// drafts, its rows too (every step's rows are all in the trace, prompt rows one position
    /// below their parents, some under drafted rows).
    func testTraceRecordsDraftedRows() throws {
        for carries in [false, true] { try checkDraftedRows(draftCarriesPromptTokens: carries) }
    }

    private func checkDraftedRows(draftCarriesPromptTokens carries: Bool) throws {
        var spec = TinyModel(.llama)
        spec.vocab = 12
        let model = try ModelLoader.load(path: try spec.write())
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 2, scale: 1)
        let decoder = try PromptDecoder(
            model: model, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: 2),
            drafter: try PromptLookupDrafter(ngramSizes: 1...2, draftLength: 3), draftRowLimit: 3,
            draftCarriesPromptTokens: carries)
        let trace = PromptDecodingTrace(layers: [], taps: [], logitsMode: nil, steps: nil)
        let result = try decoder.generate(
            prompt: [2, 5, 6, 7, 5, 6, 7, 5], options: GenerationOptions(maxTokens: 30), policy: GreedyAcceptance(), observer: trace)
        let scratch = try ScratchDirectory()
        let path = scratch.path("drafted.h5")
        try trace.write(result: result, attributes: [:], to: path)
        let file = try HDF5File.open(path: path)
        XCTAssertEqual(try file.readDataset("/steps/draft_rows", as: Int32.self), result.steps.map { Int32($0.draftRows) })
        XCTAssertEqual(try file.readDataset("/steps/accepted_drafted", as: Int32.self), result.steps.map { Int32($0.acceptedDrafted) })
        let step = try file.readDataset("/rows/step", as: Int32.self)
        let row = try file.readDataset("/rows/row", as: Int32.self)
        let kind = try file.readDataset("/rows/kind", as: Int32.self)
        let parent = try file.readDataset("/rows/parent_row", as: Int32.self)
        let position = try file.readDataset("/rows/position_offset", as: Int32.self)
        let accepted = try file.readDataset("/rows/accepted", as: Int32.self)
        var drafted = 0
        var promptRowsUnderDrafts = 0
        for s in result.steps.indices.dropFirst() {
            let members = step.indices.filter { step[$0] == Int32(s) }
            let byRow = Dictionary(uniqueKeysWithValues: members.map { (row[$0], $0) })
            XCTAssertEqual(members.count, result.steps[s].inputRows, "step \(s) chain \(carries): every row is traced")
            for i in members where kind[i] == 3 {
                let up = try XCTUnwrap(byRow[parent[i]], "step \(s): a prompt row's parent is a row of the step")
                XCTAssertEqual(position[i], position[up] + 1, "step \(s) chain \(carries)")
                if kind[up] == 4 { promptRowsUnderDrafts += 1 }
            }
            let draftedRows = members.filter { kind[$0] == 4 }
            XCTAssertEqual(draftedRows.count, result.steps[s].draftRows, "step \(s)")
            XCTAssertEqual(draftedRows.filter { accepted[$0] == 1 }.count, result.steps[s].acceptedDrafted, "step \(s)")
            for i in draftedRows {
                let up = try XCTUnwrap(byRow[parent[i]], "step \(s): a drafted row's parent is a row of the step")
                XCTAssertTrue([1, 2, 4].contains(kind[up]), "step \(s): drafted rows hang under token rows")
                XCTAssertEqual(position[i], position[up] + 1)
            }
            drafted += draftedRows.count
        }
        XCTAssertGreaterThan(drafted, 5, "the run drafted too little to test the rows")
        if carries {
            XCTAssertGreaterThan(promptRowsUnderDrafts, 5, "the drafts carried too few prompt chains")
        } else {
            XCTAssertEqual(promptRowsUnderDrafts, 0, "bare drafts carry no prompt rows")
        }
    }
}
