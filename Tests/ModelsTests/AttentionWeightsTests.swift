import Foundation
import Models
import TestSupport
import XCTest

/// The attention weights an intervention reads are the ones attention uses, bit for bit: every
/// head's output is rebuilt from them and the values (fused multiply-adds in slot order, as the
/// attention kernels sum) and must equal the head output the model computed, on tiny models
/// (one head at a time) and on the default model (Gemma 3 270M: four heads share a kv head and
/// run together).
final class AttentionWeightsTests: XCTestCase {
    final class Reader: ActivationIntervention {
        var seen: [InterventionSite: [Float]] = [:]
        let layer: Int
        init(layer: Int) { self.layer = layer }
        var writes: Bool { false }
        func wants(layer: Int, site: InterventionSite) -> Bool {
            layer == self.layer && [.value, .attentionWeights, .headOutput].contains(site)
        }
        func intervene(_ block: ActivationBlock) throws { seen[block.site] = Array(block.values) }
    }

    private func check(_ model: Transformer, prompt: [Int32], layer: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = model.config
        let reader = Reader(layer: layer)
        _ = try model.forward(tokens: prompt, cache: model.makeCache(capacity: prompt.count), interventions: Interventions([reader]))
        let n = prompt.count
        let weights = try XCTUnwrap(reader.seen[.attentionWeights]), values = try XCTUnwrap(reader.seen[.value])
        let output = try XCTUnwrap(reader.seen[.headOutput])
        XCTAssertEqual(weights.count, n * c.heads * n, file: file, line: line)
        var rebuilt = [Float](repeating: 0, count: n * c.qWidth)
        for i in 0..<n {
            for h in 0..<c.heads {
                let kvHead = h / (c.heads / c.kvHeads)
                for d in 0..<c.headDim {
                    var o: Float = 0
                    for s in 0..<n where weights[(i * c.heads + h) * n + s] != 0 {
                        o = o.addingProduct(weights[(i * c.heads + h) * n + s], values[s * c.kvWidth + kvHead * c.headDim + d])
                    }
                    rebuilt[i * c.qWidth + h * c.headDim + d] = o
                }
            }
        }
        XCTAssertEqual(rebuilt, output, "layer \(layer): head outputs rebuilt from the attention weights differ", file: file, line: line)
    }

    func testTinyModels() throws {
        for architecture in TinyModel.Architecture.allCases {
            var spec = TinyModel(architecture)
            spec.vocab = 40
            let model = try ModelLoader.load(path: try spec.write(), threads: 2)
            try check(model, prompt: [2, 7, 11, 4, 9, 13, 5, 8, 30, 21], layer: 1)
        }
    }

    func testTheDefaultModelWhereFourHeadsRunTogether() throws {
        let model = try RealModel.load()
        let prompt: [Int32] = [2, 818, 5279, 4988, 7348, 659, 2604, 236764, 3730, 236764, 532, 3833]
        for layer in [0, 5, 17] { try check(model, prompt: prompt, layer: layer) }
    }
}
