import Foundation
import XCTest

@testable import Kernels

final class DequantizeTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let type: String
            let bytes: [UInt8]
            let values: [Float]
        }
        let cases: [Case]
    }

    /// Every block type decodes to the floats gguf-py (llama.cpp's reference decoder) gives.
    func testEveryBlockTypeMatchesGGUFPy() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/dequant", withExtension: "json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let types = Dictionary(uniqueKeysWithValues: TensorType.allCases.map { ($0.description, $0) })
        XCTAssertEqual(Set(fixture.cases.map(\.type)), Set(types.keys).subtracting(["F32"]))
        for c in fixture.cases {
            let type = try XCTUnwrap(types[c.type])
            XCTAssertEqual(type.byteCount(elements: c.values.count), c.bytes.count, c.type)
            var decoded = [Float](repeating: .nan, count: c.values.count)
            c.bytes.withUnsafeBytes { Dequantize.row(type, from: $0.baseAddress!, count: c.values.count, into: &decoded) }
            var worst: Float = 0
            for (a, b) in zip(decoded, c.values) { worst = max(worst, abs(a - b) / max(abs(b), 1e-3)) }
            // Same formula as ggml; gguf-py may associate a product differently: one rounding apart at most.
            XCTAssertLessThanOrEqual(worst, 2.5e-7, "\(c.type): largest relative difference \(worst)")
            XCTAssertTrue(decoded.allSatisfy(\.isFinite), c.type)
        }
    }

    /// Known values worked by hand: a Q8_0 block with d = 0.5 and q = -16...15.
    func testQ8_0ByHand() {
        var block: [UInt8] = [0x00, 0x38]  // f16 0.5
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        var out = [Float](repeating: 0, count: 32)
        block.withUnsafeBytes { Dequantize.row(.q8_0, from: $0.baseAddress!, count: 32, into: &out) }
        XCTAssertEqual(out, (0..<32).map { Float($0 - 16) * 0.5 })
    }

    /// Encoding to Q8_0 and F16 and decoding again stays within the format's precision.
    func testQuantizeRoundTrip() throws {
        let values = (0..<64).map { sin(Float($0) * 0.37) * 3 }
        for (type, tolerance) in [(TensorType.q8_0, Float(3.0 / 127 / 2 + 1e-3)), (.f16, 2e-3), (.bf16, 2e-2), (.f32, 0)] {
            let bytes = try Quantize.encode(values, as: type)
            XCTAssertEqual(bytes.count, type.byteCount(elements: 64))
            var out = [Float](repeating: 0, count: 64)
            bytes.withUnsafeBytes { Dequantize.row(type, from: $0.baseAddress!, count: 64, into: &out) }
            for (a, b) in zip(out, values) { XCTAssertEqual(a, b, accuracy: tolerance, "\(type)") }
        }
    }
}
