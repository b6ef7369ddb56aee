import Foundation
import XCTest

@testable import Kernels

/// `bestProducts`: the argmax of each full product row, found slice by slice without it.
final class BestProductsTests: XCTestCase {
    /// Every input row's best output row and product equal `argmax()` of its full product row,
    /// bitwise, for float and int8 arithmetic, a reordered int8 matrix, slices of several sizes,
    /// 1 and 2 threads; tied rows (the second half repeats the first) resolve to the smaller row.
    func testBestProductsAreTheArgmaxOfTheFullProduct() throws {
        var random = RandomBlocks(state: 23)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        let rows = 96, columns = 256
        for type in [TensorType.q8_0, .q4_K, .q6_K] {
            var bytes = random.matrix(type, rows: rows, columns: columns)
            let rowBytes = bytes.count / rows
            // Rows 48..<96 repeat rows 0..<48: every best product is tied.
            for r in 0..<48 { bytes.replaceSubrange((48 + r) * rowBytes..<(49 + r) * rowBytes, with: bytes[r * rowBytes..<(r + 1) * rowBytes]) }
            let x = (0..<9 * columns).map { (i: Int) -> Float in
                let magnitude: Float = 1 + Float((i / 32) % 5) * 3
                return sin(Float(i) * 0.731 + 0.2) * magnitude
            }
            try bytes.withUnsafeBytes { raw in
                let float = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                var variants: [(String, QuantizedMatrix)] = [("float32", float)]
                if MatrixArithmetic.isInt8Available {
                    variants.append(("int8", float.computing(with: .int8)))
                    let moved = float.computing(with: .int8)
                    XCTAssertTrue(try XCTUnwrap(moved.int8).moveToFront([3, 50, 60, 61, 77, 90, 95]))
                    variants.append(("int8 reordered", moved))
                }
                for (name, matrix) in variants {
                    for count in [1, 2, 5, 9] {
                        var full = [Float](repeating: .nan, count: count * rows)
                        x.withUnsafeBufferPointer { matrix.multiply($0.baseAddress!, count: count, into: &full, pool: pools[0]) }
                        let expected = (0..<count).map { j -> BestProduct in
                            // The first largest, as a scan in row order finds it.
                            var index = 0
                            for r in 1..<rows where full[j * rows + r] > full[j * rows + index] { index = r }
                            return BestProduct(row: index, value: full[j * rows + index])
                        }
                        XCTAssertTrue(expected.allSatisfy { $0.row < 48 }, "ties resolve to the first copy")
                        for pool in pools {
                            for slice in [4, 20, 64, 1024] {
                                let found = x.withUnsafeBufferPointer {
                                    matrix.bestProducts($0.baseAddress!, count: count, pool: pool, sliceRows: slice)
                                }
                                XCTAssertEqual(found.map(\.row), expected.map(\.row), "\(type) \(name) count \(count) slice \(slice) threads \(pool.threadCount)")
                                XCTAssertEqual(found.map(\.value.bitPattern), expected.map(\.value.bitPattern), "\(type) \(name) count \(count)")
                            }
                            let byDefault = x.withUnsafeBufferPointer { matrix.bestProducts($0.baseAddress!, count: count, pool: pool) }
                            XCTAssertEqual(byDefault, expected, "\(type) \(name) count \(count) default slices")
                        }
                    }
                }
            }
        }
    }

    /// The reduction's edge cases: -infinity everywhere gives row 0 (as `argmax()`), NaN never wins,
    /// equal values across slices keep the smaller row.
    func testReductionRules() {
        let minusInfinity = [Float](repeating: -.infinity, count: 40)
        XCTAssertEqual(BestProductSlices.best(of: minusInfinity, count: 40) { $0 }, BestProduct(row: 0, value: -.infinity))
        var values = [Float](repeating: 1, count: 40)
        values[3] = .nan
        values[17] = 2
        values[33] = 2
        XCTAssertEqual(BestProductSlices.best(of: values, count: 40) { $0 }, BestProduct(row: 17, value: 2))
        XCTAssertEqual(BestProductSlices.best(of: values, count: 40) { 100 - $0 }, BestProduct(row: 67, value: 2), "smallest mapped row")
        let nan = [Float](repeating: .nan, count: 20)
        XCTAssertEqual(BestProductSlices.resolved(BestProductSlices.best(of: nan, count: 20) { $0 }).row, 0)
    }
}
