import Decoding
import Foundation
import Models
import Tokenizer
import XCTest

/// Prompt decoding on the real model: greedy PPD output equals the float64 oracle's greedy
/// continuation (which plain greedy decoding also equals, see GoldenTests), and autoregressive
/// greedy output on more prompts, with text-initialised and random prompt tokens and trees of
/// several shapes.
final class PromptDecodingGoldenTests: XCTestCase {
    typealias Node = TokenTree.Node

    /// A branching dynamic tree for two prompt tokens.
    func branchingTree() throws -> DynamicTree {
        try DynamicTree(
            promptTokens: 2,
            trees: [
                1: [Node([0], promptTokens: 2), Node([1], promptTokens: 1)],
                2: [Node([0], promptTokens: 2), Node([1], promptTokens: 1), Node([0, 0], promptTokens: 2)],
            ])
    }

    func testGreedyPromptDecodingEqualsTheOracleOnTheReferencePrompts() throws {
        let model = try RealModel.load()
        let tokenizer = try SentencePieceTokenizer(gguf: model.file)
        let text = tokenizer.encode(PromptTokens.paperInitialText(count: 3), addSpecial: false)
        let textTokens = try PromptTokens.fromText(tokenIDs: text, count: 3, virtualTokens: 1, model: model)
        var randomTokens = try PromptTokens.random(
            count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 42, scale: 1)
        randomTokens.attention = .ensemble
        let chain = try DynamicTree(promptTokens: 3, trees: [3: [Node([0], promptTokens: 3), Node([0, 0], promptTokens: 3), Node([0, 0, 0], promptTokens: 3)]])
        let configurations: [(PromptTokens, DynamicTree, String)] = [
            (textTokens, chain, "text-initialised, chain of 3"),
            (randomTokens, try branchingTree(), "random, 2 virtual tokens, branching"),
        ]
        let length = 32
        var accepted = 0
        for (tokens, tree, what) in configurations {
            let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
            for prompt in try RealModel.prompts() {
                let result = try decoder.generate(
                    prompt: prompt.promptTokens, options: GenerationOptions(maxTokens: length), policy: GreedyAcceptance())
                XCTAssertEqual(result.tokens, Array(prompt.oracleTokens.prefix(length)), "\(what): \(prompt.text)")
                accepted += result.steps.map(\.accepted).reduce(0, +)
            }
        }
        XCTAssertGreaterThan(accepted, 5, "no guess was accepted: the test would not exercise compaction")
    }

    /// More prompts (questions from MT-Bench, GSM8K and HumanEval in a plain User/Assistant
    /// template) against autoregressive greedy decoding.
    func testGreedyPromptDecodingEqualsAutoregressiveOnMorePrompts() throws {
        let model = try RealModel.load()
        let tokenizer = try SentencePieceTokenizer(gguf: model.file)
        let questions = [
            "Compose an engaging travel blog post about a recent trip to Hawaii.",
            "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
            "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than given threshold.",
            "Write a persuasive email to convince your introverted friend to volunteer as a guest speaker.",
        ]
        let text = tokenizer.encode(PromptTokens.paperInitialText(count: 2), addSpecial: false)
        let tokens = try PromptTokens.fromText(tokenIDs: text, count: 2, virtualTokens: 1, model: model)
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: try branchingTree())
        // The same with the prompt rows on a guess head (every token id below 16,384 and every
        // fifth above): the output layer's Q8_0 rows gathered into a smaller matrix.
        let head = try model.makeGuessHead(
            tokens: (0..<Int32(model.config.vocabSize)).filter { $0 < 16384 || $0 % 5 == 0 })
        let headed = try PromptDecoder(model: model, promptTokens: tokens, tree: try branchingTree(), guessHead: head)
        // And with prompt-lookup drafts merged into the tree, and prompt lookup alone.
        let lookup = try PromptLookupDrafter(ngramSizes: 1...3, draftLength: 6)
        let merged = try PromptDecoder(
            model: model, promptTokens: tokens, tree: try branchingTree(), guessHead: head, drafter: lookup, draftRowLimit: 6)
        let lookupAlone = try PromptDecoder(model: model, promptTokens: tokens, tree: .rootOnly, drafter: lookup, draftRowLimit: 6)
        var acceptedDrafted = 0
        let options = GenerationOptions(maxTokens: 24, stopTokens: [1, 106])
        for question in questions {
            let prompt = tokenizer.encode("User: \(question)\nAssistant:")
            let plain = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options)
            for ppd in [
                try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance()),
                try headed.generate(prompt: prompt, options: options, policy: GreedyAcceptance()),
                try merged.generate(prompt: prompt, options: options, policy: GreedyAcceptance()),
                try lookupAlone.generate(prompt: prompt, options: options, policy: GreedyAcceptance()),
            ] {
                acceptedDrafted += ppd.steps.map(\.acceptedDrafted).reduce(0, +)
                XCTAssertEqual(ppd.tokens, plain.tokens, question)
                XCTAssertEqual(ppd.stopReason, plain.stopReason, question)
            }
        }
        XCTAssertGreaterThan(acceptedDrafted, 4, "no drafted token was accepted: the test would not exercise the merge")
    }
}
