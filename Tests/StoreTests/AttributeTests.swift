import XCTest

@testable import Store

/// Attributes of every kind on the root, groups and datasets.
final class AttributeTests: XCTestCase {
    func testEveryAttributeKindRoundTrips() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("attributes.h5")
        let file = try HDF5File.create(path: path)
        try file.writeDataset("/steps/latency", [Double(0.5), 0.25])
        let values: [String: AttributeValue] = [
            "text": .string("gemma-3 ✓ \"quoted\""),
            "empty_text": .string(""),
            "count": .int(-1 << 40),
            "rate": .double(0.125),
            "shape": .ints([3, -4, 5]),
            "weights": .doubles([0.5, -1e300]),
            "no_ints": .ints([]),
            "no_doubles": .doubles([]),
            "flag": .bool(true),
            "other_flag": .bool(false),
        ]
        for target in ["/", "/steps", "/steps/latency"] {
            for (name, value) in values { try file.setAttribute(name, value, on: target) }
        }
        try file.setAttribute("count", .int(7), on: "/steps")  // replaces
        try file.setAttribute("count", .string("seven"), on: "/steps/latency")  // replaces with another type
        XCTAssertThrowsError(try file.setAttribute("x", .int(1), on: "/missing")) { error in
            XCTAssertEqual((error as? StoreError)?.reason, "no such group or dataset")
        }
        try file.close()

        let reader = try HDF5File.open(path: path)
        for target in ["/", "/steps", "/steps/latency"] {
            XCTAssertEqual(try reader.attributeNames(of: target), values.keys.sorted(), target)
            for (name, value) in values where name != "count" {
                XCTAssertEqual(try reader.attribute(name, of: target), value, "\(target) \(name)")
            }
        }
        XCTAssertEqual(try reader.attribute("count"), .int(-1 << 40))
        XCTAssertEqual(try reader.attribute("count", of: "/steps"), .int(7))
        XCTAssertEqual(try reader.attribute("count", of: "/steps/latency"), .string("seven"))
        XCTAssertEqual(try reader.attribute("rate").doubleValue, 0.125)
        XCTAssertEqual(try reader.attribute("count", of: "/steps").doubleValue, 7)
        XCTAssertEqual(try reader.attribute("text").stringValue, "gemma-3 ✓ \"quoted\"")
        XCTAssertEqual(try reader.attribute("flag").boolValue, true)
        XCTAssertEqual(try reader.attribute("shape").intsValue, [3, -4, 5])
        XCTAssertEqual(try reader.attribute("shape").doublesValue, [3, -4, 5])
        XCTAssertNil(try reader.attribute("shape").stringValue)
        XCTAssertThrowsError(try reader.attribute("nope", of: "/steps")) { error in
            XCTAssertEqual("\(error)", "\(path): /steps@nope: no such attribute")
        }
        XCTAssertEqual(try reader.attributeNames(of: "/steps/latency").count, values.count)
    }
}
