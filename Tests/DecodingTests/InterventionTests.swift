import Decoding
import Foundation
@testable import Models
import TestSupport
import XCTest

/// Interventions on tiny random models: identity is bitwise nothing, a zeroed head removes
/// exactly its contribution, prompt-row ablations never change greedy PPD output while token-row
/// ablations change it exactly as in plain decoding, patching reproduces a run, bad specs are
/// named errors.
final class InterventionTests: XCTestCase {
    /// Writes nothing, at every site of every layer (and counts its calls).
    final class Identity: ActivationIntervention {
        var calls = 0
        var writes: Bool { true }
        func wants(layer: Int, site: InterventionSite) -> Bool { site.isWritable }
        func intervene(_ block: ActivationBlock) throws {
            calls += 1
            for j in 0..<block.values.count { block.values[j] = block.values[j] + 0 }
        }
    }

    /// Keeps copies of what it sees at one site.
    final class Reader: ActivationIntervention {
        let site: InterventionSite
        let layer: Int
        var seen: [[Float]] = []
        var roles: [[RowRole]] = []
        init(_ site: InterventionSite, layer: Int) {
            self.site = site
            self.layer = layer
        }
        var writes: Bool { false }
        func wants(layer: Int, site: InterventionSite) -> Bool { layer == self.layer && site == self.site }
        func intervene(_ block: ActivationBlock) throws {
            seen.append(Array(block.values))
            roles.append(block.roles)
        }
    }

    private func tinyModel(_ architecture: TinyModel.Architecture, seed: UInt64 = 1) throws -> Transformer {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = 20
        spec.context = 192
        return try ModelLoader.load(path: try spec.write(), threads: 1)
    }

    private let prompt: [Int32] = [2, 7, 11, 4, 9, 13, 5, 8]

    func testAnIdentityInterventionChangesNothingBitwise() throws {
        for architecture in TinyModel.Architecture.allCases {
            let model = try tinyModel(architecture)
            let plain = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16))
            let identity = Identity()
            let touched = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([identity]))
            XCTAssertEqual(plain.values, touched.values, "\(architecture)")
            XCTAssertEqual(identity.calls, model.config.layerCount * (InterventionSite.allCases.count - 1))
        }
    }

    /// Zeroing head h of layer l removes W_o's columns of that head times its output from the
    /// attention block's output (LLaMA: no post-attention norm), and changes nothing before.
    func testZeroingAHeadRemovesExactlyItsContribution() throws {
        let model = try tinyModel(.llama)
        let c = model.config
        let layer = 1, head = 2
        let heads = Reader(.headOutput, layer: layer), output = Reader(.attentionOutput, layer: layer)
        let before = Reader(.attentionOutput, layer: 0)
        _ = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([heads, output, before]))
        let ablation = try Ablation(layers: [layer], head: head, site: .headOutput, rows: .all, operation: .zero)
        let ablatedOutput = Reader(.attentionOutput, layer: layer), ablatedBefore = Reader(.attentionOutput, layer: 0)
        _ = try model.forward(
            tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([ablation, ablatedOutput, ablatedBefore]))
        XCTAssertEqual(before.seen, ablatedBefore.seen, "layer 0 saw the ablation of layer 1")

        // Reference: float64 W_o restricted to the head's columns, times the head's output.
        let w = model.weights.layers[layer].attentionOutput
        var columns = [Float](repeating: 0, count: c.hiddenSize * c.qWidth)
        for r in 0..<c.hiddenSize { w.decodeRow(r, into: &columns[r * c.qWidth]) }
        let n = prompt.count
        var worst = 0.0
        for i in 0..<n {
            for r in 0..<c.hiddenSize {
                var delta = 0.0
                for d in 0..<c.headDim {
                    let j = head * c.headDim + d
                    delta += Double(columns[r * c.qWidth + j]) * Double(heads.seen[0][i * c.qWidth + j])
                }
                let expected = Double(output.seen[0][i * c.hiddenSize + r]) - delta
                worst = max(worst, abs(expected - Double(ablatedOutput.seen[0][i * c.hiddenSize + r])))
            }
        }
        XCTAssertLessThan(worst, 1e-5)
        XCTAssertNotEqual(output.seen, ablatedOutput.seen)
    }

    /// Prompt rows are invisible to token rows: ablating them leaves greedy PPD output unchanged
    /// (only the guesses, hence tau, change). Ablating the token rows changes the output exactly
    /// as the same ablation changes plain decoding (the numerics contract makes both bitwise).
    func testPromptRowAblationsKeepGreedyOutputAndTokenRowAblationsMatchPlainDecoding() throws {
        for architecture in TinyModel.Architecture.allCases {
            let model = try tinyModel(architecture, seed: 3)
            let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 3, scale: 1)
            let tree = try DynamicTree(
                staticTree: TokenTree(paths: [[0], [1], [0, 0], [0, 1]], promptTokens: 2))
            let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
            let options = GenerationOptions(maxTokens: 30)
            let plainResult = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options)
            let plain = plainResult.tokens, plainLogits = plainResult.topLogits.map(\.logit)
            for site in InterventionSite.allCases where site.isWritable {
                let onPrompt = try Ablation(layers: [0, 1], site: site, rows: .prompt, operation: .zero)
                let ppd = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: [onPrompt])
                XCTAssertEqual(ppd.tokens, plain, "\(architecture) \(site.rawValue) on prompt rows")

                let head = site.hasHeads ? site.headCount(model.config) - 1 : nil
                let onTokens = try Ablation(layers: [1], head: head, site: site, rows: .tokens, operation: .zero)
                try onTokens.validate(for: model.config)
                let ablatedPlain = try AutoregressiveGenerator(model: model).generate(
                    prompt: prompt, options: options, interventions: [onTokens])
                let ablatedPPD = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: [onTokens])
                XCTAssertEqual(ablatedPPD.tokens, ablatedPlain.tokens, "\(architecture) \(site.rawValue) on token rows")
                XCTAssertEqual(ablatedPPD.topLogits.map(\.logit), ablatedPlain.topLogits.map(\.logit))
                XCTAssertNotEqual(
                    ablatedPlain.topLogits.map(\.logit), plainLogits, "\(architecture) zeroing \(site.rawValue) on token rows changed nothing")
            }
        }
    }

    func testPatchingARunWithItsOwnActivationsReproducesItBitwise() throws {
        let model = try tinyModel(.gemma3, seed: 2)
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 2, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: 2))
        let options = GenerationOptions(maxTokens: 24)
        let sites: Set<InterventionSite> = [.layerOutput, .query, .ffnHidden]
        let capture = ActivationCapture(layers: nil, sites: sites)
        let first = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: [capture])
        XCTAssertGreaterThan(capture.patch.count, 0)
        let patches = try sites.map { try Ablation(layers: nil, site: $0, rows: .all, operation: .patch(capture.patch)) }
        let check = ActivationCapture(layers: nil, sites: sites)
        let second = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), interventions: patches + [check])
        XCTAssertEqual(second.tokens, first.tokens)
        XCTAssertEqual(second.steps.map(\.tokens), first.steps.map(\.tokens))
        for step in 0..<first.steps.count {
            for layer in 0..<model.config.layerCount {
                for site in sites {
                    XCTAssertEqual(
                        check.patch.values(step: step, layer: layer, site: site), capture.patch.values(step: step, layer: layer, site: site))
                }
            }
        }
        // A patch from a run of another length does not fit: a named error, not a crash.
        XCTAssertThrowsError(
            try decoder.generate(prompt: Array(prompt.prefix(4)), options: options, policy: GreedyAcceptance(), interventions: patches)
        ) { XCTAssertTrue("\($0)".contains("this forward pass has"), "\($0)") }
    }

    func testAHeadOrVectorThatDoesNotFitIsRefusedInTheForwardPassToo() throws {
        let model = try tinyModel(.gemma3)
        let c = model.config
        for ablation in [
            try Ablation(layers: [0], head: c.kvHeads, site: .key, rows: .all, operation: .zero),
            try Ablation(layers: [0], site: .layerOutput, rows: .all, operation: .steer([1], scale: 1)),
        ] {
            XCTAssertThrowsError(
                try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([ablation])))
        }
    }

    func testAPatchOfAnotherShapeIsANamedError() throws {
        let model = try tinyModel(.llama)
        let capture = ActivationCapture(layers: [0], sites: [.layerOutput])
        _ = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([capture]))
        let patch = try Ablation(layers: [0], site: .layerOutput, rows: .all, operation: .patch(capture.patch))
        XCTAssertThrowsError(
            try model.forward(tokens: Array(prompt.prefix(3)), cache: model.makeCache(capacity: 16), interventions: Interventions([patch]))
        ) { error in
            XCTAssertTrue("\(error)".contains("this forward pass has"), "\(error)")
        }
    }

    func testRowRolesOfAVerificationStep() throws {
        let model = try tinyModel(.llama)
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 1, scale: 1)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try DynamicTree.chain(promptTokens: 2))
        let reader = Reader(.layerOutput, layer: 0)
        _ = try decoder.generate(prompt: prompt, options: GenerationOptions(maxTokens: 3), policy: GreedyAcceptance(), interventions: [reader])
        XCTAssertEqual(
            reader.roles[0],
            Array(repeating: .input, count: prompt.count)
                + [.promptToken(index: 0, virtual: 0), .promptToken(index: 0, virtual: 1), .promptToken(index: 1, virtual: 0), .promptToken(index: 1, virtual: 1)])
        let step = reader.roles[1]
        XCTAssertEqual(step.first, .root)
        XCTAssertTrue(step.contains(.guess(distance: 1, rank: 0)))
        XCTAssertEqual(step.filter(\.isPromptToken).count, step.count - step.filter { !$0.isPromptToken }.count)
    }

    func testAttentionWeightsAreAProbabilityOverVisibleSlots() throws {
        let model = try tinyModel(.gemma3)
        let reader = Reader(.attentionWeights, layer: 1)
        _ = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([reader]))
        let c = model.config, n = prompt.count
        let weights = reader.seen[0]
        XCTAssertEqual(weights.count, n * c.heads * n)
        for i in 0..<n {
            for h in 0..<c.heads {
                let row = weights[(i * c.heads + h) * n..<(i * c.heads + h + 1) * n]
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                XCTAssertTrue(row.dropFirst(i + 1).allSatisfy { $0 == 0 }, "row \(i) attends to later tokens")
            }
        }
    }

    func testWritingWhereItIsNotDefinedOrWhileATapeRecordsIsRefused() throws {
        XCTAssertThrowsError(try Ablation(layers: nil, site: .attentionWeights, rows: .all, operation: .zero))
        XCTAssertThrowsError(try Ablation(layers: nil, head: 0, site: .ffnHidden, rows: .all, operation: .zero))
        let model = try tinyModel(.llama)
        let c = model.config
        for ablation in [
            try Ablation(layers: [9], site: .query, rows: .all, operation: .zero),
            try Ablation(layers: [0], head: c.heads, site: .headOutput, rows: .all, operation: .zero),
            try Ablation(layers: [0], site: .layerOutput, rows: .all, operation: .mean([1, 2])),
        ] {
            XCTAssertThrowsError(try ablation.validate(for: c)) { XCTAssertTrue("\($0)".hasPrefix("ablation:"), "\($0)") }
        }
        let embeddings = try model.embed(prompt)
        let positions = (0..<Int32(prompt.count)).map { $0 }
        let zero = try Ablation(layers: [0], site: .query, rows: .all, operation: .zero)
        XCTAssertThrowsError(
            try model.forward(
                embeddings: embeddings, positions: positions, mask: .causal(prompt.count), cache: model.makeCache(capacity: 16),
                logitRows: nil, interventions: Interventions([zero]), recordingInto: ForwardTape())
        ) { XCTAssertTrue("\($0)".contains("training tape"), "\($0)") }
        let steer = try Ablation(
            layers: [0], site: .layerOutput, rows: .all, operation: .steer([Float](repeating: 0.1, count: c.hiddenSize), scale: 1))
        XCTAssertNoThrow(
            try model.forward(
                embeddings: embeddings, positions: positions, mask: .causal(prompt.count), cache: model.makeCache(capacity: 16),
                logitRows: nil, interventions: Interventions([steer]), recordingInto: ForwardTape()))
    }

    func testAblationSpecs() throws {
        let spec = try AblationSpec(parsing: "layer=7,head=3,site=head_output,rows=prompt,op=zero")
        XCTAssertEqual(spec.layers, 7...7)
        XCTAssertEqual(spec.head, 3)
        XCTAssertEqual(spec.site, .headOutput)
        XCTAssertEqual(spec.rows, .prompt)
        XCTAssertEqual(try AblationSpec(parsing: "layer=2-5,site=layer_output,op=steer,vector=v.json,scale=-2").scale, -2)
        XCTAssertNil(try AblationSpec(parsing: "layer=all,site=query,op=zero").layers)
        for (bad, reason) in [
            ("site=query,op=zero", "layer= is missing"), ("layer=x,site=query,op=zero", "layer=x"),
            ("layer=1,site=nowhere,op=zero", "unknown site"), ("layer=1,site=query,op=melt", "op=melt"),
            ("layer=1,site=query,rows=some,op=zero", "unknown rows"), ("layer=1,site=query,op=patch", "from="),
            ("layer=1,site=ffn_hidden,head=0,op=zero", "no heads"), ("layer=1,site=query,color=red,op=zero", "unknown field"),
            ("layer=1,site=attention_weights,op=zero", "read, not changed"), ("layer=1,site=query,op=zero,op=zero", "twice"),
        ] {
            XCTAssertThrowsError(try AblationSpec(parsing: bad), bad) { XCTAssertTrue("\($0)".contains(reason), "\(bad): \($0)") }
        }
    }

    /// A second forward pass on a model while one runs (here: from inside it) is a named error,
    /// not a race on the model's thread pool and buffers; the model works afterwards.
    func testAConcurrentForwardPassIsRefused() throws {
        final class Reentrant: ActivationIntervention {
            let model: Transformer
            var error: Error?
            init(_ model: Transformer) { self.model = model }
            var writes: Bool { false }
            func wants(layer: Int, site: InterventionSite) -> Bool { layer == 0 && site == .layerOutput }
            func intervene(_ block: ActivationBlock) throws {
                do { _ = try model.forward(tokens: [2, 3], cache: model.makeCache(capacity: 4)) } catch { self.error = error }
            }
        }
        let model = try tinyModel(.llama)
        let reentrant = Reentrant(model)
        let before = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16))
        let during = try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16), interventions: Interventions([reentrant]))
        XCTAssertTrue("\(reentrant.error.map { "\($0)" } ?? "no error")".contains("already running"))
        XCTAssertEqual(during.values, before.values)
        XCTAssertNoThrow(try model.forward(tokens: prompt, cache: model.makeCache(capacity: 16)))
    }
}
