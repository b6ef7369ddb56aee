import Foundation
import XCTest

@testable import Kernels

/// The input-gradient kernels (Gradients.swift, QuantizedMatrix+Transposed.swift): vectors
/// compared by relative L2 error against central finite differences of the float32 forward
/// kernels (loss = sum(forward(x) * R) summed in Double), at small shapes and the shapes
/// training uses; the transposed product also against the explicit product. Their speed is
/// measured by `ppd bench-kernels --transposed`, not here.
final class BackwardTests: XCTestCase {
    var blocks = RandomBlocks(state: 2024)

    func random(_ count: Int, _ range: ClosedRange<Float> = -1...1) -> [Float] { (0..<count).map { _ in blocks.uniform(range) } }

    /// Central differences of loss = sum(forward(x) * r), in Double over the float32 forward.
    func numericGradient(_ x: [Float], _ r: [Float], step: Float, forward: ([Float]) -> [Float]) -> [Double] {
        func loss(_ input: [Float]) -> Double { zip(forward(input), r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        var plus = x, minus = x
        return x.indices.map { i in
            plus[i] = x[i] + step
            minus[i] = x[i] - step
            defer {
                plus[i] = x[i]
                minus[i] = x[i]
            }
            // The step actually taken in float32.
            return (loss(plus) - loss(minus)) / (Double(plus[i]) - Double(minus[i]))
        }
    }

    /// ||analytic - numeric|| / ||numeric||.
    func relativeL2(_ analytic: [Float], _ numeric: [Double]) -> Double {
        let difference = zip(analytic, numeric).reduce(0.0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
        let norm = numeric.reduce(0.0) { $0 + $1 * $1 }
        return (difference / max(norm, 1e-300)).squareRoot()
    }

    /// Gelu and silu gates over saturated inputs (|g| up to 8, where tanh and the sigmoid flatten)
    /// and a count that is not a multiple of 16.
    func testGatedActivationsOverWideRange() {
        let count = 53
        let g = random(count, -8...8), u = random(count), r = random(count)
        for gelu in [true, false] {
            var dg = [Float](repeating: 0, count: count), du = dg
            if gelu {
                Activations.geluTanhGateBackward(gate: g, up: u, gradOutput: r, gradGate: &dg, gradUp: &du, count: count)
            } else {
                Activations.siluGateBackward(gate: g, up: u, gradOutput: r, gradGate: &dg, gradUp: &du, count: count)
            }
            func apply(_ gate: [Float], _ up: [Float]) -> [Float] {
                var out = gate
                if gelu { Activations.geluTanhGate(&out, up, count: count) } else { Activations.siluGate(&out, up, count: count) }
                return out
            }
            let errorGate = relativeL2(dg, numericGradient(g, r, step: 1e-3, forward: { apply($0, u) }))
            let errorUp = relativeL2(du, numericGradient(u, r, step: 1e-3, forward: { apply(g, $0) }))
            XCTAssertLessThan(errorGate, 1e-3, "gelu \(gelu): gate")
            XCTAssertLessThan(errorUp, 1e-3, "gelu \(gelu): up")
        }
    }

    /// RMS norm over Gemma 3 270M's width (640) and an odd width.
    func testRmsNormAtModelWidth() {
        for width in [640, 37] {
            let rows = 2
            let x = random(rows * width, -2...2), w = random(width, 0.5...1.5), r = random(rows * width)
            var dx = [Float](repeating: 0, count: x.count)
            Norms.rmsNormBackward(input: x, gradOutput: r, gradInput: &dx, rows: rows, width: width, weight: w, eps: 1e-6)
            let numeric = numericGradient(x, r, step: 1e-2) { input in
                var y = input
                Norms.rmsNorm(&y, rows: rows, width: width, weight: w, eps: 1e-6)
                return y
            }
            XCTAssertLessThan(relativeL2(dx, numeric), 1e-3, "width \(width)")
        }
    }

    /// The transposed product against finite differences of `multiply` itself (F32 weights, so
    /// the forward is linear and exact up to rounding), for a row count that is not a multiple of
    /// the chunking, fewer rows than one chunk, and 12 gradient rows; with 1 and 2 threads.
    func testMultiplyTransposedIsTheGradientOfMultiply() {
        for (rows, count) in [(1037, 3), (40, 12)] {
            let columns = 64
            let bytes = blocks.matrix(.f32, rows: rows, columns: columns)
            bytes.withUnsafeBytes { raw in
                let matrix = QuantizedMatrix(data: raw.baseAddress!, type: .f32, rows: rows, columns: columns)
                let x = random(count * columns), r = random(count * rows)
                let numeric = numericGradient(x, r, step: 1e-2) { input in
                    var y = [Float](repeating: 0, count: count * rows)
                    matrix.multiply(input, count: count, into: &y, pool: .inline)
                    return y
                }
                for threads in [1, 2] {
                    var gradient = [Float](repeating: .nan, count: count * columns)
                    matrix.multiplyTransposed(r, count: count, into: &gradient, pool: ThreadPool(threadCount: threads))
                    XCTAssertLessThan(relativeL2(gradient, numeric), 1e-3, "rows \(rows) count \(count) threads \(threads)")
                }
            }
        }
    }

    /// The streaming transposed kernel (QuantizedMatrix+Transposed.swift) against the explicit
    /// product with decoded rows (in Double; max error < 1e-5 of the largest element), the same
    /// bits with 1, 2 and 3 threads, and the register-decoding path bitwise equal to decodeRow's.
    func testTransposedKernelEqualsTheExplicitProduct() {
        for type in [TensorType.q8_0, .q4_0, .q5_0, .q4_K, .q6_K, .f32, .f16] {
            for (rows, count) in [(1031, 3), (300, 12), (7, 2)] {
                let columns = type.blockSize > 32 ? 512 : 96
                let bytes = blocks.matrix(type, rows: rows, columns: columns)
                bytes.withUnsafeBytes { raw in
                    let matrix = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                    let gradOutput = random(count * rows)
                    var expected = [Double](repeating: 0, count: count * columns)
                    var row = [Float](repeating: 0, count: columns)
                    for r in 0..<rows {
                        matrix.decodeRow(r, into: &row)
                        for j in 0..<count {
                            for c in 0..<columns { expected[j * columns + c] += Double(row[c]) * Double(gradOutput[j * rows + r]) }
                        }
                    }
                    let scale = expected.map(abs).max() ?? 1
                    var single = [Float](repeating: .nan, count: count * columns)
                    TransposedKernel.run(matrix, gradOutput, count, &single, .inline)
                    let worst = zip(single, expected).map { abs(Double($0) - $1) }.max() ?? 0
                    XCTAssertLessThan(worst / scale, 1e-5, "\(type) rows \(rows) count \(count)")
                    var viaDecodeRow = [Float](repeating: .nan, count: count * columns)
                    TransposedKernel.run(matrix, gradOutput, count, &viaDecodeRow, .inline, decodeInRegisters: false)
                    XCTAssertEqual(single, viaDecodeRow, "\(type): register decoding differs from decodeRow")
                    for threads in [2, 3] {
                        var result = [Float](repeating: .nan, count: count * columns)
                        TransposedKernel.run(matrix, gradOutput, count, &result, ThreadPool(threadCount: threads))
                        XCTAssertEqual(result, single, "\(type): \(threads) threads changed the result")
                    }
                }
            }
        }
    }

    /// Attention backward against finite differences of `Attention.run` for one configuration;
    /// a hidden slot and a query that sees nothing get exactly zero.
    func checkAttention(
        queries: Int, heads: Int, kvHeads: Int, headDim: Int, slots: Int, scale: Float, hiddenSlot: Int,
        visible: @escaping (Int, Int) -> Bool, blindQuery: Int?, file: StaticString = #filePath, line: UInt = #line
    ) {
        let q = random(queries * heads * headDim, -2...2)
        let keys = random(slots * kvHeads * headDim, -2...2), values = random(slots * kvHeads * headDim)
        let r = random(queries * heads * headDim)
        func run(_ q: [Float], _ keys: [Float], _ values: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: queries * heads * headDim)
            Attention.run(
                queries: q, queryCount: queries, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: keys, values: values,
                slotCount: slots, scale: scale, visible: visible, out: &out, pool: .inline)
            return out
        }
        var dq = [Float](repeating: .nan, count: q.count)
        var dk = [Float](repeating: 0, count: keys.count), dv = [Float](repeating: 0, count: values.count)
        Attention.backward(
            queries: q, queryCount: queries, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: keys, values: values,
            slotCount: slots, scale: scale, visible: visible, gradOutput: r, gradQueries: &dq, gradKeys: &dk, gradValues: &dv,
            pool: ThreadPool(threadCount: 2))
        XCTAssertLessThan(relativeL2(dq, numericGradient(q, r, step: 1e-2) { run($0, keys, values) }), 1e-3, "queries", file: file, line: line)
        XCTAssertLessThan(relativeL2(dk, numericGradient(keys, r, step: 1e-2) { run(q, $0, values) }), 1e-3, "keys", file: file, line: line)
        XCTAssertLessThan(relativeL2(dv, numericGradient(values, r, step: 1e-2) { run(q, keys, $0) }), 1e-3, "values", file: file, line: line)
        let kvWidth = kvHeads * headDim
        XCTAssertTrue(dk[(hiddenSlot * kvWidth)..<((hiddenSlot + 1) * kvWidth)].allSatisfy { $0 == 0 }, "a hidden slot has no gradient", file: file, line: line)
        if let blindQuery {
            let width = heads * headDim
            XCTAssertTrue(dq[(blindQuery * width)..<((blindQuery + 1) * width)].allSatisfy { $0 == 0 }, "a query that sees nothing", file: file, line: line)
        }
    }

    /// The training shape: 4 heads sharing 1 kv head, headDim 256, scale 1/16; query 0 sees
    /// nothing, query i > 0 sees slots up to 8 + i except slot 5.
    func testAttentionBackwardAtTrainingShape() {
        checkAttention(
            queries: 3, heads: 4, kvHeads: 1, headDim: 256, slots: 12, scale: 1.0 / 16, hiddenSlot: 5,
            visible: { i, s in i > 0 && s != 5 && s <= 8 + i }, blindQuery: 0)
    }

    /// Grouped-query attention with two kv heads (each shared by two query heads).
    func testAttentionBackwardWithGroupedQueries() {
        checkAttention(
            queries: 3, heads: 4, kvHeads: 2, headDim: 32, slots: 6, scale: 0.3, hiddenSlot: 2,
            visible: { i, s in s != 2 && s <= 3 + i }, blindQuery: nil)
    }

    /// RoPE's backward is the transpose rotation, for both pairings.
    func testRopeBackwardIsTheTranspose() {
        let dims = 32, heads = 3
        let table = Rope.table(position: 17, dims: dims, base: 10_000)
        for pairing in [Rope.Pairing.halves, .adjacent] {
            let x = random(heads * dims), r = random(heads * dims)
            var g = r
            Rope.applyBackward(&g, heads: heads, dims: dims, cos: table.cos, sin: table.sin, pairing: pairing)
            let numeric = numericGradient(x, r, step: 1e-2) { input in
                var y = input
                Rope.apply(&y, heads: heads, dims: dims, cos: table.cos, sin: table.sin, pairing: pairing)
                return y
            }
            XCTAssertLessThan(relativeL2(g, numeric), 1e-3, "\(pairing)")
        }
    }
}
