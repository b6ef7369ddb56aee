import Decoding
import Foundation
import Models
import TestSupport
import XCTest

/// Medusa-style heads as a drafter: their continuations checked by hand against the heads'
/// ranked guesses and the tree's paths, greedy decoding with them (alone, beside prompt tokens,
/// and grouped with prompt lookup) equal to autoregressive greedy decoding on tiny models, and
/// the heads' file format.
final class MedusaDrafterTests: XCTestCase {
    typealias Node = TokenTree.Node

    func tinyModel(_ architecture: TinyModel.Architecture, seed: UInt64) throws -> Transformer {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = 20
        spec.context = 192
        return try ModelLoader.load(path: try spec.write(), threads: Int(seed % 2) + 1)
    }

    func testDraftsFollowTheTreePathsOverTheHeadsRankedGuesses() throws {
        let model = try tinyModel(.llama, seed: 1)
        let hidden = model.config.hiddenSize
        let heads = try MedusaHeads.random(count: 3, hidden: hidden, seed: 2, scale: 0.5)
        let tree = try TokenTree(paths: [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0], [2]])
        var drafter = try MedusaDrafter(heads: heads, model: model, tree: tree)
        var random = SplitMix(state: 4)
        let state = (0..<hidden).map { _ in Float(random.int(2001)) / 1000 - 1 }
        // Head k's guesses by hand: its output through the output layer, ranked.
        let logits = try heads.logits(state, rows: 1, model: model, head: nil)
        let vocab = model.config.vocabSize
        let ranked = (0..<3).map { k in
            Array(logits[(k * vocab)..<((k + 1) * vocab)]).enumerated().sorted { ($0.element, -$0.offset) > ($1.element, -$1.offset) }
                .map { Int32($0.offset) }
        }
        XCTAssertEqual(try drafter.rankedGuesses(state), [Array(ranked[0].prefix(3)), Array(ranked[1].prefix(2)), Array(ranked[2].prefix(1))])
        let g = ranked
        // Shallower paths first, the file's order within a depth.
        let expected: [[Int32]] = [
            [g[0][0]], [g[0][1]], [g[0][2]], [g[0][0], g[1][0]], [g[0][0], g[1][1]], [g[0][1], g[1][0]], [g[0][0], g[1][0], g[2][0]],
        ]
        XCTAssertEqual(try drafter.draft(after: [1, 2], hiddenState: state, limit: 10), expected)
        // The limit counts the paths (each adds one node below its parent's).
        XCTAssertEqual(try drafter.draft(after: [1, 2], hiddenState: state, limit: 3), Array(expected.prefix(3)))
        XCTAssertEqual(drafter.draft(after: [1, 2], limit: 10), [], "no hidden state, no drafts")
        XCTAssertTrue(drafter.readsHiddenState)
        // A tree deeper than the heads, and heads of another width, are errors.
        XCTAssertThrowsError(try MedusaDrafter(heads: heads, model: model, tree: try TokenTree(paths: [[0], [0, 0], [0, 0, 0], [0, 0, 0, 0]]))) {
            XCTAssertTrue("\($0)".contains("only 3 heads"), "\($0)")
        }
        XCTAssertThrowsError(try MedusaDrafter(heads: try MedusaHeads(count: 3, hiddenSize: hidden + 1), model: model, tree: tree))
    }

    func testGreedyDecodingWithMedusaHeadsEqualsAutoregressiveGreedy() throws {
        var acceptedDrafted = 0
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2] {
                let model = try tinyModel(architecture, seed: seed)
                var random = SplitMix(state: seed &* 17)
                let prompt = [Int32(2)] + (0..<(4 + random.int(10))).map { _ in Int32(4 + random.int(16)) }
                let options = GenerationOptions(maxTokens: 40)
                let expected = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options).tokens
                // Zero heads guess the next token again (often right on a tiny model's loops);
                // random heads guess anything.
                let tree = try TokenTree(paths: [[0], [1], [0, 0], [1, 0], [0, 0, 0]])
                let medusa = [
                    try MedusaDrafter(heads: try MedusaHeads(count: 3, hiddenSize: model.config.hiddenSize), model: model, tree: tree),
                    try MedusaDrafter(heads: try MedusaHeads.random(count: 3, hidden: model.config.hiddenSize, seed: seed, scale: 0.3), model: model, tree: tree),
                ]
                let drafters: [(any TokenDrafter, Int)] = medusa.map { ($0, 5) } + [
                    (DrafterGroup([try PromptLookupDrafter(ngramSizes: 1...2, draftLength: 3), medusa[0]]), 8)
                ]
                let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: seed, scale: 1)
                for (drafter, rows) in drafters {
                    for tree in [DynamicTree.rootOnly, try DynamicTree.chain(promptTokens: 2)] {
                        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree, drafter: drafter, draftRowLimit: rows)
                        let result = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance())
                        XCTAssertEqual(result.tokens, expected, "\(architecture) seed \(seed) \(drafter.name) tree \(tree.promptTokens)")
                        for step in result.steps.dropFirst() { XCTAssertLessThanOrEqual(step.draftRows, rows) }
                        acceptedDrafted += result.steps.map(\.acceptedDrafted).reduce(0, +)
                    }
                }
            }
        }
        XCTAssertGreaterThan(acceptedDrafted, 20, "drafted tokens were rarely accepted: the test would not exercise them")
    }

    func testHeadsFileRoundTripsAndBadFilesAreNamedErrors() throws {
        var heads = try MedusaHeads.random(count: 2, hidden: 8, seed: 3, scale: 1)
        heads.baseModelSHA256 = "abc"
        heads.trainingSummary = "test"
        let directory = FileManager.default.temporaryDirectory
        let url = directory.appendingPathComponent("medusa-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try heads.save(to: url)
        XCTAssertEqual(try MedusaHeads.load(from: url), heads)
        // Prompt tokens are not heads; a bias of the wrong shape is named.
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: 8, seed: 1, scale: 1)
        try tokens.save(to: url)
        XCTAssertThrowsError(try MedusaHeads.load(from: url)) { XCTAssertTrue("\($0)".contains("medusa_weight"), "\($0)") }
        try Safetensors(
            tensors: [MedusaHeads.weightTensor: .init(shape: [2, 8, 8], values: heads.weights), MedusaHeads.biasTensor: .init(shape: [2, 7], values: Array(heads.biases.prefix(14)))],
            metadata: [:]
        ).write(to: url)
        XCTAssertThrowsError(try MedusaHeads.load(from: url)) { XCTAssertTrue("\($0)".contains("medusa_bias has shape [2, 7]"), "\($0)") }
        XCTAssertThrowsError(try MedusaHeads(count: 0, hiddenSize: 8))
    }
}
