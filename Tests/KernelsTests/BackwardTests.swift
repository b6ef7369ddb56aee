import Foundation
import XCTest

@testable import Kernels

/// Checks of the input-gradient kernels (Gradients.swift) at the shapes training uses, beyond
/// GradientTests' small cases: vectors compared by relative L2 error against central finite
/// differences of the float32 forward kernels (loss = sum(forward(x) * R) summed in Double),
/// plus a benchmark of the transposed product on the output layer's shape (run it with
/// PPD_BENCHMARK=1; skipped otherwise).
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

    /// Attention at the training shape (4 heads sharing 1 kv head, headDim 256, scale 1/16) over a
    /// causal rule with a hidden slot; and a query that sees no slot gets a zero gradient.
    func testAttentionBackwardAtTrainingShape() {
        let queries = 3, heads = 4, kvHeads = 1, headDim = 256, slots = 12, scale: Float = 1.0 / 16
        let q = random(queries * heads * headDim, -2...2)
        let keys = random(slots * kvHeads * headDim, -2...2), values = random(slots * kvHeads * headDim)
        let r = random(queries * heads * headDim)
        // Query 0 sees nothing; query i > 0 sees slots up to 8 + i except slot 5.
        let visible: (Int, Int) -> Bool = { i, s in i > 0 && s != 5 && s <= 8 + i }
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
        let errorQ = relativeL2(dq, numericGradient(q, r, step: 1e-2) { run($0, keys, values) })
        let errorK = relativeL2(dk, numericGradient(keys, r, step: 1e-2) { run(q, $0, values) })
        let errorV = relativeL2(dv, numericGradient(values, r, step: 1e-2) { run(q, keys, $0) })
        XCTAssertLessThan(errorQ, 1e-3)
        XCTAssertLessThan(errorK, 1e-3)
        XCTAssertLessThan(errorV, 1e-3)
        XCTAssertTrue(dq[0..<(heads * headDim)].allSatisfy { $0 == 0 }, "a query that sees nothing has no gradient")
        XCTAssertTrue(dk[(5 * headDim)..<(6 * headDim)].allSatisfy { $0 == 0 }, "a hidden slot has no gradient")
        print("attention backward relative L2: q \(errorQ) keys \(errorK) values \(errorV)")
    }

    /// The output layer's shape (262144 x 640 Q8_0, 178 MB) with 3 gradient rows: the transposed
    /// product next to the forward product on the same matrix, best of 7, on a 2-thread pool.
    func testBenchmarkTransposedOutputLayer() throws {
        guard ProcessInfo.processInfo.environment["PPD_BENCHMARK"] == "1" else { throw XCTSkip("set PPD_BENCHMARK=1") }
        let rows = 262_144, columns = 640, count = 3
        let type = TensorType.q8_0
        let rowBytes = type.byteCount(elements: columns)
        let data = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes, alignment: 64)
        defer { data.deallocate() }
        var state: UInt64 = 88_172_645_463_325_252
        for i in 0..<(rows * rowBytes / 8) {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            data.storeBytes(of: state, toByteOffset: 8 * i, as: UInt64.self)
        }
        for b in 0..<(rows * rowBytes / 34) { data.storeBytes(of: Float16(0.01).bitPattern, toByteOffset: 34 * b, as: UInt16.self) }
        let matrix = QuantizedMatrix(data: data, type: type, rows: rows, columns: columns)
        let pool = ThreadPool(threadCount: 2)
        let x = random(count * columns)
        let gradOutput = random(count * rows)
        var y = [Float](repeating: 0, count: count * rows)
        var gradInput = [Float](repeating: 0, count: count * columns)
        var streamed = gradInput
        var forward: [Double] = [], transposed: [Double] = [], kernel: [Double] = []
        func time(_ into: inout [Double], _ body: () -> Void) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            into.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        for _ in 0..<7 {
            time(&forward) { matrix.multiply(x, count: count, into: &y, pool: pool) }
            time(&transposed) { matrix.multiplyTransposed(gradOutput, count: count, into: &gradInput, pool: pool) }
            time(&kernel) { TransposedKernel.run(matrix, gradOutput, count, &streamed, pool) }
        }
        let f = forward.min()!, t = transposed.min()!, k = kernel.min()!
        print(String(format: "262144x640 Q8_0, count 3, 2 threads, best of 7: multiply %.2f ms, multiplyTransposed %.2f ms (%.2fx), TransposedKernel %.2f ms (%.2fx)",
                     f, t, t / f, k, k / f))
        print(String(format: "medians: %.2f / %.2f / %.2f ms", forward.sorted()[3], transposed.sorted()[3], kernel.sorted()[3]))
        let difference = zip(gradInput, streamed).map { abs($0 - $1) }.max()!, largest = gradInput.map(abs).max()!
        XCTAssertLessThan(difference / largest, 1e-4)
    }
}
