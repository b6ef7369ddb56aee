import Foundation
import Kernels
import Models
import TestSupport
import XCTest

/// The backward pass to the input embeddings against central finite differences of the whole
/// forward, on tiny random models of both architectures (quantized weights, q/k norms, post
/// norms, GELU and SiLU, sliding window, grouped-query attention), for a batch that attends to a
/// cached prefix (with part of the cache hidden) and to itself under a non-causal mask.
final class TransformerBackwardTests: XCTestCase {
    func testBackwardMatchesFiniteDifferences() throws {
        for architecture in TinyModel.Architecture.allCases {
            var spec = TinyModel(architecture)
            spec.seed = 11
            spec.vocab = 40
            let model = try ModelLoader.load(path: try spec.write(), threads: 2)
            let hidden = model.config.hiddenSize
            var random = SplitMix(state: 5)
            let prefix: [Int32] = (0..<14).map { _ in Int32(4 + random.int(36)) }
            let cache = model.makeCache(capacity: 64)
            _ = try model.forward(tokens: prefix, cache: cache)

            // Four rows: two chains of two (like two virtual tokens of two prompt tokens) at
            // positions cut, cut + 1; the first chain sees the cache slots before `cut`, the
            // second only those before `cut - 2` (per-row limits, as batched training cuts use).
            let cut = 11
            let positions: [Int32] = [Int32(cut), Int32(cut), Int32(cut + 1), Int32(cut + 1)]
            var mask = try AttentionMask(
                batchSize: 4,
                batchVisibility: [
                    true, false, false, false,
                    false, true, false, false,
                    true, false, true, false,
                    false, true, false, true,
                ])
            mask.cacheSlotLimits = [cut, cut - 2, cut, cut - 2]  // the second chain sees a shorter prefix
            let embeddings = (0..<4 * hidden).map { _ in random.normal() }
            let weightsOfLoss = (0..<4 * model.config.vocabSize).map { _ in random.normal() }

            func loss(_ e: [Float]) throws -> Double {
                let logits = try model.forward(embeddings: e, positions: positions, mask: mask, cache: cache, logitRows: nil)
                try cache.truncate(to: prefix.count)
                return zip(logits.values, weightsOfLoss).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }

            let tape = ForwardTape()
            _ = try model.forward(
                embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, recordingInto: tape)
            let gradient = try model.backward(tape, gradLogits: weightsOfLoss)
            try cache.truncate(to: prefix.count)
            XCTAssertEqual(gradient.count, embeddings.count)

            var worst = 0.0
            let scale = gradient.map { abs(Double($0)) }.max() ?? 1
            for _ in 0..<24 {
                let i = random.int(embeddings.count)
                let h: Float = 1e-2
                var plus = embeddings, minus = embeddings
                plus[i] += h
                minus[i] -= h
                let numeric = (try loss(plus) - loss(minus)) / Double(2 * h)
                worst = max(worst, abs(numeric - Double(gradient[i])) / scale)
            }
            XCTAssertLessThan(worst, 2e-3, "\(architecture): worst difference relative to the largest gradient")

            // Hidden cache slots and other rows' chains do not leak: row 0's gradient does not
            // depend on row 1's embedding, so the gradient of a loss on row 0's logits alone is
            // zero on row 1.
            var onlyRowZero = [Float](repeating: 0, count: weightsOfLoss.count)
            for j in 0..<model.config.vocabSize { onlyRowZero[j] = weightsOfLoss[j] }
            let tape2 = ForwardTape()
            _ = try model.forward(
                embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, recordingInto: tape2)
            let rowZero = try model.backward(tape2, gradLogits: onlyRowZero)
            try cache.truncate(to: prefix.count)
            XCTAssertTrue(rowZero[hidden..<(2 * hidden)].allSatisfy { $0 == 0 }, "\(architecture)")
            XCTAssertTrue(rowZero[(2 * hidden)...].allSatisfy { $0 == 0 }, "\(architecture)")
            XCTAssertTrue(rowZero[0..<hidden].contains { $0 != 0 }, "\(architecture)")
        }
    }

    /// Hiding cache slots matters: the logits of a batch that sees only the first `cut` slots
    /// equal those of the same batch over a cache that holds only those slots; a limit list of
    /// the wrong length is an error.
    func testCacheSlotLimitsHideTheRestOfTheCache() throws {
        let model = try ModelLoader.load(path: try TinyModel(.gemma3).write())
        let tokens: [Int32] = (0..<12).map { Int32(4 + $0) }
        let full = model.makeCache(capacity: 32)
        _ = try model.forward(tokens: tokens, cache: full)
        let short = model.makeCache(capacity: 32)
        _ = try model.forward(tokens: Array(tokens.prefix(7)), cache: short)
        let embeddings = try model.embed([20, 21])
        var mask = AttentionMask.causal(2)
        mask.cacheSlotLimits = [7, 7]
        let hidden = try model.forward(embeddings: embeddings, positions: [7, 8], mask: mask, cache: full, logitRows: nil)
        let plain = try model.forward(embeddings: embeddings, positions: [7, 8], mask: .causal(2), cache: short, logitRows: nil)
        XCTAssertEqual(hidden.values, plain.values)
        // One limit per batch token, or an error (not an out-of-range read).
        mask.cacheSlotLimits = [7]
        XCTAssertThrowsError(try model.forward(embeddings: embeddings, positions: [7, 8], mask: mask, cache: full, logitRows: nil)) {
            XCTAssertTrue("\($0)".contains("cache limits"), "\($0)")
        }
    }
}

extension TransformerBackwardTests {
    /// The backward pass differentiates float32 products: a model on int8 arithmetic refuses to
    /// record a tape (its gradients would belong to another function) with an error naming the file.
    func testInt8ModelsRefuseToRecordATape() throws {
        try XCTSkipUnless(MatrixArithmetic.isInt8Available, "this CPU has no int8 kernel (AVX2 or AVX-512 VNNI)")
        let path = try TinyModel(.gemma3).write()
        let model = try ModelLoader.load(path: path, arithmetic: .int8)
        let embeddings = try model.embed([5, 6])
        XCTAssertThrowsError(
            try model.forward(
                embeddings: embeddings, positions: [0, 1], mask: .causal(2), cache: model.makeCache(capacity: 8), logitRows: nil,
                recordingInto: ForwardTape())
        ) { XCTAssertTrue("\($0)".contains("float32") && "\($0)".contains(path), "\($0)") }
    }
}
