import Foundation
import XCTest

@testable import Decoding
@testable import Trees
import Models
import TestSupport

final class TreeSizingTests: XCTestCase {
    private func profile(_ seconds: [Double]) -> CostProfile {
        CostProfile(
            format: CostProfile.formatName, modelSHA256: "ab", machine: .init(cpu: "test CPU", cores: 2, threads: 2),
            date: "2026-11-26T00:00:00Z", contextLength: 256, runs: 3, kernelRevision: CostProfile.kernelRevision,
            seconds: seconds)
    }

    func testProfileRoundTripInterpolationAndErrors() throws {
        let p = profile([1, 1.5, 2])
        XCTAssertEqual(p.relativeCost(rows: 2), 1.5)
        XCTAssertEqual(p.latency(rows: 5), 3.0)  // extended linearly: 2 + 0.5 per row beyond 3
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try p.write(to: url)
        XCTAssertEqual(try CostProfile(contentsOf: url), p)
        try Data(#"{"format": "ppd-cost-profile/1"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try CostProfile(contentsOf: url)) { XCTAssertTrue("\($0)".contains(url.path)) }
    }

    /// Free rows (a flat cost curve) make the biggest tree best; rows that cost as much as a
    /// whole step each make the smallest one best; the prediction is tokens per step / cost.
    func testSizingFollowsTheCostCurve() throws {
        let accuracies = try GuessAccuracies(perRank: [[0.5, 0.2, 0.1], [0.4, 0.2, 0.1], [0.3, 0.2, 0.1]])
        let builder = TreeBuilder(accuracies: accuracies)
        let flat = TreeSizing(builder: builder, profile: profile(Array(repeating: 1, count: 40)))
        let steep = TreeSizing(builder: builder, profile: profile((1...40).map(Double.init)))
        let curve = try flat.dynamicCurve()
        XCTAssertEqual(try flat.best().size, curve.max { $0.tokensPerStep < $1.tokensPerStep }?.size)
        XCTAssertEqual(try steep.best().size, 2)
        let c = try steep.dynamic(inputLimit: 6)
        XCTAssertEqual(c.predictedSpeedup, c.tokensPerStep / c.relativeCost, accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(c.relativeCost, 4)  // at least the root and its 3 prompt rows
        XCTAssertTrue(curve.allSatisfy { $0.maxRows <= 40 })
    }

    /// Drafted trees (Medusa-style heads: the root and N drafted rows, no prompt rows): one token
    /// plus the N most probable paths' probabilities, priced at 1 + N rows; free rows take the
    /// largest tree measured, rows costing a whole step each the single best guess.
    func testDraftedTreesArePricedWithoutPromptRows() throws {
        let accuracies = try GuessAccuracies(perRank: [[0.5, 0.2, 0.1], [0.4, 0.2, 0.1], [0.3, 0.2, 0.1]])
        let builder = TreeBuilder(accuracies: accuracies)
        let steep = TreeSizing(builder: builder, profile: profile((1...12).map(Double.init)))
        let three = try steep.draftedTree(nodes: 3)
        XCTAssertEqual(three.maxRows, 4)
        XCTAssertEqual(three.relativeCost, 4, accuracy: 1e-12)
        let paths = builder.rankedPaths(maxDepth: 3, limit: 3)
        XCTAssertEqual(three.tokensPerStep, 1 + paths.reduce(0) { $0 + $1.probability }, accuracy: 1e-12)
        XCTAssertEqual(three.tree.tree(forDepth: three.tree.maxDepth)?.nodes.map(\.path), paths.map(\.path))
        XCTAssertEqual(try steep.bestDraftedTree().size, 1)
        let flat = TreeSizing(builder: builder, profile: profile(Array(repeating: 1, count: 12)))
        XCTAssertEqual(try flat.bestDraftedTree().size, 11, "the most nodes whose step the profile measured")
    }

    func testNonDecreasingSmoothing() {
        XCTAssertEqual(CostProfile.nonDecreasing([1, 3, 2, 4]), [1, 2.5, 2.5, 4])
        XCTAssertEqual(CostProfile.nonDecreasing([5, 1, 1, 1]), [2, 2, 2, 2])
        XCTAssertEqual(CostProfile.nonDecreasing([1, 2, 3]), [1, 2, 3])
        XCTAssertEqual(CostProfile.nonDecreasing([]), [])
    }

    /// With guess curves, a step is priced as layers(all rows) + full head(token rows) + guess
    /// head(prompt rows); prompt rows then cost less, and sizing uses it only for the head size
    /// the profile was measured with.
    func testGuessHeadPricing() throws {
        var p = profile([10, 13, 15, 17, 19, 21])
        XCTAssertFalse(p.pricesGuessHead(size: 100))
        XCTAssertEqual(p.relativeCost(exactRows: 2, guessRows: 2), p.relativeCost(rows: 4))
        p.layersSeconds = [5, 6, 7, 8, 9, 10]
        p.guessSeconds = [6, 7, 8, 9, 10, 11]
        p.guessHeadSize = 100
        XCTAssertTrue(p.pricesGuessHead(size: 100))
        XCTAssertFalse(p.pricesGuessHead(size: 200))
        // layers(4) = 8, full head(2) = 13 - 6 = 7, guess head(2) = 7 - 6 = 1: 16 / 10.
        XCTAssertEqual(p.relativeCost(exactRows: 2, guessRows: 2), 1.6, accuracy: 1e-12)
        XCTAssertEqual(p.relativeCost(exactRows: 3, guessRows: 0), p.relativeCost(rows: 3))
        // Beyond the curves, linear: layers(8) = 12; full head(1) = 10 - 5; guess head(7) = 12 - 11.
        XCTAssertEqual(p.relativeCost(exactRows: 1, guessRows: 7), 1.8, accuracy: 1e-12)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try p.write(to: url)
        XCTAssertEqual(try CostProfile(contentsOf: url), p)

        let builder = TreeBuilder(accuracies: try GuessAccuracies(perRank: [[0.5, 0.2], [0.4, 0.2]]))
        let built = try builder.dynamicTree(inputLimit: 3)
        XCTAssertEqual(built.rowSplit(virtualTokens: 2).map { $0.tokens + $0.prompt }, built.rows(virtualTokens: 2))
        XCTAssertEqual(built.rowSplit(virtualTokens: 2)[0].tokens, 1)
        XCTAssertEqual(built.rowSplit(virtualTokens: 2)[0].prompt, 4)
        let plain = try TreeSizing(builder: builder, profile: p).dynamic(inputLimit: 3)
        let headed = try TreeSizing(builder: builder, profile: p, guessHeadSize: 100).dynamic(inputLimit: 3)
        let otherSize = try TreeSizing(builder: builder, profile: p, guessHeadSize: 50).dynamic(inputLimit: 3)
        XCTAssertLessThan(headed.relativeCost, plain.relativeCost)
        XCTAssertEqual(otherSize.relativeCost, plain.relativeCost)
    }

    /// `ForwardBenchmark.run` measures the best-token curve only when asked, at the same sizes,
    /// interleaved with the full one (both relative to their own first size).
    func testBenchmarkMeasuresTheBestTokenCurveWhenAsked() throws {
        let model = try ModelLoader.load(path: try TinyModel(.gemma3).write())
        var bench = ForwardBenchmark(model: model)
        bench.contextLength = 8
        bench.decodeSteps = 2
        bench.runs = 1
        let plain = try bench.run(sizes: [1, 3])
        XCTAssertNil(plain.bestTokenCurve)
        let both = try bench.run(sizes: [1, 3], bestTokens: true)
        let best = try XCTUnwrap(both.bestTokenCurve)
        XCTAssertEqual(best.map(\.tokens), [1, 3])
        XCTAssertEqual(both.costCurve.map(\.tokens), [1, 3])
        XCTAssertTrue(best.allSatisfy { $0.seconds > 0 })
        XCTAssertEqual(best[0].relativeCost, 1)
    }
}
