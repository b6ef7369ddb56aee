import XCTest

@testable import Kernels

final class MatrixKernelTests: XCTestCase {
    func inputs(_ count: Int, _ columns: Int, seed: Float) -> [Float] {
        (0..<count * columns).map { sin(Float($0) * 0.731 + seed) * 2 }
    }

    /// Each type's kernel computes the dot product of the decoded row with the input, to float
    /// accuracy (compared with a double-precision sum).
    func testKernelsComputeTheDecodedDotProduct() {
        var random = RandomBlocks(state: 7)
        let pool = ThreadPool(threadCount: 2)
        for type in TensorType.allCases {
            let rows = 9, columns = 512
            let bytes = random.matrix(type, rows: rows, columns: columns)
            let x = inputs(2, columns, seed: 0.3)
            var y = [Float](repeating: 0, count: 2 * rows)
            bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                m.multiply(x, count: 2, into: &y, pool: pool)
                var row = [Float](repeating: 0, count: columns)
                for r in 0..<rows {
                    m.decodeRow(r, into: &row)
                    for j in 0..<2 {
                        var exact = 0.0, magnitude = 0.0
                        for i in 0..<columns {
                            exact += Double(row[i]) * Double(x[j * columns + i])
                            magnitude += abs(Double(row[i]) * Double(x[j * columns + i]))
                        }
                        XCTAssertEqual(Double(y[j * rows + r]), exact, accuracy: 1e-5 * magnitude + 1e-6, "\(type) row \(r) input \(j)")
                    }
                }
            }
        }
    }

    /// The numerics contract: an output element is bitwise the same whether its input row is
    /// alone or in a batch (any position, any batch size: 7 and 11 run register tiles, 20 the
    /// scratch schedule), and whatever the thread count.
    func testBatchAndThreadInvariance() {
        var random = RandomBlocks(state: 11)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2), ThreadPool(threadCount: 3)]
        for type in TensorType.allCases {
            let rows = 13, columns = 256
            let bytes = random.matrix(type, rows: rows, columns: columns)
            for count in [2, 7, 11, 20] {
                let x = inputs(count, columns, seed: 1.1 + Float(count))
                bytes.withUnsafeBytes { raw in
                    let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                    var batch = [Float](repeating: 0, count: count * rows)
                    m.multiply(x, count: count, into: &batch, pool: pools[1])
                    for pool in pools {
                        for j in 0..<count {
                            var single = [Float](repeating: 0, count: rows)
                            Array(x[j * columns..<(j + 1) * columns]).withUnsafeBufferPointer {
                                m.multiply($0.baseAddress!, count: 1, into: &single, pool: pool)
                            }
                            XCTAssertEqual(single, Array(batch[j * rows..<(j + 1) * rows]), "\(type) batch \(count) input \(j) threads \(pool.threadCount)")
                        }
                        var again = [Float](repeating: 0, count: count * rows)
                        m.multiply(x, count: count, into: &again, pool: pool)
                        XCTAssertEqual(again, batch, "\(type) batch \(count) threads \(pool.threadCount)")
                    }
                }
            }
        }
    }

    /// Every register-tile shape and remainder: batches of 1...33 inputs (4 x n tiles, two 2 x n
    /// tiles, several input chunks, and beyond `fusedInputLimit` the scratch schedule), an odd row
    /// count (rows left over after the 4-row tiles) and row subsets (`rowRange` not starting at a
    /// tile boundary) give bitwise each input's single-row product.
    func testEveryBatchSizeAndRowRange() {
        var random = RandomBlocks(state: 23)
        let pool = ThreadPool(threadCount: 2)
        for type in [TensorType.q8_0, .q4_0, .q5_0, .q4_K, .q6_K, .f16] {
            let rows = 23, columns = 256
            let bytes = random.matrix(type, rows: rows, columns: columns)
            bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                let x = inputs(33, columns, seed: 0.7)
                var single = [Float](repeating: 0, count: 33 * rows)
                for j in 0..<33 {
                    x.withUnsafeBufferPointer { xb in
                        single.withUnsafeMutableBufferPointer { sb in
                            m.multiply(xb.baseAddress! + j * columns, count: 1, into: sb.baseAddress! + j * rows, pool: pool)
                        }
                    }
                }
                // No inputs, or no output rows: nothing is written (and nothing divides by zero).
                var untouched = [Float](repeating: 7, count: rows)
                m.multiply(x, count: 0, into: &untouched, outputStride: rows, rowRange: 0..<rows, pool: pool)
                m.multiply(x, count: 1, into: &untouched, outputStride: rows, rowRange: 5..<5, pool: pool)
                XCTAssertEqual(untouched, [Float](repeating: 7, count: rows), "\(type)")
                for count in 1...33 {
                    for range in [0..<rows, 1..<rows, 3..<21, 6..<7] {
                        var batch = [Float](repeating: .nan, count: count * range.count)
                        m.multiply(x, count: count, into: &batch, outputStride: range.count, rowRange: range, pool: pool)
                        for j in 0..<count {
                            let expected = Array(single[j * rows + range.lowerBound..<j * rows + range.upperBound])
                            let got = Array(batch[j * range.count..<(j + 1) * range.count])
                            XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(type) count \(count) rows \(range) input \(j)")
                        }
                    }
                }
            }
        }
    }

    /// The four-at-once horizontal sums are bitwise the one-at-a-time ones.
    func testHorizontalSums() {
        var random = RandomBlocks(state: 5)
        for _ in 0..<200 {
            let v = (0..<4).map { _ in SIMD16<Float>((0..<16).map { _ in random.uniform(-1e3...1e3) }) }
            let sums = Dot.horizontalSums(v[0], v[1], v[2], v[3])
            for i in 0..<4 {
                XCTAssertEqual(sums[i].bitPattern, Dot.horizontalSum(v[i]).bitPattern)
            }
        }
    }
}
