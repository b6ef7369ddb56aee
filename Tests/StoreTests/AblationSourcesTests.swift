import Decoding
import Foundation
import Models
import TestSupport
import XCTest

@testable import Store

/// Ablations that read HDF5 traces: a patch from a run's own trace reproduces it; a mean from a
/// trace is the mean of its rows; files that do not fit are named errors.
final class AblationSourcesTests: XCTestCase {
    func testPatchAndMeanFromATrace() throws {
        var spec = TinyModel(.llama)
        spec.vocab = 20
        let model = try ModelLoader.load(path: try spec.write())
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 5, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: 2))
        let prompt: [Int32] = [2, 5, 6, 7, 8, 9]
        let options = GenerationOptions(maxTokens: 16)
        let trace = PromptDecodingTrace(layers: [1], taps: [.layerOutput], logitsMode: nil, steps: nil)
        let first = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), observer: trace)
        let scratch = try ScratchDirectory()
        let path = scratch.path("trace.h5")
        try trace.write(result: first, attributes: [:], to: path)

        let patch = try AblationSpec(parsing: "layer=1,site=layer_output,op=patch,from=\(path)").makeAblation(for: model.config)
        let second = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: [patch])
        XCTAssertEqual(second.tokens, first.tokens)
        XCTAssertEqual(second.steps.map(\.tokens), first.steps.map(\.tokens))
        XCTAssertThrowsError(
            try decoder.generate(prompt: Array(prompt.prefix(3)), options: options, policy: GreedyAcceptance(), interventions: [patch]))

        let mean = try AblationSpec(parsing: "layer=1,site=layer_output,rows=prompt,op=mean,from=\(path)").makeAblation(for: model.config)
        guard case .mean(let vector) = mean.operation else { return XCTFail("not a mean") }
        let file = try HDF5File.open(path: path)
        let recorded = try file.readDataset("/activations/layer_01/layer_output", as: Float.self)
        let rows = recorded.count / model.config.hiddenSize
        let first0 = (0..<rows).reduce(0.0) { $0 + Double(recorded[$1 * model.config.hiddenSize]) } / Double(rows)
        XCTAssertEqual(Double(vector[0]), first0, accuracy: 1e-6)
        XCTAssertEqual(try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: [mean]).tokens, first.tokens,
                       "a mean on prompt rows changed greedy output")

        for (bad, reason) in [
            ("layer=0,site=layer_output,op=patch,from=\(path)", "no recorded layer_output of layer 0"),
            ("layer=1,site=query,op=patch,from=\(path)", "no recorded query of layer 1"),
            ("layer=0-1,site=layer_output,op=mean,from=\(path)", "one layer"),
            ("layer=1,site=layer_output,op=steer,vector=\(scratch.path("missing.json"))", "cannot read"),
        ] {
            XCTAssertThrowsError(try AblationSpec(parsing: bad).makeAblation(for: model.config), bad) {
                XCTAssertTrue("\($0)".contains(reason), "\(bad): \($0)")
            }
        }
    }

    /// Any site a trace records (here the queries and the FFN hidden units) patches back: the
    /// same run again, bit for bit.
    func testATraceOfNonResidualSitesPatchesTheRun() throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 20
        let model = try ModelLoader.load(path: try spec.write())
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 6, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: 2))
        let prompt: [Int32] = [2, 9, 4, 7, 11]
        let options = GenerationOptions(maxTokens: 14)
        let trace = try PromptDecodingTrace(layers: [0], sites: [.query, .ffnHidden, .layerOutput])
        let first = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), observer: trace)
        let scratch = try ScratchDirectory()
        let path = scratch.path("trace.h5")
        try trace.write(result: first, attributes: [:], to: path)
        XCTAssertEqual(trace.activations?.rows(layer: 0, site: .query)?.width, model.config.qWidth)
        let patches = try ["query", "ffn_hidden", "layer_output"].map {
            try AblationSpec(parsing: "layer=0,site=\($0),op=patch,from=\(path)").makeAblation(for: model.config)
        }
        let second = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: patches)
        XCTAssertEqual(second.tokens, first.tokens)
        XCTAssertEqual(second.steps.map(\.tokens), first.steps.map(\.tokens))
        XCTAssertThrowsError(try PromptDecodingTrace(layers: [0], sites: [.attentionWeights]))
    }
}
