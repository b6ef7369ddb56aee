import Foundation
import XCTest

@testable import Store

/// Numeric and string datasets written and read back, of every element type and shape.
final class DatasetRoundTripTests: XCTestCase {
    func roundTrip(_ write: (HDF5File) throws -> Void, _ read: (HDF5File) throws -> Void) throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("round-trip.h5")
        let file = try HDF5File.create(path: path)
        try write(file)
        try file.close()
        let reopened = try HDF5File.open(path: path)
        try read(reopened)
        try reopened.close()
    }

    func testEveryElementTypeRoundTrips() throws {
        let floats: [Float] = [1.5, -2.25, .infinity, 0, -0.0, 3e-38, .greatestFiniteMagnitude]
        let doubles: [Double] = [1e-300, -2.5, .pi, 0, 7]
        let int32s: [Int32] = [.min, -1, 0, 1, .max, 42]
        let int64s: [Int64] = [.min, -1, 0, 1, .max, 1 << 40]
        let bytes: [UInt8] = [0, 1, 127, 128, 255]
        try roundTrip(
            { file in
                try file.writeDataset("/f", floats)
                try file.writeDataset("/d", doubles)
                try file.writeDataset("/i32", int32s, shape: [2, 3])
                try file.writeDataset("/i64", int64s, shape: [3, 2])
                try file.writeDataset("/u8", bytes)
                try file.writeDataset("/nan", [Float.nan])
            },
            { file in
                XCTAssertEqual(try file.readDataset("/f", as: Float.self).map(\.bitPattern), floats.map(\.bitPattern))
                XCTAssertEqual(try file.readDataset("/d", as: Double.self), doubles)
                XCTAssertEqual(try file.readDataset("/i32", as: Int32.self), int32s)
                XCTAssertEqual(try file.readDataset("/i64", as: Int64.self), int64s)
                XCTAssertEqual(try file.readDataset("/u8", as: UInt8.self), bytes)
                XCTAssertTrue(try file.readDataset("/nan", as: Float.self)[0].isNaN)
                XCTAssertEqual(try file.shape(of: "/i32"), [2, 3])
                XCTAssertEqual(try file.shape(of: "/i64"), [3, 2])
                XCTAssertEqual(try file.shape(of: "/u8"), [5])
                // HDF5 converts between element types on reading.
                XCTAssertEqual(try file.readDataset("/u8", as: Double.self), bytes.map(Double.init))
                XCTAssertEqual(try file.readDataset("/f", as: Double.self)[1], -2.25)
            })
    }

    func testShapesIncludingEmptyAndScalar() throws {
        let large = (0..<(300 * 1000)).map { Float($0 % 977) * 0.5 }
        try roundTrip(
            { file in
                try file.writeDataset("/empty", [Float](), shape: [0])
                try file.writeDataset("/empty_rows", [Float](), shape: [0, 640])
                try file.writeDataset("/empty_columns", [Int32](), shape: [3, 0])
                try file.writeDataset("/scalar", [Double(2.5)], shape: [])
                try file.writeDataset("/cube", (0..<24).map { Int64($0) }, shape: [2, 3, 4])
                try file.writeDataset("/large", large, shape: [300, 1000])  // several chunks
                try file.writeStrings("/no_strings", [])
            },
            { file in
                XCTAssertEqual(try file.shape(of: "/empty"), [0])
                XCTAssertEqual(try file.readDataset("/empty", as: Float.self), [])
                XCTAssertEqual(try file.shape(of: "/empty_rows"), [0, 640])
                XCTAssertEqual(try file.readDataset("/empty_rows", as: Float.self), [])
                XCTAssertEqual(try file.shape(of: "/empty_columns"), [3, 0])
                XCTAssertEqual(try file.shape(of: "/scalar"), [])
                XCTAssertEqual(try file.readDataset("/scalar", as: Double.self), [2.5])
                XCTAssertEqual(try file.readDataset("/cube", as: Int64.self), (0..<24).map { Int64($0) })
                XCTAssertEqual(try file.shape(of: "/cube"), [2, 3, 4])
                XCTAssertEqual(try file.readDataset("/large", as: Float.self), large)
                XCTAssertEqual(try file.readStrings("/no_strings"), [])
            })
    }

    func testStringsRoundTripAsUTF8() throws {
        let strings = ["", "hello", " leading space", "Grüße", "日本語", "emoji 🙂", "tab\tand\nnewline", "▁token"]
        try roundTrip(
            { file in
                try file.writeStrings("/tokens/text", strings)
            },
            { file in
                XCTAssertEqual(try file.readStrings("/tokens/text"), strings)
                XCTAssertEqual(try file.shape(of: "/tokens/text"), [strings.count])
            })
    }

    func testMismatchedShapeAndBadWritesAreErrors() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("bad.h5")
        let file = try HDF5File.create(path: path)
        XCTAssertThrowsError(try file.writeDataset("/x", [Float](repeating: 0, count: 5), shape: [2, 3])) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path) && message.contains("/x") && message.contains("6 elements"), message)
        }
        XCTAssertThrowsError(try file.writeDataset("/neg", [Float](), shape: [-1]))
        try file.writeDataset("/x", [Float(1)])
        XCTAssertThrowsError(try file.writeDataset("/x", [Float(2)])) { error in
            XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
        }
        XCTAssertThrowsError(try file.writeStrings("/nul", ["a\u{0}b"])) { error in
            XCTAssertTrue("\(error)".contains("NUL"), "\(error)")
        }
        try file.writeStrings("/s", ["a"])
        XCTAssertThrowsError(try file.readDataset("/s", as: Float.self)) { error in
            XCTAssertTrue("\(error)".contains("/s"), "\(error)")
        }
        XCTAssertThrowsError(try file.readStrings("/x")) { error in
            XCTAssertTrue("\(error)".contains("does not hold strings"), "\(error)")
        }
        XCTAssertThrowsError(try file.readDataset("/missing", as: Float.self)) { error in
            XCTAssertEqual((error as? StoreError)?.object, "/missing")
            XCTAssertEqual((error as? StoreError)?.reason, "no such dataset")
        }
        try file.close()
        XCTAssertThrowsError(try file.writeDataset("/y", [Float(1)])) { error in
            XCTAssertTrue("\(error)".contains("closed"), "\(error)")
        }
        let reader = try HDF5File.open(path: path)
        XCTAssertThrowsError(try reader.writeDataset("/y", [Float(1)])) { error in
            XCTAssertTrue("\(error)".contains("read-only"), "\(error)")
        }
    }

    func testChunkShapeKeepsWholeRowsWithinOneMebibyte() {
        XCTAssertEqual(ChunkShape.choose(for: [4096, 640], elementSize: 4), [409, 640])
        XCTAssertEqual(ChunkShape.choose(for: [3, 262_144], elementSize: 4), [1, 262_144])
        XCTAssertEqual(ChunkShape.choose(for: [2, 1_000_000], elementSize: 4), [1, 262_144])
        XCTAssertEqual(ChunkShape.choose(for: [10, 3], elementSize: 8), [10, 3])
        XCTAssertEqual(ChunkShape.choose(for: [7, 5, 100_000], elementSize: 4), [1, 2, 100_000])
        XCTAssertEqual(ChunkShape.choose(for: [5_000_000], elementSize: 1), [1 << 20])
    }
}
