import Foundation
import TestSupport
import XCTest

@testable import Models

/// The logits storage a model reuses between forward passes: reused only once the caller has let
/// go, never overwritten while the caller holds it.
final class LogitsRecyclerTests: XCTestCase {
    func address(_ values: [Float]) -> UnsafeRawPointer? { values.withUnsafeBytes { $0.baseAddress } }

    func testStorageIsReusedOnlyAfterTheCallerLetsGo() {
        var recycler = LogitsRecycler()
        var first: (values: [Float], lease: LogitsRecycler.Lease)? = recycler.take(50_000) { $0.update(repeating: 1, count: 50_000) }
        let firstAddress = address(first!.values)
        // Held: the next pass writes elsewhere, the held values stay.
        let second = recycler.take(50_000) { $0.update(repeating: 2, count: 50_000) }
        XCTAssertNotEqual(address(second.values), firstAddress)
        XCTAssertTrue(first!.values.allSatisfy { $0 == 1 })
        XCTAssertTrue(second.values.allSatisfy { $0 == 2 })
        first = nil
        // `second` is still held: not reused either.
        let secondAddress = address(second.values)
        var third: (values: [Float], lease: LogitsRecycler.Lease)? = recycler.take(40_000) { $0.update(repeating: 3, count: 40_000) }
        XCTAssertNotEqual(address(third!.values), secondAddress)
        XCTAssertTrue(second.values.allSatisfy { $0 == 2 })
        let thirdAddress = address(third!.values)
        third = nil
        // Released: the same storage comes back, resized, fully written.
        let fourth = recycler.take(35_000) { $0.update(repeating: 4, count: 35_000) }
        XCTAssertEqual(address(fourth.values), thirdAddress)
        XCTAssertEqual(fourth.values.count, 35_000)
        XCTAssertTrue(fourth.values.allSatisfy { $0 == 4 })
    }

    /// Values kept without their `Logits` (so the lease is gone) are copied on write, not
    /// overwritten.
    func testValuesKeptWithoutTheirLeaseAreNotOverwritten() {
        var recycler = LogitsRecycler()
        var kept: [Float] = []
        do {
            let taken = recycler.take(10_000) { $0.update(repeating: 5, count: 10_000) }
            kept = taken.values
        }
        let next = recycler.take(10_000) { $0.update(repeating: 6, count: 10_000) }
        XCTAssertTrue(kept.allSatisfy { $0 == 5 })
        XCTAssertTrue(next.values.allSatisfy { $0 == 6 })
    }

    /// A model's earlier logits survive later forward passes unchanged.
    func testHeldLogitsSurviveLaterForwardPasses() throws {
        let spec = TinyModel(.llama)
        let model = try ModelLoader.load(path: try spec.write(), threads: 2)
        let cache = model.makeCache(capacity: 32)
        let first = try model.forward(tokens: [5, 6, 7], cache: cache)
        let copy = first.values
        for token in Int32(8)..<12 { _ = try model.forward(tokens: [token, token + 1], cache: cache) }
        XCTAssertEqual(first.values, copy)
        XCTAssertEqual(first.rows, [0, 1, 2])
    }
}
