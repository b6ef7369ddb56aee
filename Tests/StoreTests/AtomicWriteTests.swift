import Foundation
import XCTest

@testable import Store

/// A file being written appears at its path only when `close()` succeeds.
final class AtomicWriteTests: XCTestCase {
    func testNothingAppearsUntilClose() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("run.h5")
        let file = try HDF5File.create(path: path)
        try file.writeDataset("/x", [Float(1), 2, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        try file.close()
        try file.close()  // closing again does nothing
        XCTAssertEqual(try HDF5File.open(path: path).readDataset("/x", as: Float.self), [1, 2, 3])
        XCTAssertEqual(try scratch.contents(), ["run.h5"], "no temporary file is left behind")
    }

    func testFailedWriteLeavesNoTargetFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("failed.h5")
        func writeThenFail() throws {
            let file = try HDF5File.create(path: path)
            try file.writeDataset("/x", [Float(1)])
            try file.writeDataset("/x", [Float(2)])  // throws: the name exists
            try file.close()
        }
        XCTAssertThrowsError(try writeThenFail())
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(try scratch.contents(), [], "the temporary file is deleted when the writer goes away")

        let discarded = try HDF5File.create(path: path)
        try discarded.writeDataset("/x", [Float(1)])
        discarded.discard()
        try discarded.close()  // a discarded file stays discarded
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(try scratch.contents(), [])
    }

    func testExistingTargetIsReplacedOnlyOnSuccess() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("existing.h5")
        let first = try HDF5File.create(path: path)
        try first.writeDataset("/version", [Int32(1)])
        try first.close()

        do {
            let failing = try HDF5File.create(path: path)
            try failing.writeDataset("/version", [Int32(2)])
            XCTAssertThrowsError(try failing.writeDataset("/version", [Int32(3)]))
            failing.discard()
        }
        XCTAssertEqual(try HDF5File.open(path: path).readDataset("/version", as: Int32.self), [1])

        let second = try HDF5File.create(path: path)
        try second.writeDataset("/version", [Int32(2)])
        XCTAssertEqual(try HDF5File.open(path: path).readDataset("/version", as: Int32.self), [1], "old file until close")
        try second.close()
        XCTAssertEqual(try HDF5File.open(path: path).readDataset("/version", as: Int32.self), [2])
        XCTAssertEqual(try scratch.contents(), ["existing.h5"])
    }

    func testCreateInMissingDirectoryNamesThePath() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("no/such/dir/out.h5")
        XCTAssertThrowsError(try HDF5File.create(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }
}
