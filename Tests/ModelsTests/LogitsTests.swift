import Models
import TestSupport
import XCTest

/// `argmax` and `topK` skip chunks with a vector compare; they must give exactly what the plain
/// scalar scans give, ties, NaN and infinities included.
final class LogitsTests: XCTestCase {
    func scalarArgmax(_ values: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<values.count where values[i] > bestValue || i == 0 {
            best = i
            bestValue = values[i]
        }
        return best
    }

    func scalarTopK(_ values: [Float], _ k: Int) -> [Int] {
        var indices: [Int] = []
        var best: [Float] = []
        for (i, v) in values.enumerated() {
            if best.count == k, let worst = best.last, !(v > worst) { continue }
            var at = best.count
            while at > 0 && best[at - 1] < v { at -= 1 }
            best.insert(v, at: at)
            indices.insert(i, at: at)
            if best.count > k {
                best.removeLast()
                indices.removeLast()
            }
        }
        return indices
    }

    func testChunkedScansEqualTheScalarScans() {
        var random = SplitMix(state: 99)
        for trial in 0..<300 {
            let count = 1 + random.int(200)
            var values = (0..<count).map { _ in Float(random.int(9)) - 4 }  // many ties
            if trial % 5 == 0 { values[random.int(count)] = .nan }
            if trial % 7 == 0 { values[random.int(count)] = -.infinity }
            if trial % 11 == 0 { values[0] = .nan }
            if trial % 13 == 0 { values = values.map { _ in -.infinity } }
            let slice = values[...]
            XCTAssertEqual(slice.argmax(), scalarArgmax(values), "trial \(trial)")
            for k in [1, 2, 3, 10] {
                XCTAssertEqual(slice.topK(k).map(\.index), scalarTopK(values, k), "trial \(trial) k \(k)")
            }
            // A slice that does not start at index 0 of its array counts from its own start.
            let offset = Array(repeating: Float(100), count: 3) + values
            XCTAssertEqual(offset[3...].argmax(), scalarArgmax(values), "trial \(trial) offset")
        }
        XCTAssertEqual([Float]()[...].topK(3).count, 0)
    }
}
