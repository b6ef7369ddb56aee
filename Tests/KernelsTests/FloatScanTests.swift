import XCTest

import CKernelSupport
@testable import Kernels

/// `FloatScan` (vector scans in C) against the scalar loops they replace, on rows full of the
/// cases that differ between careless vector code and the scalar rule: NaN, infinities, signed
/// zeros and ties, at every length and start up to 70 (the vector widths' tails).
final class FloatScanTests: XCTestCase {
    /// The scalar rules: the largest non-NaN value, the first equal index, the first largest.
    private func scalarMax(_ v: [Float]) -> Float { v.reduce(-Float.infinity) { $1 > $0 ? $1 : $0 } }
    private func scalarFind(_ v: [Float], _ value: Float, from start: Int) -> Int {
        (start..<v.count).first { v[$0] == value } ?? v.count
    }
    private func scalarArgmax(_ v: [Float]) -> Int {
        guard !v.isEmpty else { return 0 }
        var best = 0
        for i in 1..<v.count where v[i] > v[best] { best = i }
        return best
    }

    func testScansGiveTheScalarLoopsAnswers() {
        var random = RandomBlocks(state: 0x9E37_79B9)
        func next() -> UInt64 { random.next() }
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1, 1, 2, -3]
        for trial in 0..<400 {
            let count = trial % 71
            let v: [Float] = (0..<count).map { _ in
                next() % 4 == 0 ? specials[Int(next() % UInt64(specials.count))] : Float(Int(next() % 7)) - 3
            }
            v.withUnsafeBufferPointer { p in
                let base = p.baseAddress ?? UnsafePointer(bitPattern: 16)!
                let largest = FloatScan.max(base, count: count)
                XCTAssertEqual(largest, scalarMax(v), "max of \(v)")
                for start in 0...count {
                    XCTAssertEqual(
                        FloatScan.firstIndex(of: largest, in: base, from: start, count: count),
                        scalarFind(v, largest, from: start), "find \(largest) from \(start) in \(v)")
                }
                XCTAssertEqual(FloatScan.argmax(base, count: count), scalarArgmax(v), "argmax of \(v)")
                // Every width the CPU can run (AVX-512, AVX2, scalar) gives the same answers.
                for width: Int32 in [512, 256, 1] {
                    XCTAssertEqual(ppd_f32_max_width(base, count, width), largest, "width \(width) max of \(v)")
                    for start in 0...count {
                        XCTAssertEqual(
                            ppd_f32_find_equal_width(base, start, count, largest, width), scalarFind(v, largest, from: start),
                            "width \(width)")
                        XCTAssertEqual(
                            ppd_f32_find_above_width(base, start, count, 0, width), (start..<count).first { v[$0] > 0 } ?? count,
                            "width \(width)")
                    }
                }
                for threshold in specials where !threshold.isNaN {
                    for start in 0...count {
                        XCTAssertEqual(
                            FloatScan.firstIndex(above: threshold, in: base, from: start, count: count),
                            (start..<count).first { v[$0] > threshold } ?? count, "above \(threshold) from \(start) in \(v)")
                    }
                }
            }
        }
    }

    /// The scalar rule's corner: a NaN at index 0 wins (nothing is larger than it); elsewhere a
    /// NaN never wins; all NaN finds nothing equal to the -infinity maximum.
    func testNaNRules() {
        let nanFirst: [Float] = [.nan] + [Float](repeating: 5, count: 40)
        XCTAssertEqual(nanFirst.withUnsafeBufferPointer { FloatScan.argmax($0.baseAddress!, count: 41) }, 0)
        var nanLater = [Float](repeating: 1, count: 40)
        nanLater[20] = .nan
        nanLater[30] = 4
        XCTAssertEqual(nanLater.withUnsafeBufferPointer { FloatScan.argmax($0.baseAddress!, count: 40) }, 30)
        let allNaN = [Float](repeating: .nan, count: 33)
        allNaN.withUnsafeBufferPointer { p in
            XCTAssertEqual(FloatScan.max(p.baseAddress!, count: 33), -.infinity)
            XCTAssertEqual(FloatScan.firstIndex(of: -.infinity, in: p.baseAddress!, count: 33), 33)
        }
    }
}
