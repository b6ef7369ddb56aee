import Foundation
import XCTest

@testable import Kernels

final class OpsTests: XCTestCase {
    func testRMSNorm() {
        var x: [Float] = (0..<32).map { Float($0) - 10 }
        let w = [Float](repeating: 2, count: 32)
        let rms = (x.map { Double($0 * $0) }.reduce(0, +) / 32 + 1e-6).squareRoot()
        let expected = x.map { Float(Double($0) / rms * 2) }
        Norms.rmsNorm(&x, rows: 1, width: 32, weight: w, eps: 1e-6)
        for (a, b) in zip(x, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testRopeRotatesPairsAndKeepsNorms() {
        let dims = 8
        let (c, s) = Rope.table(position: 3, dims: dims, base: 10_000)
        for pairing in [Rope.Pairing.halves, .adjacent] {
            var v: [Float] = (0..<dims).map { Float($0 + 1) }
            Rope.apply(&v, heads: 1, dims: dims, cos: c, sin: s, pairing: pairing)
            for i in 0..<dims / 2 {
                let (a, b) = pairing == .halves ? (i, i + dims / 2) : (2 * i, 2 * i + 1)
                let x0 = Float(a + 1), x1 = Float(b + 1), angle = 3 * pow(10_000, -2 * Double(i) / Double(dims))
                XCTAssertEqual(v[a], x0 * Float(cos(angle)) - x1 * Float(sin(angle)), accuracy: 1e-5)
                XCTAssertEqual(v[b], x0 * Float(sin(angle)) + x1 * Float(cos(angle)), accuracy: 1e-5)
            }
        }
    }

    func testGeluAndSiluGates() {
        var g: [Float] = [-2, -0.5, 0, 0.5, 2]
        let up: [Float] = [1, 2, 3, 4, 5]
        let gelu = g.enumerated().map { i, x -> Float in
            let xd = Double(x)
            return Float(0.5 * xd * (1 + tanh((2 / Double.pi).squareRoot() * (xd + 0.044715 * xd * xd * xd))) * Double(up[i]))
        }
        Activations.geluTanhGate(&g, up, count: 5)
        for (a, b) in zip(g, gelu) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        var s: [Float] = [-2, 0, 3]
        Activations.siluGate(&s, [1, 1, 2], count: 3)
        XCTAssertEqual(s[0], Float(-2 / (1 + exp(2.0))), accuracy: 1e-6)
        XCTAssertEqual(s[1], 0)
        XCTAssertEqual(s[2], Float(3 / (1 + exp(-3.0)) * 2), accuracy: 1e-5)
    }

    func testAttentionMatchesSoftmaxReference() {
        let heads = 2, kvHeads = 1, headDim = 32, slots = 5
        let q: [Float] = (0..<heads * headDim).map { sin(Float($0)) }
        let k: [Float] = (0..<slots * headDim).map { cos(Float($0) * 0.3) }
        let v: [Float] = (0..<slots * headDim).map { Float($0 % 7) - 3 }
        var out = [Float](repeating: 0, count: heads * headDim)
        let pool = ThreadPool(threadCount: 2)
        Attention.run(
            queries: q, queryCount: 1, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: k, values: v,
            slotCount: slots, scale: 0.25, visible: { _, s in s != 2 }, out: &out, pool: pool)
        for h in 0..<heads {
            var scores: [Double] = []
            for s in 0..<slots where s != 2 {
                scores.append(0.25 * (0..<headDim).map { Double(q[h * headDim + $0]) * Double(k[s * headDim + $0]) }.reduce(0, +))
            }
            let m = scores.max()!
            let e = scores.map { exp($0 - m) }
            let total = e.reduce(0, +)
            let visible = (0..<slots).filter { $0 != 2 }
            for d in 0..<headDim {
                let expected = zip(visible, e).map { Double(v[$0 * headDim + d]) * $1 / total }.reduce(0, +)
                XCTAssertEqual(Double(out[h * headDim + d]), expected, accuracy: 1e-5)
            }
        }
    }

    /// A query alone runs head by head; in a batch the four heads of a kv head run together. Both
    /// must give the same bits for every row under a tree-like mask (each row sees a different
    /// subset), on 1 and 2 threads, and match the float64 softmax.
    func testSharedKVHeadAttentionIsBitwiseTheSingleHeadPath() {
        for (heads, kvHeads, headDim) in [(4, 1, 64), (8, 2, 128)] {
            let queries = 24, slots = 53
            let q: [Float] = (0..<queries * heads * headDim).map { sin(Float($0) * 0.37) }
            let k: [Float] = (0..<slots * kvHeads * headDim).map { cos(Float($0) * 0.11) }
            let v: [Float] = (0..<slots * kvHeads * headDim).map { Float(($0 * 13) % 17) / 4 - 2 }
            let visible: (Int, Int) -> Bool = { i, s in s < 30 || (s - 30) % (i % 5 + 1) == 0 }
            let width = heads * headDim
            for threads in [1, 2] {
                let pool = ThreadPool(threadCount: threads)
                var batch = [Float](repeating: .nan, count: queries * width)
                Attention.run(
                    queries: q, queryCount: queries, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: k,
                    values: v, slotCount: slots, scale: 0.125, visible: visible, out: &batch, pool: pool)
                for i in 0..<queries {
                    var alone = [Float](repeating: .nan, count: width)
                    Array(q[(i * width)..<((i + 1) * width)]).withUnsafeBufferPointer { row in
                        Attention.run(
                            queries: row.baseAddress!, queryCount: 1, heads: heads, kvHeads: kvHeads, headDim: headDim,
                            keys: k, values: v, slotCount: slots, scale: 0.125, visible: { visible(i, $1) }, out: &alone,
                            pool: pool)
                    }
                    XCTAssertEqual(alone.map(\.bitPattern), batch[(i * width)..<((i + 1) * width)].map(\.bitPattern), "row \(i), \(heads) heads, \(threads) threads")
                }
            }
            // The float64 softmax for one head of one row.
            let i = 7, h = 5 % heads, kvHead = h / (heads / kvHeads)
            var out = [Float](repeating: 0, count: queries * width)
            Attention.run(
                queries: q, queryCount: queries, heads: heads, kvHeads: kvHeads, headDim: headDim, keys: k, values: v,
                slotCount: slots, scale: 0.125, visible: visible, out: &out, pool: ThreadPool(threadCount: 2))
            let seen = (0..<slots).filter { visible(i, $0) }
            let scores = seen.map { s in
                0.125 * (0..<headDim).map { Double(q[i * width + h * headDim + $0]) * Double(k[(s * kvHeads + kvHead) * headDim + $0]) }.reduce(0, +)
            }
            let e = scores.map { exp($0 - scores.max()!) }, total = e.reduce(0, +)
            for d in 0..<headDim {
                let expected = zip(seen, e).map { Double(v[($0 * kvHeads + kvHead) * headDim + d]) * $1 / total }.reduce(0, +)
                XCTAssertEqual(Double(out[i * width + h * headDim + d]), expected, accuracy: 1e-5)
            }
        }
    }

    func testThreadPoolRunsEveryTaskOnce() {
        let pool = ThreadPool(threadCount: 3)
        for tasks in [1, 2, 3, 7, 64] {
            var hits = [Int](repeating: 0, count: tasks)
            hits.withUnsafeMutableBufferPointer { buffer in
                let b = buffer
                pool.run(tasks: tasks) { b[$0] += 1 }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: tasks))
        }
        var covered = [Int](repeating: 0, count: 101)
        covered.withUnsafeMutableBufferPointer { buffer in
            let b = buffer
            pool.parallelFor(count: 101, granularity: 4) { range in for i in range { b[i] += 1 } }
        }
        XCTAssertEqual(covered, [Int](repeating: 1, count: 101))
    }

    /// Many short jobs whose task counts alternate, on more threads than this machine has cores,
    /// so that workers are preempted at every point of the claim loop. Every task of every job
    /// must run exactly once, and all of them before `run` returns: a worker that was preempted
    /// between reading the claim word and claiming must not claim a task of the next job against
    /// the old job's claim word (that ran a task twice and let `run` return early).
    func testThreadPoolKeepsJobsApartUnderPreemption() {
        let pool = ThreadPool(threadCount: 4, spinIterations: 50)
        let jobs = 60_000
        let sizes = [2, 37, 3, 64, 1, 9]
        var slots = [Int](repeating: 0, count: 64)
        var wrongJobs = 0
        slots.withUnsafeMutableBufferPointer { buffer in
            let b = buffer
            for job in 0..<jobs {
                let tasks = sizes[job % sizes.count]
                pool.run(tasks: tasks) { b[$0] += 1 }
                var ok = true
                for i in 0..<tasks where b[i] != 1 { ok = false }
                if !ok { wrongJobs += 1 }
                for i in 0..<tasks { b[i] = 0 }
            }
        }
        XCTAssertEqual(wrongJobs, 0, "jobs with a task run twice or not finished when run returned")
    }
}

final class VectorMathTests: XCTestCase {
    func testExpAndTanhAreAccurateToAFewUlps() {
        var worstExp: Float = 0, worstTanh: Float = 0
        var x: Float = -20
        while x < 20 {
            let v = SIMD16<Float>((0..<16).map { x + Float($0) * 0.0013 })
            let e = VectorMath.exp(v), t = VectorMath.tanh(v)
            for i in 0..<16 {
                worstExp = max(worstExp, abs(e[i] - Foundation.exp(v[i])) / Foundation.exp(v[i]))
                worstTanh = max(worstTanh, abs(t[i] - Foundation.tanh(v[i])))
            }
            x += 0.0213
        }
        XCTAssertLessThan(worstExp, 4e-7)
        XCTAssertLessThan(worstTanh, 3e-7)
        let extremes = VectorMath.exp(SIMD16<Float>(repeating: 1000))
        XCTAssertTrue(extremes[0].isFinite)
        XCTAssertEqual(VectorMath.tanh(SIMD16<Float>(repeating: 50))[0], 1)
        XCTAssertEqual(VectorMath.tanh(SIMD16<Float>(repeating: -50))[0], -1)
    }
}
