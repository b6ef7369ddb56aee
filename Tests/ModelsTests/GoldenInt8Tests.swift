import Foundation
import Kernels
import Models
import XCTest

/// The real default model with int8 activations (`MatrixArithmetic.int8`) against the float64
/// oracle and llama.cpp (which also quantizes activations to 8 bits), teacher-forced along each
/// reference's own path.
///
/// Measured 2026-11-27 (5 prompts x 64 steps x top-5 logits): against the oracle mean 0.116,
/// max 0.76, greedy choices differing at 6 steps where the oracle's top-2 margin was at most
/// 0.23; against llama.cpp mean 0.217, max 1.37, 9 differing choices at llama.cpp margins up to
/// 0.36 (the float32 engine: 0.20 and 1.45). The bounds leave room for noise, not for an error
/// (a wrong scale or offset of one block type moves logits by whole units).
final class GoldenInt8Tests: XCTestCase {
    nonisolated(unsafe) private static var cached: Transformer?

    static func model() throws -> Transformer {
        try XCTSkipUnless(MatrixArithmetic.isInt8Available, "this CPU has no int8 kernel (AVX2 or AVX-512 VNNI)")
        if let cached { return cached }
        let model = try ModelLoader.load(path: try RealModel.path(), arithmetic: .int8)
        cached = model
        return model
    }

    /// |int8 - reference| over the reference's top-5 logits at every step, and the reference's
    /// top-2 margins where the greedy choices differ.
    func compare(_ reference: KeyPath<RealModel.Prompt, [[(Int32, Double)]]>, path: KeyPath<RealModel.Prompt, [Int32]>) throws
        -> (differences: [Double], disagreementMargins: [Double])
    {
        let model = try Self.model()
        var differences: [Double] = [], margins: [Double] = []
        for prompt in try RealModel.prompts() {
            let ours = try RealModel.logitsAlong(model, prompt: prompt.promptTokens, path: prompt[keyPath: path])
            for (step, top5) in prompt[keyPath: reference].enumerated() {
                for (id, value) in top5 { differences.append(abs(Double(ours[step][ours[step].startIndex + Int(id)]) - value)) }
                if Int32(ours[step].argmax()) != top5[0].0 { margins.append(top5[0].1 - top5[1].1) }
            }
        }
        return (differences, margins)
    }

    /// Bounds on the differences from one reference: their mean and maximum, the reference's
    /// margins where the greedy choices differ, and how many differ.
    func check(
        _ reference: String, _ result: (differences: [Double], disagreementMargins: [Double]), mean meanBound: Double,
        max maxBound: Double, margin marginBound: Double, disagreements: Int
    ) {
        let (differences, margins) = result
        let mean = differences.reduce(0, +) / Double(max(1, differences.count))
        print("int8: |ours - \(reference)| over its top-5 logits: mean \(mean), max \(differences.max() ?? 0); greedy disagreements at its margins \(margins)")
        XCTAssertEqual(differences.count, 5 * 64 * 5)
        XCTAssertLessThan(mean, meanBound)
        XCTAssertLessThan(differences.max() ?? 0, maxBound)
        for margin in margins { XCTAssertLessThan(margin, marginBound) }
        XCTAssertLessThanOrEqual(margins.count, disagreements)
    }

    func testTracksTheFloat64Oracle() throws {
        check("float64 oracle", try compare(\.oracleSteps, path: \.oracleTokens), mean: 0.2, max: 1.2, margin: 0.5, disagreements: 10)
    }

    func testAgreesWithLlamaCppAlongItsPath() throws {
        check("llama.cpp", try compare(\.llamaSteps64, path: \.llamaTokens), mean: 0.3, max: 1.6, margin: 1.0, disagreements: 12)
    }
}

extension RealModel.Prompt {
    /// llama.cpp's steps with float64 values (for `GoldenInt8Tests.compare`).
    var llamaSteps64: [[(Int32, Double)]] { llamaSteps.map { $0.map { ($0.0, Double($0.1)) } } }
}
