import Decoding
import Foundation
import Models
import TestSupport
import XCTest

/// The bytes prompt decoding adds: the logits term bounds the logits every pass really holds,
/// and greedy node rows cost no vocabulary rows (while a trace that reads them does).
final class PromptDecodingMemoryTests: XCTestCase {
    /// Records the logits floats of every pass it sees.
    final class LogitsSizes: DecodingObserver {
        let readsNodeLogits: Bool
        var largest = 0
        init(readsNodeLogits: Bool) { self.readsNodeLogits = readsNodeLogits }
        func activationHook(forStep step: Int) -> ActivationHook? { nil }
        func didPrefill(logits: Logits, prompt: [Int32], promptTokens: Int, virtualTokens: Int) { largest = max(largest, logits.values.count) }
        func didVerify(step: Int, logits: Logits, layout: VerificationLayout, merge: DraftMerge, acceptance: Acceptance) {
            largest = max(largest, logits.values.count)
        }
    }

    func testAddedLogitsBoundTheLogitsOfEveryPass() throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 512
        spec.context = 192
        let model = try ModelLoader.load(path: try spec.write(), threads: 2)
        let tokens = try PromptTokens.random(count: 3, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 9, scale: 1)
        let tree = DynamicTree(staticTree: try TokenTree(paths: [[0], [1], [2], [0, 0], [0, 1], [1, 0], [0, 0, 0]], promptTokens: 3))
        let prompt: [Int32] = [2, 7, 9, 11, 30, 5]
        let options = GenerationOptions(maxTokens: 24)
        let head = try model.makeGuessHead(tokens: (0..<Int32(512)).filter { $0 % 4 == 0 })
        for guessHead in [nil, head] {
            let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree, guessHead: guessHead)
            var largest: [Bool: Int] = [:]
            for reads in [false, true] {
                let observer = LogitsSizes(readsNodeLogits: reads)
                _ = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance(), observer: observer)
                let memory = decoder.addedMemory(promptLength: prompt.count, maxTokens: 24, policy: GreedyAcceptance(), observer: observer)
                XCTAssertLessThanOrEqual((observer.largest - 512) * 4, memory.logits, "head \(guessHead != nil) reads \(reads)")
                XCTAssertEqual(memory.promptTokens, 3 * model.config.hiddenSize * 4)
                XCTAssertEqual(memory.guessHead, guessHead?.addedBytes ?? 0)
                XCTAssertGreaterThan(memory.cache, 0)
                largest[reads] = observer.largest
            }
            // Reading node logits costs a vocabulary row per node of the widest layout (8 nodes).
            XCTAssertGreaterThanOrEqual(largest[true]! - largest[false]!, 7 * 512, "head \(guessHead != nil)")
        }
    }
}
