import Decoding
import Foundation
import Kernels
import Models
import TestSupport
import XCTest

/// Independent sequences in one forward pass (`Transformer.forward(sequences:)`) and batched
/// generation (`BatchGenerator`): each sequence gets bitwise what it gets alone.
final class BatchGenerationTests: XCTestCase {
    func models() throws -> [(String, Transformer)] {
        var result: [(String, Transformer)] = []
        for architecture in [TinyModel.Architecture.gemma3, .llama] {
            result.append(("\(architecture) float32", try ModelLoader.load(path: try TinyModel(architecture).write())))
            if MatrixArithmetic.isInt8Available {
                let spec = TinyModel.int8Ready(architecture, seed: 3, vocab: 96)
                result.append(("\(architecture) int8", try ModelLoader.load(path: try spec.write(), arithmetic: .int8)))
            }
        }
        return result
    }

    /// Sequences with different histories (some past the sliding window) and different numbers of
    /// new tokens: each logits row and each cache is bitwise what a pass over that sequence alone gives.
    func testEachSequenceOfAPassIsBitwiseItsPassAlone() throws {
        for (name, model) in try models() {
            let histories: [[Int32]] = [[2, 5], [2, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25], [2], (0..<20).map { Int32(4 + $0 % 50) }]
            let news: [[Int32]] = [[30], [31, 32, 33], [34, 35], [36]]
            var batchCaches: [KVCache] = [], aloneCaches: [KVCache] = []
            for history in histories {
                for list in [0, 1] {
                    let cache = model.makeCache(capacity: 40)
                    _ = try model.forward(tokens: history, cache: cache)
                    if list == 0 { batchCaches.append(cache) } else { aloneCaches.append(cache) }
                }
            }
            let logits = try model.forward(sequences: zip(news, batchCaches).map { SequenceInput(tokens: $0, cache: $1) })
            XCTAssertEqual(logits.rows.count, news.count, name)
            for k in news.indices {
                let alone = try model.forward(tokens: news[k], cache: aloneCaches[k], logitRows: [news[k].count - 1])
                XCTAssertEqual(logits.row(k).map(\.bitPattern), alone.last.map(\.bitPattern), "\(name) sequence \(k)")
                XCTAssertEqual(batchCaches[k].count, aloneCaches[k].count, name)
                XCTAssertEqual(batchCaches[k].positions, aloneCaches[k].positions, name)
                // The caches hold the same keys and values: the next token gives the same logits.
                let next = try model.forward(tokens: [40], cache: batchCaches[k]).last.map(\.bitPattern)
                XCTAssertEqual(next, try model.forward(tokens: [40], cache: aloneCaches[k]).last.map(\.bitPattern), "\(name) sequence \(k) after")
            }
        }
    }

    /// Greedy and sampled batched generation give every prompt the tokens, stop reason and first
    /// logits the one-at-a-time generator gives it, for batch sizes from 1 to more than the
    /// prompts, prompts of different lengths and sequences that stop at different steps.
    func testBatchedGenerationEqualsOneAtATime() throws {
        for (name, model) in try models() {
            let prompts: [[Int32]] = [[2], [2, 10, 11], [2, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30], [2, 40, 41, 42, 43, 44, 45], [2, 50, 51]]
            for sampling in [SamplingParameters.greedy, SamplingParameters(temperature: 0.9, seed: 11)] {
                let plain = AutoregressiveGenerator(model: model)
                // A stop token that some sequences produce early: the first greedy token of prompt 1.
                let probe = try plain.generate(prompt: prompts[1], options: GenerationOptions(maxTokens: 3, sampling: sampling))
                let options = GenerationOptions(maxTokens: 14, sampling: sampling, stopTokens: [probe.tokens[2]])
                let alone = try prompts.map { try plain.generate(prompt: $0, options: options) }
                for batchSize in [1, 2, 3, 8] {
                    var finished: [Int] = []
                    let batched = try BatchGenerator(model: model).generate(prompts: prompts, options: options, batchSize: batchSize) {
                        index, _ in finished.append(index)
                    }
                    let what = "\(name) \(sampling.temperature == 0 ? "greedy" : "sampled") batch \(batchSize)"
                    XCTAssertEqual(finished.sorted(), Array(prompts.indices), what)
                    for k in prompts.indices {
                        XCTAssertEqual(batched[k].tokens, alone[k].tokens, "\(what) prompt \(k)")
                        XCTAssertEqual(batched[k].stopReason, alone[k].stopReason, "\(what) prompt \(k)")
                        XCTAssertEqual(batched[k].topLogits.map(\.token), alone[k].topLogits.map(\.token), "\(what) prompt \(k)")
                        XCTAssertEqual(batched[k].decodeSteps, alone[k].decodeSteps, "\(what) prompt \(k)")
                    }
                }
                XCTAssertTrue(Set(alone.map(\.stopReason)).count > 1 || Set(alone.map(\.tokens.count)).count > 1,
                              "\(name): the sequences should stop at different points")
            }
        }
    }

    /// Bad batches are refused before anything runs, naming the sequence or prompt; a refused
    /// pass changes no cache.
    func testBadBatchesAreClearErrors() throws {
        var spec = TinyModel(.llama)
        spec.context = 32
        let model = try ModelLoader.load(path: try spec.write())
        let a = model.makeCache(capacity: 8), b = model.makeCache(capacity: 4)
        _ = try model.forward(tokens: [2, 5, 6], cache: b)
        func expect(_ sequences: [SequenceInput], _ text: String) {
            XCTAssertThrowsError(try model.forward(sequences: sequences)) { XCTAssertTrue("\($0)".contains(text), "\($0)") }
        }
        expect([], "no sequences")
        expect([SequenceInput(tokens: [3], cache: a), SequenceInput(tokens: [], cache: b)], "sequence 1 has no tokens")
        expect([SequenceInput(tokens: [3], cache: a), SequenceInput(tokens: [4], cache: a)], "sequence 1 shares its cache")
        expect([SequenceInput(tokens: [3], cache: a), SequenceInput(tokens: [4, 5], cache: b)], "sequence 1 has 3 cached + 2 new tokens")
        expect([SequenceInput(tokens: [3], cache: a), SequenceInput(tokens: [999], cache: b)], "outside the vocabulary")
        XCTAssertEqual(a.count, 0, "a refused pass changes no cache")
        XCTAssertEqual(b.count, 3)
        let other = try ModelLoader.load(path: try TinyModel(.gemma3).write())
        expect([SequenceInput(tokens: [3], cache: other.makeCache(capacity: 4))], "made for another model")

        let generator = BatchGenerator(model: model)
        for (prompts, batch, text) in [([[Int32]]([[2], []]), 2, "prompt 1 is empty"), ([[2], [Int32](repeating: 5, count: 40)], 2, "prompt 1 has 40 tokens"),
                                       ([[2]], 0, "batch size 0"), ([[2]], 257, "batch size 257")] {
            XCTAssertThrowsError(try generator.generate(prompts: prompts, options: GenerationOptions(), batchSize: batch)) {
                XCTAssertTrue("\($0)".contains(text), "\($0)")
            }
        }
        XCTAssertEqual(try generator.generate(prompts: [], options: GenerationOptions(), batchSize: 4).count, 0)
    }

    /// The real model: four prompts of different lengths, greedy, batched = alone.
    func testRealModelBatchedGenerationEqualsOneAtATime() throws {
        let model = try ModelLoader.load(path: try RealModel.path(), arithmetic: MatrixArithmetic.fastest)
        let prompts: [[Int32]] = [
            [2, 818, 5279, 529, 7001, 563], [2, 2094], [2, 9259, 496, 2822, 3925, 1003, 496, 14142, 236761, 108, 10030],
            [2, 1018, 15679, 236769, 236749, 1473],
        ]
        let options = GenerationOptions(maxTokens: 20, stopTokens: [1, 106])
        let alone = try prompts.map { try AutoregressiveGenerator(model: model).generate(prompt: $0, options: options) }
        let batched = try BatchGenerator(model: model).generate(prompts: prompts, options: options, batchSize: 4)
        for k in prompts.indices {
            XCTAssertEqual(batched[k].tokens, alone[k].tokens, "prompt \(k)")
            XCTAssertEqual(batched[k].stopReason, alone[k].stopReason, "prompt \(k)")
        }
    }
}
