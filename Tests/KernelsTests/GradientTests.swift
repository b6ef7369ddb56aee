import Foundation
import XCTest

@testable import Kernels

/// Each input-gradient kernel against central finite differences of its forward kernel (in
/// float32, step 1e-2 or 1e-3; compared relative to the largest gradient component), and the
/// transposed quantized product against the explicit product with decoded rows.
final class GradientTests: XCTestCase {
    var blocks = RandomBlocks(state: 17)

    func random(_ count: Int, _ range: ClosedRange<Float> = -1...1) -> [Float] { (0..<count).map { _ in blocks.uniform(range) } }

    /// Largest |analytic - numeric| over the largest |analytic|, for loss = sum(f(x) * r).
    func check(
        _ x: [Float], _ r: [Float], step: Float = 1e-2, forward: ([Float]) -> [Float], gradient: [Float], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        func loss(_ input: [Float]) -> Double { zip(forward(input), r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        let scale = gradient.map { abs(Double($0)) }.max() ?? 1
        var worst = 0.0
        for i in x.indices {
            var plus = x, minus = x
            plus[i] += step
            minus[i] -= step
            let numeric = (loss(plus) - loss(minus)) / Double(2 * step)
            worst = max(worst, abs(numeric - Double(gradient[i])) / scale)
        }
        XCTAssertLessThan(worst, 3e-3, file: file, line: line)
    }

    func testRmsNormBackward() {
        let rows = 3, width = 20
        let x = random(rows * width), w = random(width, 0.5...1.5), r = random(rows * width)
        var dx = [Float](repeating: 0, count: x.count)
        Norms.rmsNormBackward(input: x, gradOutput: r, gradInput: &dx, rows: rows, width: width, weight: w, eps: 1e-6)
        check(x, r, step: 1e-3, forward: { input in
            var y = input
            Norms.rmsNorm(&y, rows: rows, width: width, weight: w, eps: 1e-6)
            return y
        }, gradient: dx)
    }

    func testGatedActivationBackward() {
        let count = 37
        let g = random(count, -3...3), u = random(count), r = random(count)
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
            check(g, r, step: 1e-3, forward: { apply($0, u) }, gradient: dg)
            check(u, r, step: 1e-3, forward: { apply(g, $0) }, gradient: du)
        }
    }

    func testRopeBackwardIsTheTranspose() {
        let dims = 32, heads = 3
        let table = Rope.table(position: 17, dims: dims, base: 10_000)
        for pairing in [Rope.Pairing.halves, .adjacent] {
            let x = random(heads * dims), r = random(heads * dims)
            var g = r
            Rope.applyBackward(&g, heads: heads, dims: dims, cos: table.cos, sin: table.sin, pairing: pairing)
            check(x, r, forward: { input in
                var y = input
                Rope.apply(&y, heads: heads, dims: dims, cos: table.cos, sin: table.sin, pairing: pairing)
                return y
            }, gradient: g)
        }
    }

    func testMultiplyTransposedEqualsTheExplicitProduct() {
        let rows = 300, columns = 64, count = 3
        for type in [TensorType.f32, .q8_0, .q4_0, .q5_0, .q4_K, .q6_K] {
            let columns = type.blockSize > 32 ? 256 : columns
            let bytes = blocks.matrix(type, rows: rows, columns: columns)
            bytes.withUnsafeBytes { raw in
                let matrix = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                let gradOutput = random(count * rows)
                var expected = [Double](repeating: 0, count: count * columns)
                var row = [Float](repeating: 0, count: columns)
                for r in 0..<rows {
                    matrix.decodeRow(r, into: &row)
                    for j in 0..<count { for c in 0..<columns { expected[j * columns + c] += Double(row[c]) * Double(gradOutput[j * rows + r]) } }
                }
                for threads in [1, 2, 3] {
                    var result = [Float](repeating: .nan, count: count * columns)
                    matrix.multiplyTransposed(gradOutput, count: count, into: &result, pool: ThreadPool(threadCount: threads))
                    let worst = zip(result, expected).map { abs(Double($0) - $1) }.max() ?? 0
                    let scale = expected.map(abs).max() ?? 1
                    XCTAssertLessThan(worst / scale, 1e-5, "\(type) threads \(threads)")
                    if threads > 1 {
                        var single = [Float](repeating: 0, count: count * columns)
                        matrix.multiplyTransposed(gradOutput, count: count, into: &single, pool: .inline)
                        XCTAssertEqual(result, single, "\(type): the thread count changed the result")
                    }
                }
            }
        }
    }

    func testAttentionBackward() {
        let queries = 3, heads = 4, kvHeads = 2, headDim = 32, slots = 6
        let q = random(queries * heads * headDim), keys = random(slots * kvHeads * headDim), values = random(slots * kvHeads * headDim)
        let r = random(queries * heads * headDim)
        let visible: (Int, Int) -> Bool = { i, s in s != 2 && s <= 3 + i }
        func run(_ q: [Float], _ keys: [Float], _ values: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: queries * heads * headDim)
            Attention.run(
                queries: q, queryCount: queries, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: keys, values: values,
                slotCount: slots, scale: 0.3, visible: visible, out: &out, pool: .inline)
            return out
        }
        var dq = [Float](repeating: 0, count: q.count)
        var dk = [Float](repeating: 0, count: keys.count), dv = [Float](repeating: 0, count: values.count)
        Attention.backward(
            queries: q, queryCount: queries, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: keys, values: values,
            slotCount: slots, scale: 0.3, visible: visible, gradOutput: r, gradQueries: &dq, gradKeys: &dk, gradValues: &dv,
            pool: .inline)
        check(q, r, step: 1e-3, forward: { run($0, keys, values) }, gradient: dq)
        check(keys, r, step: 1e-3, forward: { run(q, $0, values) }, gradient: dk)
        check(values, r, step: 1e-3, forward: { run(q, keys, $0) }, gradient: dv)
        // A hidden slot gets no gradient.
        XCTAssertTrue(dk[(2 * kvHeads * headDim)..<(3 * kvHeads * headDim)].allSatisfy { $0 == 0 })
    }
}
