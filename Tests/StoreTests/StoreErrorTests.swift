import Foundation
import XCTest

@testable import Store

/// Opening what is not a readable HDF5 file is a clear error naming the path.
final class StoreErrorTests: XCTestCase {
    func testNonexistentPath() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("missing.h5")
        XCTAssertThrowsError(try HDF5File.open(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): no such file")
            XCTAssertEqual((error as? StoreError)?.path, path)
        }
    }

    func testDirectory() throws {
        let scratch = try ScratchDirectory()
        XCTAssertThrowsError(try HDF5File.open(path: scratch.url.path)) { error in
            XCTAssertEqual("\(error)", "\(scratch.url.path): is a directory, not an HDF5 file")
        }
    }

    func testNotAnHDF5File() throws {
        let scratch = try ScratchDirectory()
        for (name, contents) in [("text.h5", Data("not hdf5 at all\n".utf8)), ("empty.h5", Data())] {
            let path = scratch.path(name)
            try contents.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try HDF5File.open(path: path)) { error in
                XCTAssertEqual("\(error)", "\(path): not an HDF5 file")
            }
        }
    }

    func testTruncatedHDF5File() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("whole.h5")
        let file = try HDF5File.create(path: path)
        try file.writeDataset("/x", (0..<10_000).map { Float($0) }, shape: [100, 100])
        try file.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = scratch.path("truncated.h5")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try HDF5File.open(path: truncated).readDataset("/x", as: Float.self)) { error in
            XCTAssertTrue("\(error)".hasPrefix(truncated), "\(error)")
        }
    }

    func testUnreadableFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("locked.h5")
        let file = try HDF5File.create(path: path)
        try file.close()
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        // root reads any file; the check is meaningful only for other users.
        if access(path, R_OK) == 0 { return }
        XCTAssertThrowsError(try HDF5File.open(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): cannot read"), "\(error)")
        }
    }

    func testDescriptionNamesFileObjectAndReason() {
        XCTAssertEqual(
            "\(StoreError(path: "/tmp/a.h5", object: "/steps/latency", reason: "boom"))", "/tmp/a.h5: /steps/latency: boom")
        XCTAssertEqual("\(StoreError(path: "/tmp/a.h5", reason: "boom"))", "/tmp/a.h5: boom")
    }
}
