import CKernelSupport
import Foundation
import XCTest

@testable import Kernels

/// The int8-activation kernels (`MatrixArithmetic.int8`): repacking, arithmetic, invariance.
final class Int8MatrixTests: XCTestCase {
    static let types: [TensorType] = [.q8_0, .q4_0, .q5_0, .q4_K, .q6_K]

    func inputs(_ count: Int, _ columns: Int, seed: Float) -> [Float] {
        // Mixed magnitudes per 32-element block, as in real activations.
        (0..<count * columns).map { sin(Float($0) * 0.731 + seed) * (1 + Float(($0 / 32) % 5) * 3) }
    }

    override func setUpWithError() throws {
        try XCTSkipUnless(MatrixArithmetic.isInt8Available, "this CPU has no int8 kernel (AVX2 or AVX-512 VNNI)")
    }

    /// Every repacked element stands for the value the float decoder gives it.
    func testRepackingKeepsEveryWeight() throws {
        var random = RandomBlocks(state: 5)
        for type in Self.types {
            let rows = 8, columns = 512
            let bytes = random.matrix(type, rows: rows, columns: columns)
            try bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                let packed = try XCTUnwrap(Int8Matrix(m), "\(type)")
                var row = [Float](repeating: 0, count: columns)
                for r in 0..<rows {
                    m.decodeRow(r, into: &row)
                    for c in 0..<columns {
                        let got = packed.weight(row: r, column: c)
                        XCTAssertEqual(got, row[c], accuracy: 2e-6 * max(1, abs(row[c])), "\(type) row \(r) column \(c)")
                    }
                }
            }
        }
    }

    /// The repacked form holds as many bits per weight as the encoding: Q8_0, Q4_0 and Q5_0 take
    /// exactly the GGUF's bytes (weights packed, the block's half scale kept as a half); Q4_K and
    /// Q6_K, whose scales are floats (and Q4_K's offsets a table), 4/3 and 128/105 of them.
    func testRepackedBytesMatchTheEncoding() throws {
        var random = RandomBlocks(state: 3)
        let expected: [TensorType: (Int, Int)] = [.q8_0: (1, 1), .q4_0: (1, 1), .q5_0: (1, 1), .q4_K: (4, 3), .q6_K: (128, 105)]
        for type in Self.types {
            let rows = 8, columns = 512
            let bytes = random.matrix(type, rows: rows, columns: columns)
            try bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                let packed = try XCTUnwrap(Int8Matrix(m))
                let (numerator, denominator) = try XCTUnwrap(expected[type])
                XCTAssertEqual(packed.byteCount * denominator, bytes.count * numerator, "\(type)")
                XCTAssertEqual(packed.bitsPerWeight, [.q8_0: 8, .q4_0: 4, .q5_0: 5, .q4_K: 4, .q6_K: 6][type], "\(type)")
            }
        }
    }

    /// Types without an offset table (Q8_0, Q4_0, Q5_0, Q6_K) have offsets that are exactly
    /// `ppd_i8_min_factor` times the scale: the table the packer would write holds exactly the
    /// value the kernels derive, so dropping it changes no result. Q4_K keeps its table.
    func testDerivedOffsetsAreTheTableBitwise() throws {
        var random = RandomBlocks(state: 13)
        for type in Self.types {
            let rows = 8, columns = 512
            let bytes = random.matrix(type, rows: rows, columns: columns)
            let block = Int(ppd_i8_block(type.rawValue)), subBlocks = rows * columns / block
            var weights = [UInt8](repeating: 0, count: ppd_i8_weight_bytes(type.rawValue, Int32(rows), Int32(columns)))
            var scales = [Float](repeating: 0, count: subBlocks), mins = [Float](repeating: 0, count: subBlocks)
            let rowBytes = type.byteCount(elements: columns)
            let half = ppd_i8_half_scales(type.rawValue) != 0
            func pack(withTable: Bool) -> Int32 {
                weights.withUnsafeMutableBufferPointer { w in
                    scales.withUnsafeMutableBytes { s in
                        mins.withUnsafeMutableBufferPointer { m in
                            var matrix = ppd_i8_matrix(
                                type: type.rawValue, columns: Int32(columns), block: Int32(block), weights: UnsafePointer(w.baseAddress!),
                                scales: UnsafeRawPointer(s.baseAddress!), mins: withTable ? UnsafePointer(m.baseAddress!) : nil)
                            return bytes.withUnsafeBytes { ppd_i8_pack(&matrix, $0.baseAddress!, rowBytes, Int32(rows)) }
                        }
                    }
                }
            }
            let status = pack(withTable: true)
            XCTAssertEqual(status, 0, "\(type)")
            let factor = ppd_i8_min_factor(type.rawValue)
            let withoutTable = pack(withTable: false)
            if half {  // the scales are halves: read them as floats
                let halves = scales.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self).prefix(subBlocks)) }
                scales = halves.map { Float(Float16(bitPattern: $0)) }
            }
            if type == .q4_K {
                XCTAssertEqual(factor, 0)
                XCTAssertEqual(withoutTable, -1, "Q4_K offsets are its own: a table is required")
            } else {
                XCTAssertGreaterThan(factor, 0, "\(type)")
                XCTAssertEqual(withoutTable, 0, "\(type)")
                XCTAssertEqual(mins.map(\.bitPattern), scales.map { (factor * $0).bitPattern }, "\(type)")
            }
        }
    }

    /// A product is the double-precision dot product of the repacked weights with the
    /// activations quantized per 32 (scale max|x| / 127, nearest even), to float accuracy; and
    /// within the quantization error of the float product.
    func testProductIsTheDotProductWithQuantizedActivations() throws {
        var random = RandomBlocks(state: 9)
        let pool = ThreadPool(threadCount: 2)
        for type in Self.types {
            let rows = 12, columns = 512, count = 3
            let bytes = random.matrix(type, rows: rows, columns: columns)
            let x = inputs(count, columns, seed: 0.4)
            try bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                let packed = try XCTUnwrap(Int8Matrix(m))
                var y = [Float](repeating: 0, count: count * rows)
                m.computing(with: .int8).multiply(x, count: count, into: &y, pool: pool)
                var row = [Float](repeating: 0, count: columns)
                for j in 0..<count {
                    var quantized = [Double](repeating: 0, count: columns)
                    for g in 0..<columns / 32 {
                        let block = x[j * columns + g * 32..<j * columns + g * 32 + 32]
                        let amax = block.map { abs($0) }.max()!
                        let inverse: Float = amax > 0 ? 127 / amax : 0
                        for (i, value) in block.enumerated() {
                            quantized[g * 32 + i] = Double((value * inverse).rounded(.toNearestOrEven)) * Double(amax / 127)
                        }
                    }
                    for r in 0..<rows {
                        m.decodeRow(r, into: &row)
                        var exact = 0.0, magnitude = 0.0, float = 0.0
                        for c in 0..<columns {
                            let w = Double(packed.weight(row: r, column: c))
                            exact += w * quantized[c]
                            magnitude += abs(w * quantized[c])
                            float += Double(row[c]) * Double(x[j * columns + c])
                        }
                        let got = Double(y[j * rows + r])
                        XCTAssertEqual(got, exact, accuracy: 1e-5 * magnitude + 1e-6, "\(type) row \(r) input \(j)")
                        XCTAssertEqual(got, float, accuracy: 0.02 * magnitude + 1e-6, "\(type) row \(r) input \(j) (float)")
                    }
                }
            }
        }
    }

    /// The numerics contract: each input's outputs are bitwise its single-row product for every
    /// batch size (input tiles of 8 and remainders), thread count and row range (ranges that cut
    /// a group of 4 rows included).
    func testBatchThreadAndRowRangeInvariance() throws {
        var random = RandomBlocks(state: 31)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2), ThreadPool(threadCount: 3)]
        for type in Self.types {
            let rows = 24, columns = 256
            let bytes = random.matrix(type, rows: rows, columns: columns)
            bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns).computing(with: .int8)
                XCTAssertNotNil(m.int8, "\(type)")
                let x = inputs(19, columns, seed: 0.9)
                var single = [Float](repeating: 0, count: 19 * rows)
                for j in 0..<19 {
                    x.withUnsafeBufferPointer { xb in
                        single.withUnsafeMutableBufferPointer { sb in
                            m.multiply(xb.baseAddress! + j * columns, count: 1, into: sb.baseAddress! + j * rows, pool: pools[0])
                        }
                    }
                }
                for pool in pools {
                    for count in [1, 2, 7, 8, 9, 16, 19] {
                        for range in [0..<rows, 4..<12, 3..<21, 6..<7] {
                            var batch = [Float](repeating: .nan, count: count * range.count)
                            m.multiply(x, count: count, into: &batch, outputStride: range.count, rowRange: range, pool: pool)
                            for j in 0..<count {
                                let expected = Array(single[j * rows + range.lowerBound..<j * rows + range.upperBound])
                                let got = Array(batch[j * range.count..<(j + 1) * range.count])
                                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(type) count \(count) rows \(range) threads \(pool.threadCount) input \(j)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rows prepared once (`PreparedInput`, quantized once per shape) give bitwise the products
    /// of rows quantized per call, for int8 matrices of two sub-block sizes and a float one, in
    /// one job (`QuantizedMatrix.multiply(_:_:count:into:pool:)`) and per row range.
    func testPreparedInputGivesThePerCallProducts() {
        var random = RandomBlocks(state: 41)
        let pool = ThreadPool(threadCount: 2)
        let rows = 12, columns = 256, count = 5
        let types: [TensorType] = [.q5_0, .q6_K, .q8_0, .f16]
        let data = types.map { random.matrix($0, rows: rows, columns: columns) }
        let x = inputs(count, columns, seed: 2.3)
        var pointers: [UnsafeMutableRawPointer] = []
        defer { pointers.forEach { $0.deallocate() } }
        let matrices = zip(types, data).map { type, bytes -> QuantizedMatrix in
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            pointers.append(p)
            return QuantizedMatrix(data: p, type: type, rows: rows, columns: columns).computing(with: .int8)
        }
        XCTAssertEqual(matrices.map { $0.int8 != nil }, [true, true, true, false])
        let expected = matrices.map { m -> [Float] in
            var y = [Float](repeating: 0, count: count * rows)
            m.multiply(x, count: count, into: &y, pool: pool)
            return y
        }
        let outputs = matrices.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count * rows) }
        defer { outputs.forEach { $0.deallocate() } }
        x.withUnsafeBufferPointer { QuantizedMatrix.multiply(matrices, $0.baseAddress!, count: count, into: outputs, pool: pool) }
        for (i, m) in matrices.enumerated() {
            XCTAssertEqual(Array(UnsafeBufferPointer(start: outputs[i], count: count * rows)).map(\.bitPattern), expected[i].map(\.bitPattern), "\(m.type)")
        }
        x.withUnsafeBufferPointer { xb in
            let input = PreparedInput(xb.baseAddress!, count: count, for: matrices)
            for (i, m) in matrices.enumerated() {
                outputs[i].update(repeating: .nan, count: count * rows)
                m.multiply(input, into: outputs[i], outputStride: rows, rowRange: 0..<6, pool: pool)
                m.multiply(input, into: outputs[i] + 6, outputStride: rows, rowRange: 6..<rows, pool: .inline)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: outputs[i], count: count * rows)).map(\.bitPattern), expected[i].map(\.bitPattern), "\(m.type) in two ranges")
            }
        }
    }

    /// Every int8 kernel this CPU runs gives bitwise the portable reference's products
    /// (`ppd_i8_multiply_reference`), for every repacked type, batch sizes 1...80, row ranges
    /// that cut groups of 4, and 1 and 2 threads. On a CPU with AVX-512 VNNI this also holds the
    /// AVX2 kernel to the VNNI one.
    func testEveryKernelMatchesTheReferenceBitwise() throws {
        var random = RandomBlocks(state: 77)
        let kernels = Int8Kernel.allCases.filter(\.isSupported)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        for type in Self.types {
            let rows = 20, columns = 512
            let bytes = random.matrix(type, rows: rows, columns: columns)
            let x = inputs(80, columns, seed: 1.7)
            try bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                for kernel in kernels {
                    let packed = try XCTUnwrap(Int8Matrix(m, kernel: kernel), "\(type) \(kernel)")
                    let input = x.withUnsafeBufferPointer { packed.quantize($0.baseAddress!, count: 80) }
                    var reference = [Float](repeating: .nan, count: 80 * rows)
                    packed.referenceProduct(input, into: &reference, outputStride: rows, rowRange: 0..<rows)
                    for count in [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 33, 48, 64, 80] {
                        let batch = x.withUnsafeBufferPointer { packed.quantize($0.baseAddress!, count: count) }
                        for pool in pools {
                            for range in [0..<rows, 4..<16, 3..<18, 9..<10] {
                                var y = [Float](repeating: .nan, count: count * range.count)
                                packed.multiply(batch, into: &y, outputStride: range.count, rowRange: range, pool: pool)
                                for j in 0..<count {
                                    let expected = reference[j * rows + range.lowerBound..<j * rows + range.upperBound]
                                    let got = y[j * range.count..<(j + 1) * range.count]
                                    XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(type) \(kernel) count \(count) rows \(range) threads \(pool.threadCount) input \(j)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rows moved to the front (`moveToFront`, how a guess head shares the output layer) change
    /// nothing of a product over all rows, bit for bit, on every kernel, batch size and thread
    /// split; the front packed positions give exactly those rows' products (also a range that
    /// ends inside a group of 4); element values follow their rows; a second, different reorder
    /// is refused and the same one accepted.
    func testRowsMovedToTheFrontKeepEveryProductBitwise() throws {
        var random = RandomBlocks(state: 91)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        for type in Self.types {
            let rows = 40, columns = 256
            let bytes = random.matrix(type, rows: rows, columns: columns)
            let front: [Int32] = [1, 2, 7, 12, 13, 14, 15, 22, 39]
            try bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                for kernel in Int8Kernel.allCases.filter(\.isSupported) {
                    let plain = try XCTUnwrap(Int8Matrix(m, kernel: kernel))
                    let moved = try XCTUnwrap(Int8Matrix(m, kernel: kernel))
                    XCTAssertTrue(moved.moveToFront(front))
                    XCTAssertTrue(moved.moveToFront(front), "the same order again")
                    XCTAssertFalse(moved.moveToFront([3]), "another order")
                    XCTAssertEqual(moved.frontRows, front)
                    for row in [0, 1, 3, 13, 22, 38, 39] {
                        for column in [0, 31, 100, 255] {
                            XCTAssertEqual(moved.weight(row: row, column: column).bitPattern, plain.weight(row: row, column: column).bitPattern)
                        }
                    }
                    let x = inputs(17, columns, seed: 0.3)
                    for count in [1, 2, 6, 7, 13, 17] {
                        let input = x.withUnsafeBufferPointer { plain.quantize($0.baseAddress!, count: count) }
                        var expected = [Float](repeating: .nan, count: count * rows)
                        plain.multiply(input, into: &expected, outputStride: rows, rowRange: 0..<rows, pool: pools[0])
                        for pool in pools {
                            let what = "\(type) \(kernel) count \(count) threads \(pool.threadCount)"
                            var all = [Float](repeating: .nan, count: count * rows)
                            moved.multiply(input, into: &all, outputStride: rows, rowRange: 0..<rows, pool: pool)
                            XCTAssertEqual(all.map(\.bitPattern), expected.map(\.bitPattern), what)
                            var part = [Float](repeating: .nan, count: count * 5)
                            moved.multiply(input, into: &part, outputStride: 5, rowRange: 10..<15, pool: pool)
                            for j in 0..<count {
                                XCTAssertEqual(part[j * 5..<(j + 1) * 5].map(\.bitPattern), expected[j * rows + 10..<j * rows + 15].map(\.bitPattern), what)
                            }
                            for width in [front.count, 8] {
                                var head = [Float](repeating: .nan, count: count * width)
                                moved.multiplyPacked(input, into: &head, outputStride: width, packedRows: 0..<width, pool: pool)
                                for j in 0..<count {
                                    for (t, row) in front.prefix(width).enumerated() {
                                        XCTAssertEqual(head[j * width + t].bitPattern, expected[j * rows + Int(row)].bitPattern, "\(what) front \(t)")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Q8_0's extremes (bytes 0 and 255, activations at +-127 in every position) do not
    /// saturate any kernel's 16-bit pair sums: the products equal the exact integer arithmetic,
    /// computed here in double precision.
    func testExtremeQ8_0BytesDoNotSaturate() throws {
        let rows = 8, columns = 256
        // Blocks of 34 bytes: scale 1.0 (fp16 0x3c00), then 32 signed bytes alternating -128 and 127.
        var bytes: [UInt8] = []
        for r in 0..<rows {
            for b in 0..<columns / 32 {
                bytes += [0x00, 0x3c]
                bytes += (0..<32).map { i in UInt8(bitPattern: (i + r + b) % 3 == 0 ? -128 : 127) }
            }
        }
        // Inputs of one sign, or alternating, all with the block's largest magnitude.
        let x: [Float] = (0..<2 * columns).map { i in i < columns ? 5 : (i % 2 == 0 ? 3 : -3) }
        for kernel in Int8Kernel.allCases.filter(\.isSupported) {
            try bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: .q8_0, rows: rows, columns: columns)
                let packed = try XCTUnwrap(Int8Matrix(m, kernel: kernel))
                var y = [Float](repeating: .nan, count: 2 * rows)
                let input = x.withUnsafeBufferPointer { packed.quantize($0.baseAddress!, count: 2) }
                packed.multiply(input, into: &y, outputStride: rows, rowRange: 0..<rows, pool: .inline)
                for j in 0..<2 {
                    for r in 0..<rows {
                        var exact = 0.0
                        for c in 0..<columns {
                            let q = (c % 32 + r + c / 32) % 3 == 0 ? -128.0 : 127.0
                            exact += q * Double(x[j * columns + c].sign == .minus ? -127 : 127) * Double(abs(x[j * columns + c])) / 127
                        }
                        XCTAssertEqual(Double(y[j * rows + r]), exact, accuracy: 1e-4 * abs(exact) + 1e-3, "\(kernel) row \(r) input \(j)")
                    }
                }
            }
        }
    }

    /// Every kernel quantizes activations to the same bytes, so an input prepared by one serves
    /// all of them.
    func testKernelsQuantizeToTheSameBytes() throws {
        let kernels = Int8Kernel.allCases.filter(\.isSupported)
        try XCTSkipIf(kernels.count < 2, "only one int8 kernel on this CPU (\(kernels))")
        for block in [16, 32] {
            let columns = 768, count = 5
            let x = inputs(count, columns, seed: 0.3)
            let bytes = kernels.map { kernel -> [UInt8] in
                let input = x.withUnsafeBufferPointer { Int8Matrix.Input($0.baseAddress!, count: count, columns: columns, block: block, kernel: kernel) }
                return Array(UnsafeBufferPointer(start: input.bytes, count: count * Int(ppd_i8_input_bytes(Int32(columns), Int32(block)))))
            }
            for other in bytes.dropFirst() { XCTAssertEqual(other, bytes[0], "block \(block)") }
        }
    }

    /// `PPD_INT8_KERNEL` names the kernel; a name this CPU cannot run leaves int8 unavailable
    /// rather than silently running another kernel; an unknown name is ignored.
    func testKernelChoiceFollowsTheEnvironment() {
        let key = Int8Kernel.environmentKey
        let saved = ProcessInfo.processInfo.environment[key]
        defer { if let saved { setenv(key, saved, 1) } else { unsetenv(key) } }
        unsetenv(key)
        let best = [Int8Kernel.avx512vnni, .avx2].first(where: \.isSupported)
        XCTAssertEqual(Int8Kernel.preferred, best)
        for kernel in Int8Kernel.allCases {
            setenv(key, kernel.rawValue, 1)
            XCTAssertEqual(Int8Kernel.preferred, kernel.isSupported ? kernel : nil, "\(kernel)")
            XCTAssertEqual(MatrixArithmetic.fastest, kernel.isSupported ? .int8 : .float32, "\(kernel)")
        }
        setenv(key, "no-such-kernel", 1)
        XCTAssertEqual(Int8Kernel.preferred, best)
        unsetenv(key)
        if let best { XCTAssertEqual(Int8Kernel.configurationName, "\(best)-packed") }
    }

    /// Encodings and shapes without a repacked form stay on the float kernels.
    func testUnsupportedMatricesStayOnFloat() {
        var random = RandomBlocks(state: 3)
        for (type, rows, columns) in [(TensorType.f16, 8, 256), (.q8_0, 6, 256), (.q8_0, 8, 96), (.q4_1, 8, 256)] {
            let bytes = random.matrix(type, rows: rows, columns: columns)
            bytes.withUnsafeBytes { raw in
                let m = QuantizedMatrix(data: raw.baseAddress!, type: type, rows: rows, columns: columns)
                XCTAssertNil(m.computing(with: .int8).int8, "\(type) \(rows) x \(columns)")
                XCTAssertNil(m.computing(with: .float32).int8)
            }
        }
    }
}
