import Foundation
import XCTest

@testable import Decoding

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
}
