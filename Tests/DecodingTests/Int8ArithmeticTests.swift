import Decoding
import Foundation
import Kernels
import Models
import TestSupport
import XCTest

/// The numerics contract with int8 activations (`MatrixArithmetic.int8`), on tiny random models
/// whose matrices all have int8 forms: prefill == decode and greedy PPD == AR greedy, bitwise.
extension PromptDecoderTests {
    /// A tiny model whose every matrix is repacked for int8 (rows multiples of 4, columns of 128).
    func int8Model(_ architecture: TinyModel.Architecture, seed: UInt64, vocab: Int = 20) throws -> (Transformer, Transformer) {
        let path = try TinyModel.int8Ready(architecture, seed: seed, vocab: vocab).write()
        return (
            try ModelLoader.load(path: path, threads: Int(seed % 2) + 1, arithmetic: .int8),
            try ModelLoader.load(path: path, threads: 1, arithmetic: .float32)
        )
    }

    /// Prefill == token-by-token decode, bitwise; a guess head gives the full layer's logits.
    /// (How far int8 logits sit from float ones is measured on the real model, in
    /// `GoldenInt8Tests`: tiny random models amplify any perturbation through their layers.)
    func testInt8PrefillEqualsDecode() throws {
        try XCTSkipUnless(MatrixArithmetic.isInt8Available, "this CPU has no int8 kernel (AVX2 or AVX-512 VNNI)")
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2] {
                let (model, reference) = try int8Model(architecture, seed: seed, vocab: 96)
                XCTAssertEqual(model.arithmetic, .int8)
                var random = SplitMix(state: seed)
                let tokens = (0..<21).map { _ in Int32(4 + random.int(92)) }
                let prefill = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 64))
                let float = try reference.forward(tokens: tokens, cache: reference.makeCache(capacity: 64))
                let cache = model.makeCache(capacity: 64)
                var largest: Float = 0
                for (i, token) in tokens.enumerated() {
                    let step = try model.forward(tokens: [token], cache: cache)
                    XCTAssertEqual(Array(step.row(0)).map(\.bitPattern), Array(prefill.row(i)).map(\.bitPattern), "\(architecture) seed \(seed) position \(i)")
                    for (a, b) in zip(prefill.row(i), float.row(i)) {
                        XCTAssertTrue(a.isFinite)
                        largest = max(largest, abs(a - b))
                    }
                }
                // A guess head (7 tokens, not a whole group of 4) gives bitwise the full layer's logits.
                let headTokens: [Int32] = [5, 7, 8, 30, 31, 90, 91]
                let head = try model.makeGuessHead(tokens: headTokens)
                let guessed = try model.forward(
                    tokens: tokens, cache: model.makeCache(capacity: 64), logitRows: [3, 20],
                    guesses: GuessRows(head: head, rows: [20]))
                let guessRow = Array(guessed.row(1)), fullRow = Array(prefill.row(20))
                XCTAssertEqual(guessRow.count, headTokens.count, "the head's tokens only")
                for (index, token) in headTokens.enumerated() {
                    XCTAssertEqual(guessRow[index].bitPattern, fullRow[Int(token)].bitPattern, "head token \(token)")
                }
                XCTAssertEqual(Array(guessed.row(0)).map(\.bitPattern), Array(prefill.row(3)).map(\.bitPattern))
                XCTAssertGreaterThan(largest, 0, "int8 arithmetic gave the float logits exactly: the int8 path did not run")
            }
        }
    }

    /// Greedy PPD equals autoregressive greedy with int8 arithmetic, with and without a guess
    /// head (a random part of the vocabulary, so the head's rows are padded to a multiple of 4).
    func testInt8GreedyPromptDecodingEqualsAutoregressiveGreedy() throws {
        try XCTSkipUnless(MatrixArithmetic.isInt8Available, "this CPU has no int8 kernel (AVX2 or AVX-512 VNNI)")
        var accepted = 0
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2] {
                let (model, _) = try int8Model(architecture, seed: seed)
                var random = SplitMix(state: seed &* 577)
                let prompt = [Int32(2)] + (0..<(3 + random.int(12))).map { _ in Int32(4 + random.int(16)) }
                let options = GenerationOptions(maxTokens: 40)
                let expected = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options).tokens
                var headTokens = (0..<Int32(model.config.vocabSize)).filter { _ in random.int(2) == 0 }
                if headTokens.count % 4 == 0 { headTokens.removeLast() }
                let head = try model.makeGuessHead(tokens: headTokens)
                for n in 1...3 {
                    for virtualTokens in [1, 2] {
                        let tokens = try PromptTokens.random(
                            count: n, virtualTokens: virtualTokens, hiddenSize: model.config.hiddenSize, seed: seed, scale: 1)
                        for tree in try trees(promptTokens: n, random: &random) {
                            for guessHead in [nil, head] {
                                let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree, guessHead: guessHead)
                                let result = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance())
                                XCTAssertEqual(result.tokens, expected, "\(architecture) seed \(seed) n \(n) v \(virtualTokens) head \(guessHead != nil)")
                                accepted += result.steps.map(\.accepted).reduce(0, +)
                            }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(accepted, 50, "guesses were rarely accepted: the test would not exercise compaction")
    }
}
