import Decoding
import Foundation
import Models
import TestSupport
import XCTest

/// Prompt decoding on tiny random models: exactness of greedy PPD against autoregressive greedy,
/// stops and budgets, and bad input.
final class PromptDecoderTests: XCTestCase {
    typealias Node = TokenTree.Node

    /// A tiny model with a small vocabulary, so that top-k guesses are often right and the
    /// accepted-path machinery (compaction, next guesses from deep nodes) is exercised.
    func tinyModel(_ architecture: TinyModel.Architecture, seed: UInt64, vocab: Int = 20) throws -> Transformer {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = vocab
        spec.context = 192
        return try ModelLoader.load(path: try spec.write(), threads: Int(seed % 2) + 1)
    }

    /// Trees of every kind for `n` prompt tokens: a chain, a static (Medusa-style) tree, and a
    /// random dynamic tree per depth with random prompt-token counts.
    func trees(promptTokens n: Int, random: inout SplitMix) throws -> [DynamicTree] {
        var chain: [Int: [Node]] = [:]
        for key in 1...n { chain[key] = (1...key).map { Node(Array(repeating: 0, count: $0), promptTokens: n) } }
        var staticPaths: [[Int]] = [[0], [1], [0, 0], [0, 1], [1, 0]].filter { $0.count <= n }
        if n >= 3 { staticPaths += [[0, 0, 0], [0, 0, 1]] }
        var dynamic: [Int: [Node]] = [:]
        for key in 1...n {
            var nodes: [Node] = []
            var frontier: [[Int]] = [[]]
            for _ in 0..<(2 + random.int(5)) {
                let parent = frontier[random.int(frontier.count)]
                guard parent.count < key else { continue }
                let rank = (0..<3).first { !nodes.map(\.path).contains(parent + [$0]) }
                guard let rank else { continue }
                let path = parent + [rank]
                nodes.append(Node(path, promptTokens: random.int(n + 1)))
                frontier.append(path)
            }
            dynamic[key] = nodes
        }
        return [
            try DynamicTree(promptTokens: n, trees: chain),
            DynamicTree(staticTree: try TokenTree(paths: staticPaths, promptTokens: n)),
            try DynamicTree(promptTokens: n, trees: dynamic),
        ]
    }

    /// Greedy PPD equals autoregressive greedy token for token, over architectures, seeds, trees,
    /// prompt-token counts, virtual-token counts, attention types and random / text-initialised
    /// prompt tokens; and the runs accept guesses (so compaction is exercised).
    func testGreedyPromptDecodingEqualsAutoregressiveGreedy() throws {
        var acceptedInAll = 0
        var cases = 0
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2, 3] {
                let model = try tinyModel(architecture, seed: seed)
                var random = SplitMix(state: seed &* 977)
                let prompt = [Int32(2)] + (0..<(3 + random.int(12))).map { _ in Int32(4 + random.int(16)) }
                let options = GenerationOptions(maxTokens: 40)
                let expected = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options).tokens
                for n in 1...3 {
                    for virtualTokens in [1, 2, 3] {
                        let attention = PromptTokens.Attention.allCases[random.int(3)]
                        var tokens: PromptTokens
                        if random.int(2) == 0 {
                            tokens = try PromptTokens.random(
                                count: n, virtualTokens: virtualTokens, hiddenSize: model.config.hiddenSize, seed: seed,
                                scale: 1)
                        } else {
                            tokens = try PromptTokens.fromText(
                                tokenIDs: [5, 9, 13], count: n, virtualTokens: virtualTokens, model: model)
                        }
                        tokens.attention = attention
                        for tree in try trees(promptTokens: n, random: &random) {
                            let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
                            var streamed: [Int32] = []
                            let result = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance()) {
                                streamed += $0.tokens
                                return true
                            }
                            let what = "\(architecture) seed \(seed) n \(n) v \(virtualTokens) \(attention) tree \(tree.isStatic ? "static" : "\(tree.trees.keys.sorted())")"
                            XCTAssertEqual(result.tokens, expected, what)
                            XCTAssertEqual(streamed, result.tokens, what)
                            XCTAssertEqual(result.stopReason, .maxTokens, what)
                            XCTAssertEqual(result.steps.map(\.tokens.count).reduce(0, +), 40, what)
                            // Every step emits its accepted guesses and the next token; only the last
                            // may be cut short by the budget.
                            for step in result.steps.dropFirst().dropLast() {
                                XCTAssertEqual(step.tokens.count, step.accepted + 1, what)
                            }
                            XCTAssertLessThanOrEqual(result.steps.last!.tokens.count, result.steps.last!.accepted + 1, what)
                            acceptedInAll += result.steps.map(\.accepted).reduce(0, +)
                            cases += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(cases, 2 * 3 * 3 * 3 * 3)
        XCTAssertGreaterThan(acceptedInAll, 200, "guesses were rarely accepted: the test would not exercise compaction")
    }

    /// With a guess head (a random part of the vocabulary), greedy PPD still equals
    /// autoregressive greedy: only the guesses change, and every guess is a token of the head.
    func testGreedyPromptDecodingWithAGuessHeadEqualsAutoregressiveGreedy() throws {
        var accepted = 0
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(4), 5] {
                let model = try tinyModel(architecture, seed: seed)
                var random = SplitMix(state: seed &* 131)
                let prompt = [Int32(2)] + (0..<(3 + random.int(12))).map { _ in Int32(4 + random.int(16)) }
                let options = GenerationOptions(maxTokens: 40)
                let expected = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options).tokens
                let headTokens = (0..<Int32(model.config.vocabSize)).filter { _ in random.int(2) == 0 }
                let head = try model.makeGuessHead(tokens: headTokens)
                for n in 1...3 {
                    let tokens = try PromptTokens.random(
                        count: n, virtualTokens: 1 + random.int(2), hiddenSize: model.config.hiddenSize, seed: seed, scale: 1)
                    for tree in try trees(promptTokens: n, random: &random) {
                        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree, guessHead: head)
                        let result = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance())
                        XCTAssertEqual(result.tokens, expected, "\(architecture) seed \(seed) n \(n)")
                        accepted += result.steps.map(\.accepted).reduce(0, +)
                    }
                }
            }
        }
        XCTAssertGreaterThan(accepted, 20, "guesses from the head were rarely accepted: the test would not exercise them")
    }

    /// The step records add up: rows per step match the layout of the depth used, depth follows
    /// the prompt tokens under the last accepted node, and tau is tokens per step.
    func testStepRecordsFollowTheLayouts() throws {
        let model = try tinyModel(.gemma3, seed: 7)
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 3, scale: 1)
        let tree = try DynamicTree(
            promptTokens: 2,
            trees: [1: [Node([0], promptTokens: 1), Node([1], promptTokens: 2)], 2: [Node([0], promptTokens: 2), Node([0, 0], promptTokens: 1)]])
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
        let result = try decoder.generate(prompt: [2, 5, 6, 7], options: GenerationOptions(maxTokens: 30), policy: GreedyAcceptance())
        XCTAssertEqual(result.steps[0].inputRows, 4 + 2 * 2)
        XCTAssertEqual(result.steps[0].tokens.count, 1)
        XCTAssertEqual(result.steps[1].depth, 2, "the prefill gives guesses at both distances")
        for step in result.steps.dropFirst() {
            XCTAssertEqual(step.inputRows, decoder.layout(forDepth: step.depth).count)
            XCTAssertEqual(step.treeNodes, decoder.layout(forDepth: step.depth).buffers.nodes.count)
            XCTAssertLessThanOrEqual(step.accepted, step.depth)
        }
        // Rows of depth 2: root, 2 chain prompt slots, [0] with 2 prompt slots, [0, 0] with 1; V = 2.
        XCTAssertEqual(decoder.layout(forDepth: 2).count, 1 + 2 * 2 + 1 + 2 * 2 + 1 + 1 * 2)
        XCTAssertEqual(result.meanAcceptedLength, Double(result.decodeTokens) / Double(result.decodeSteps))
        XCTAssertEqual(result.tokens.count, 30)
    }

    /// Stop tokens end generation at the stop token even inside an accepted path; a budget cuts a
    /// step short; the callback can cancel.
    func testStopsBudgetsAndCancel() throws {
        let model = try tinyModel(.llama, seed: 2)
        let tokens = try PromptTokens.fromText(tokenIDs: [5, 6, 7], virtualTokens: 1, model: model)
        let tree = DynamicTree(staticTree: try TokenTree(paths: [[0], [1], [0, 0], [0, 0, 0]], promptTokens: 3))
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
        let prompt: [Int32] = [2, 8, 9, 10, 11]
        let full = try decoder.generate(prompt: prompt, options: GenerationOptions(maxTokens: 30), policy: GreedyAcceptance())
        for budget in [1, 2, 5, 13] {
            let cut = try decoder.generate(prompt: prompt, options: GenerationOptions(maxTokens: budget), policy: GreedyAcceptance())
            XCTAssertEqual(cut.tokens, Array(full.tokens.prefix(budget)))
            XCTAssertEqual(cut.stopReason, .maxTokens)
        }
        for index in [0, 3, 11] {
            let stop = full.tokens[index]
            let first = full.tokens.firstIndex(of: stop)!
            let stopped = try decoder.generate(
                prompt: prompt, options: GenerationOptions(maxTokens: 30, stopTokens: [stop]), policy: GreedyAcceptance())
            XCTAssertEqual(stopped.tokens, Array(full.tokens.prefix(through: first)))
            XCTAssertEqual(stopped.stopReason, .stopToken)
        }
        var calls = 0
        let cancelled = try decoder.generate(prompt: prompt, options: GenerationOptions(maxTokens: 30), policy: GreedyAcceptance()) { _ in
            calls += 1
            return calls < 3
        }
        XCTAssertEqual(cancelled.stopReason, .cancelled)
        XCTAssertEqual(cancelled.steps.count, 3)
        XCTAssertEqual(cancelled.tokens, Array(full.tokens.prefix(cancelled.tokens.count)))
    }

    /// Near the end of the context the decoder falls back to plain decoding steps and stops with
    /// `contextFull`, still equal to autoregressive greedy.
    func testContextEndFallsBackAndStops() throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 20
        spec.context = 40
        let model = try ModelLoader.load(path: try spec.write())
        let tokens = try PromptTokens.random(count: 3, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 1, scale: 1)
        let tree = DynamicTree(staticTree: try TokenTree(paths: [[0], [0, 0], [0, 0, 0]], promptTokens: 3))
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
        let prompt: [Int32] = [2] + (0..<20).map { Int32(4 + $0 % 16) }
        let options = GenerationOptions(maxTokens: 100)
        let result = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance())
        let plain = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options)
        XCTAssertEqual(result.stopReason, .contextFull)
        XCTAssertEqual(plain.stopReason, .contextFull)
        XCTAssertEqual(result.tokens, plain.tokens)
        XCTAssertTrue(result.steps.contains { $0.index > 0 && $0.inputRows == 1 }, "the last steps run the root alone")
    }

    /// Bad input: prompt tokens of the wrong width or for another model, a tree deeper than the
    /// prompt tokens, a prompt that leaves no room for the prompt tokens.
    func testBadInputIsAClearError() throws {
        let model = try tinyModel(.gemma3, seed: 1)
        let tree = try DynamicTree(promptTokens: 2, trees: [2: [Node([0], promptTokens: 2), Node([0, 0], promptTokens: 2)]])
        let narrow = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: 32, seed: 1, scale: 1)
        XCTAssertThrowsError(try PromptDecoder(model: model, promptTokens: narrow, tree: tree)) {
            XCTAssertTrue("\($0)".contains("32") && "\($0)".contains("64"), "\($0)")
        }
        var foreign = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: 64, seed: 1, scale: 1)
        foreign.baseModelSHA256 = String(repeating: "a", count: 64)
        XCTAssertThrowsError(try PromptDecoder(model: model, promptTokens: foreign, tree: tree, modelSHA256: String(repeating: "b", count: 64))) {
            XCTAssertTrue("\($0)".contains("aaaa"), "\($0)")
        }
        let one = try PromptTokens.random(count: 1, virtualTokens: 1, hiddenSize: 64, seed: 1, scale: 1)
        XCTAssertThrowsError(try PromptDecoder(model: model, promptTokens: one, tree: tree)) {
            XCTAssertEqual(($0 as? TreeError)?.problem, .moreDistancesThanPromptTokens(tree: 2, promptTokens: 1))
            XCTAssertTrue("\($0)".contains("2 prompt tokens") && "\($0)".contains("only 1"), "\($0)")
        }
        let wide = try DynamicTree(promptTokens: 1, trees: [1: [Node([40])]])
        XCTAssertThrowsError(try PromptDecoder(model: model, promptTokens: one, tree: wide)) {
            XCTAssertTrue("\($0)".contains("40"), "\($0)")
        }
        let decoder = try PromptDecoder(model: model, promptTokens: try PromptTokens.random(count: 2, virtualTokens: 4, hiddenSize: 64, seed: 1, scale: 1), tree: tree)
        XCTAssertThrowsError(
            try decoder.generate(prompt: [Int32](repeating: 5, count: 190), options: GenerationOptions(), policy: GreedyAcceptance())
        ) {
            XCTAssertTrue("\($0)".contains("190 tokens") && "\($0)".contains("8 prompt-token rows"), "\($0)")
        }
    }
}
