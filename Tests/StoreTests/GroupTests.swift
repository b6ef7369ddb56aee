import XCTest

@testable import Store

/// Groups: nested creation, listing, kinds.
final class GroupTests: XCTestCase {
    func testNestedGroupsAndChildren() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("groups.h5")
        let file = try HDF5File.create(path: path)
        try file.createGroup("/a/b/c")
        try file.createGroup("/a/b/c")  // again: nothing happens
        try file.createGroup("/a/x")
        try file.writeDataset("/a/b/values", [Int32(1), 2])
        try file.writeDataset("/deep/er/still/data", [Float(1)])  // groups above a dataset are made too
        XCTAssertThrowsError(try file.createGroup("/a/b/values")) { error in
            XCTAssertTrue("\(error)".contains("a dataset has this name"), "\(error)")
        }
        try file.close()

        let reader = try HDF5File.open(path: path)
        XCTAssertEqual(try reader.children(of: "/"), ["a", "deep"])
        XCTAssertEqual(try reader.children(), ["a", "deep"])
        XCTAssertEqual(try reader.children(of: "/a"), ["b", "x"])
        XCTAssertEqual(try reader.children(of: "/a/b"), ["c", "values"])
        XCTAssertEqual(try reader.children(of: "/a/b/c"), [])
        XCTAssertEqual(try reader.children(of: "/deep/er/still"), ["data"])
        XCTAssertEqual(try reader.kind(of: "/a/b"), .group)
        XCTAssertEqual(try reader.kind(of: "/a/b/values"), .dataset)
        XCTAssertEqual(try reader.kind(of: "/"), .group)
        XCTAssertTrue(try reader.contains("/a/b/c"))
        XCTAssertTrue(try reader.contains("/"))
        XCTAssertFalse(try reader.contains("/a/nope/c"))
        XCTAssertFalse(try reader.contains("/zzz"))
        XCTAssertFalse(try reader.contains("/a/b/values/below"), "a dataset has no children")
        XCTAssertThrowsError(try reader.children(of: "/a/b/values")) { error in
            XCTAssertEqual((error as? StoreError)?.reason, "not a group")
        }
        XCTAssertThrowsError(try reader.children(of: "/nope")) { error in
            XCTAssertEqual("\(error)", "\(path): /nope: no such group")
        }
        XCTAssertThrowsError(try reader.kind(of: "/nope"))
    }
}
