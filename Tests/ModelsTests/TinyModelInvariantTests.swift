import Foundation
import Models
import TestSupport
import XCTest

/// Exact invariants of the numerics contract on tiny random models written by our GGUF writer.
final class TinyModelInvariantTests: XCTestCase {
    func load(_ spec: TinyModel, threads: Int = 2) throws -> Transformer {
        try ModelLoader.load(path: try spec.write(), threads: threads)
    }

    func randomTokens(_ count: Int, vocab: Int, _ random: inout SplitMix) -> [Int32] {
        (0..<count).map { _ in Int32(4 + random.int(vocab - 4)) }
    }

    /// A prefill over n tokens gives, at every position, bitwise the logits of decoding the same
    /// tokens one at a time; prompts run past the Gemma sliding window (8) to cover it.
    func testPrefillEqualsTokenByTokenDecode() throws {
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2, 3] {
                var spec = TinyModel(architecture)
                spec.seed = seed
                let model = try load(spec, threads: Int(seed % 3) + 1)
                var random = SplitMix(state: seed)
                let tokens = randomTokens(21, vocab: spec.vocab, &random)
                let prefill = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 64))
                let cache = model.makeCache(capacity: 64)
                for (i, token) in tokens.enumerated() {
                    let step = try model.forward(tokens: [token], cache: cache)
                    XCTAssertEqual(Array(step.row(0)), Array(prefill.row(i)), "\(architecture) seed \(seed) position \(i)")
                }
                // A prefill split into chunks of mixed sizes agrees as well.
                let chunked = model.makeCache(capacity: 64)
                var logits: [[Float]] = []
                for range in [0..<5, 5..<6, 6..<17, 17..<21] {
                    let out = try model.forward(tokens: Array(tokens[range]), cache: chunked)
                    logits += (0..<range.count).map { Array(out.row($0)) }
                }
                for i in 0..<tokens.count { XCTAssertEqual(logits[i], Array(prefill.row(i)), "\(architecture) chunked position \(i)") }
            }
        }
    }

    /// A random tree forwarded in one batch under a tree mask gives every node bitwise the logits
    /// of decoding its root-to-node path alone; keeping one path's cache entries (compaction)
    /// leaves the cache as if that path had been decoded.
    func testTreeMaskEqualsDecodingEachPath() throws {
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(4), 5] {
                var spec = TinyModel(architecture)
                spec.seed = seed
                let model = try load(spec)
                var random = SplitMix(state: seed * 31)
                let prefix = randomTokens(6, vocab: spec.vocab, &random)
                let nodes = 12
                var parents: [Int?] = [nil]
                for i in 1..<nodes { parents.append(random.int(i)) }
                let tokens = randomTokens(nodes, vocab: spec.vocab, &random)
                func path(_ node: Int) -> [Int] {
                    var out: [Int] = []
                    var current: Int? = node
                    while let c = current {
                        out.insert(c, at: 0)
                        current = parents[c]
                    }
                    return out
                }
                let positions = (0..<nodes).map { Int32(prefix.count + path($0).count - 1) }

                let cache = model.makeCache(capacity: 64)
                _ = try model.forward(tokens: prefix, cache: cache)
                let tree = try model.forward(
                    embeddings: try model.embed(tokens), positions: positions, mask: try .tree(parents: parents), cache: cache,
                    logitRows: nil, hook: nil)

                for node in 0..<nodes {
                    let alone = model.makeCache(capacity: 64)
                    _ = try model.forward(tokens: prefix, cache: alone)
                    let out = try model.forward(tokens: path(node).map { tokens[$0] }, cache: alone)
                    XCTAssertEqual(Array(out.last), Array(tree.row(node)), "\(architecture) seed \(seed) node \(node)")
                }

                // Keep the deepest node's path, then decode one more token: same as the path alone.
                let deepest = (0..<nodes).max { path($0).count < path($1).count }!
                try cache.keep(from: prefix.count, slots: path(deepest).map { prefix.count + $0 })
                XCTAssertEqual(cache.positions, (0..<Int32(prefix.count + path(deepest).count)).map { $0 })
                let next: Int32 = 7
                let afterTree = try model.forward(tokens: [next], cache: cache)
                let check = model.makeCache(capacity: 64)
                let full = try model.forward(tokens: prefix + path(deepest).map { tokens[$0] } + [next], cache: check)
                XCTAssertEqual(Array(afterTree.last), Array(full.last), "\(architecture) after compaction")
            }
        }
    }

    /// Sliding-window layers really forget: with window 8, logits at position 20 do not depend
    /// on token 0 through the local layers alone, but the global layer sees it (so they do).
    func testSlidingWindowIsApplied() throws {
        var spec = TinyModel(.gemma3)
        spec.layers = 2  // both local: no global layer
        let model = try load(spec)
        var random = SplitMix(state: 8)
        var tokens = randomTokens(20, vocab: spec.vocab, &random)
        let a = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), logitRows: [19])
        tokens[0] = tokens[0] == 5 ? 6 : 5
        let b = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), logitRows: [19])
        // Two local layers reach back at most 2 * 7 positions: position 19 cannot see position 0.
        XCTAssertEqual(Array(a.last), Array(b.last))
        let near = try model.forward(tokens: Array(tokens.prefix(8)), cache: model.makeCache(capacity: 32), logitRows: [7])
        tokens[0] = tokens[0] == 5 ? 6 : 5
        let nearChanged = try model.forward(tokens: Array(tokens.prefix(8)), cache: model.makeCache(capacity: 32), logitRows: [7])
        XCTAssertNotEqual(Array(near.last), Array(nearChanged.last))
    }

    /// Activation taps see every layer and tap with the right shapes.
    func testActivationHookSeesEveryTap() throws {
        final class Recorder: ActivationHook {
            var seen: [String: (rows: Int, width: Int)] = [:]
            func wants(layer: Int, tap: ActivationTap) -> Bool { true }
            func record(layer: Int, tap: ActivationTap, values: UnsafeBufferPointer<Float>, rows: Int, width: Int) {
                seen["\(layer)/\(tap.rawValue)"] = (rows, width)
            }
        }
        let spec = TinyModel(.llama)
        let model = try load(spec)
        let recorder = Recorder()
        _ = try model.forward(tokens: [5, 6, 7], cache: model.makeCache(capacity: 8), hook: recorder)
        XCTAssertEqual(recorder.seen.count, spec.layers * ActivationTap.allCases.count)
        XCTAssertTrue(recorder.seen.values.allSatisfy { $0.rows == 3 && $0.width == spec.hidden })
    }
}
