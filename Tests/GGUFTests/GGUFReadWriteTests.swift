import Foundation
@testable import GGUF
import Kernels
import TestSupport
import XCTest

final class GGUFReadWriteTests: XCTestCase {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).gguf").path
    }

    func writeBytes(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = temporaryPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every metadata value type and tensor encodings survive a write/read round trip.
    func testRoundTrip() throws {
        var w = GGUFWriter()
        let values: [String: GGUFValue] = [
            "a.u8": .uint8(200), "a.i8": .int8(-100), "a.u16": .uint16(60_000), "a.i16": .int16(-30_000),
            "a.u32": .uint32(4_000_000_000), "a.i32": .int32(-2_000_000_000), "a.u64": .uint64(1 << 40),
            "a.i64": .int64(-(1 << 40)), "a.f32": .float32(1.5), "a.f64": .float64(-2.25), "a.bool": .bool(true),
            "a.str": .string("héllo ▁ world"),
            "a.arr": .array(elementType: .int32, values: [.int32(1), .int32(-2), .int32(3)]),
            "a.nested": .array(elementType: .array, values: [.array(elementType: .string, values: [.string("x")])]),
        ]
        for key in values.keys.sorted() { w.set(key, values[key]!) }
        let floats = (0..<64).map { Float($0) * 0.25 - 4 }
        try w.addTensor("t.f32", shape: [32, 2], type: .f32, values: floats)
        try w.addTensor("t.f16", shape: [64], type: .f16, values: floats)
        try w.addTensor("t.q8", shape: [32, 2], type: .q8_0, values: floats)
        let path = temporaryPath("roundtrip")
        try w.write(to: path)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.version, 3)
        for (key, value) in values { XCTAssertEqual(file.metadata[key], value, key) }
        XCTAssertEqual(file.tensors.map(\.name), ["t.f32", "t.f16", "t.q8"])
        XCTAssertEqual(file.floats(of: try file.requireTensor("t.f32")), floats)
        XCTAssertEqual(file.floats(of: try file.requireTensor("t.f16")), floats)
        let q8 = file.floats(of: try file.requireTensor("t.q8"))
        for (a, b) in zip(q8, floats) { XCTAssertEqual(a, b, accuracy: 0.05) }  // half a step of the largest block (11.75 / 127)
        XCTAssertEqual(try file.requireTensor("t.q8").shape, [32, 2])
        XCTAssertThrowsError(try file.requireTensor("nope")) { XCTAssertTrue("\($0)".contains("missing tensor 'nope'")) }
    }

    /// Arrays of strings, float32 and int32 (a vocabulary's tokens, scores and types) are read
    /// into arrays of their own type, compare equal to the same elements given as `GGUFValue`s, and
    /// read back element by element; other element types keep `GGUFValue`s.
    func testArraysAreStoredByElementType() throws {
        let tokens = (0..<1000).map { "token \($0) ▁" }
        var w = GGUFWriter()
        w.set("t.strings", .array(elementType: .string, values: GGUFArray(tokens.map { .string($0) })))
        w.set("t.floats", .array(elementType: .float32, values: GGUFArray((0..<1000).map { .float32(Float($0) / 3) })))
        w.set("t.ints", .array(elementType: .int32, values: [.int32(7), .int32(-1)]))
        w.set("t.bytes", .array(elementType: .uint8, values: [.uint8(1), .uint8(255)]))
        w.set("t.empty", .array(elementType: .string, values: []))
        let path = temporaryPath("arrays")
        try w.write(to: path)
        let file = try GGUFFile(path: path)
        let strings = try XCTUnwrap(file.metadata["t.strings"]?.arrayValue)
        XCTAssertEqual(strings.strings, tokens)
        XCTAssertEqual(strings[999], .string("token 999 ▁"))
        XCTAssertEqual(strings, GGUFArray(tokens.map { .string($0) }))
        XCTAssertEqual(file.metadata["t.floats"]?.arrayValue?.floats, (0..<1000).map { Float($0) / 3 })
        XCTAssertEqual(file.metadata["t.ints"]?.arrayValue?.int32s, [7, -1])
        let bytes = try XCTUnwrap(file.metadata["t.bytes"]?.arrayValue)
        XCTAssertNil(bytes.strings)
        XCTAssertEqual(Array(bytes), [.uint8(1), .uint8(255)])
        XCTAssertEqual(file.metadata["t.empty"]?.arrayValue?.count, 0)
        XCTAssertNotEqual(GGUFArray([.int32(1)]), GGUFArray([.uint32(1)]), "the element type counts")
    }

    func assertThrows(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try writeBytes(bytes, "bad")
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "error does not name the file: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(expected), "'\(message)' does not say '\(expected)'", file: file, line: line)
        }
    }

    func tinyModelBytes() throws -> [UInt8] { try TinyModel(.llama).writer().serialized() }

    func testTruncatedFilesGiveClearErrors() throws {
        let bytes = try tinyModelBytes()
        try assertThrows(Array(bytes.prefix(bytes.count - 100)), "truncated")
        try assertThrows(Array(bytes.prefix(200)), "truncated")
        try assertThrows(Array(bytes.prefix(10)), "truncated")
        // Every cut either parses (only padding lost) or throws; none crashes.
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            let path = try writeBytes(Array(bytes.prefix(cut)), "cut")
            _ = try? GGUFFile(path: path)
        }
    }

    func testBadMagicVersionAndEmptyFile() throws {
        var bytes = try tinyModelBytes()
        bytes[0] = UInt8(ascii: "X")
        try assertThrows(bytes, "not a GGUF file")
        bytes = try tinyModelBytes()
        bytes[4] = 9
        try assertThrows(bytes, "unsupported GGUF version 9")
        try assertThrows([], "empty")
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { XCTAssertTrue("\($0)".contains("cannot open")) }
    }

    /// A tensor of a type we do not decode (Q2_K = 10) is named in the error.
    func testUnknownTensorType() throws {
        var w = GGUFWriter()
        try w.addTensor("blk.0.weird", shape: [32], type: .f32, values: [Float](repeating: 1, count: 32))
        var bytes = w.serialized()
        // The tensor info ends with: type (u32 = 0 for F32), offset (u64 = 0), right after the name and dims.
        let name = Array("blk.0.weird".utf8)
        let at = try XCTUnwrap((0...(bytes.count - name.count)).first { Array(bytes[$0..<$0 + name.count]) == name })
        let typeOffset = at + name.count + 4 + 8  // n_dims u32, one u64 dim
        XCTAssertEqual(bytes[typeOffset], 0)
        bytes[typeOffset] = 10
        try assertThrows(bytes, "tensor 'blk.0.weird' has type Q2_K")
    }

    /// Random corruption never crashes the reader: it parses or throws.
    func testRandomCorruptionNeverCrashes() throws {
        let original = try tinyModelBytes()
        var random = SplitMix(state: 99)
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<(1 + random.int(4)) {
                let i = random.int(min(bytes.count, 4096))
                bytes[i] = UInt8(truncatingIfNeeded: random.next())
            }
            let path = try writeBytes(bytes, "fuzz")
            if let file = try? GGUFFile(path: path) {
                for t in file.tensors { XCTAssertLessThanOrEqual(t.offset + t.byteCount, file.fileSize) }
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// SHA-256 against the FIPS 180-4 test vectors and the default model's published hash.
final class SHA256Tests: XCTestCase {
    func hex(_ text: String) -> String {
        var digest = SHA256()
        digest.update(Data(text.utf8))
        return digest.finalizeHex()
    }

    func testKnownVectors() throws {
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in uneven pieces, across block boundaries: the same digest.
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40)
        var pieces = SHA256()
        var rest = Data(text.utf8)
        var size = 1
        while !rest.isEmpty {
            pieces.update(rest.prefix(size))
            rest = rest.dropFirst(size)
            size = size * 3 % 97 + 1
        }
        XCTAssertEqual(pieces.finalizeHex(), hex(text))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try SHA256.hex(ofFile: path), hex(text))
    }

    /// Released pages of a mapping read back as the file's bytes (they fault in again), a range
    /// outside the mapping is ignored, and hashing a file larger than the read buffer gives the
    /// digest of its bytes.
    func testReleasedPagesReadBackUnchanged() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pages-\(UUID().uuidString)").path
        let bytes = (0..<(3 << 20) + 123).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MappedFile(path: path)
        let base = file.bytes.baseAddress!
        XCTAssertEqual(Array(file.bytes), bytes)
        file.releasePages(start: base + 5000, count: 2 << 20)
        file.releasePages(start: base, count: file.bytes.count + 1)  // not inside: ignored
        let outside = [UInt8](repeating: 7, count: 8192)
        outside.withUnsafeBytes { file.releasePages(start: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(outside, [UInt8](repeating: 7, count: 8192))
        XCTAssertEqual(Array(file.bytes), bytes)
        var digest = SHA256()
        bytes.withUnsafeBytes { digest.update($0) }
        XCTAssertEqual(try SHA256.hex(ofFile: path), digest.finalizeHex())
    }

    /// The digest cache returns the file's sha256, reuses an entry only for the same file version
    /// (a changed size or modification time is hashed again), and survives a corrupt entry.
    func testFileDigestCacheFollowsTheFileVersion() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("digests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let path = root.appendingPathComponent("model.bin").path
        let cache = root.appendingPathComponent("cache")
        try Data("first version".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try FileDigest.sha256(ofFile: path, directory: cache), hex("first version"))
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".json") }
        XCTAssertEqual(entries.count, 1)
        // An entry for this exact version is trusted (it is what makes the cache fast): a planted
        // digest comes back while the file is unchanged.
        let entryURL = cache.appendingPathComponent(entries[0])
        var entry = try JSONDecoder().decode(FileDigest.Entry.self, from: Data(contentsOf: entryURL))
        entry.sha256 = String(repeating: "a", count: 64)
        try JSONEncoder().encode(entry).write(to: entryURL)
        XCTAssertEqual(try FileDigest.sha256(ofFile: path, directory: cache), String(repeating: "a", count: 64))
        // A new version of the file is hashed again.
        try Data("second, longer version".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try FileDigest.sha256(ofFile: path, directory: cache), hex("second, longer version"))
        // A corrupt entry is replaced.
        try Data("{not json".utf8).write(to: entryURL)
        XCTAssertEqual(try FileDigest.sha256(ofFile: path, directory: cache), hex("second, longer version"))
        XCTAssertThrowsError(try FileDigest.sha256(ofFile: root.appendingPathComponent("missing").path, directory: cache)) { error in
            XCTAssertTrue("\(error)".contains("missing"), "\(error)")
        }
    }
}

