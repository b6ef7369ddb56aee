import Decoding
import Foundation
import Models
import TestSupport
import XCTest

final class PromptTokensTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Safetensors

    func testSafetensorsRoundTripKeepsTensorsAndMetadata() throws {
        let original = Safetensors(
            tensors: [
                "a": .init(shape: [2, 3], values: [1, -2, 3.5, .pi, -0.0, 1e-30]),
                "b.weight": .init(shape: [4], values: [0, 1, 2, 3]),
                "scalar": .init(shape: [], values: [42]),
                "empty": .init(shape: [0, 5], values: []),
            ],
            metadata: ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t ünïcode"])
        let url = directory.appendingPathComponent("round.safetensors")
        try original.write(to: url)
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(bytes.count, 8 + Int(headerLength) + 4 * (6 + 4 + 1))
        let read = try Safetensors(contentsOf: url)
        XCTAssertEqual(read, original)
        XCTAssertEqual(read.tensors["a"]!.values.map(\.bitPattern), original.tensors["a"]!.values.map(\.bitPattern))
        // No temporary files are left beside the result.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["round.safetensors"])
        // Writing again replaces the file.
        try Safetensors(tensors: ["x": .init(shape: [1], values: [7])]).write(to: url)
        XCTAssertEqual(try Safetensors(contentsOf: url).tensors["x"]?.values, [7])
    }

    func testReadsHandWrittenF16AndBF16Tensors() throws {
        // F16: 1.0, -2.0, 0.5, 65504 (max), smallest subnormal 2^-24, +inf.
        let half: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00]
        // BF16: 1.0, -3.0.
        let brain: [UInt16] = [0x3F80, 0xC040]
        var data: [UInt8] = []
        for value in half + brain { data += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        let header =
            #"{"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}}"#
        let url = try writeRaw(header: header, data: data, name: "half.safetensors")
        let file = try Safetensors(contentsOf: url)
        XCTAssertEqual(file.tensors["h"]?.shape, [2, 3])
        XCTAssertEqual(file.tensors["h"]?.values, [1, -2, 0.5, 65504, 0x1p-24, .infinity])
        XCTAssertEqual(file.tensors["b"]?.values, [1, -3])
        XCTAssertEqual(file.metadata, [:])
    }

    func testMalformedFilesNameTheFileAndTheProblem() throws {
        let good = #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let cases: [(name: String, bytes: [UInt8], expected: String)] = [
            ("short", [1, 2, 3], "too short"),
            ("past-end", littleEndian(1000) + Array(good.utf8), "past the end"),
            ("bad-json", framed(#"{"t": {"dtype": "F32", "#, data: []), "JSON"),
            ("not-object", framed(#"[1, 2]"#, data: []), "JSON"),
            (
                "missing-field", framed(#"{"t":{"dtype":"F32","shape":[2]}}"#, data: [UInt8](repeating: 0, count: 8)),
                "data_offsets"
            ),
            ("bad-metadata", framed(#"{"__metadata__":{"n":3}}"#, data: []), "__metadata__"),
            (
                "dtype", framed(#"{"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: zeros(8)),
                "unknown dtype \"I64\""
            ),
            ("shape", framed(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: zeros(8)), "shape [3]"),
            ("negative-shape", framed(#"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: zeros(8)), "negative"),
            ("outside", framed(#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: zeros(8)), "outside the data"),
            ("reversed", framed(#"{"t":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, data: zeros(8)), "outside the data"),
            (
                "overlap",
                framed(
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                    data: zeros(12)), "overlapping"
            ),
        ]
        for (name, bytes, expected) in cases {
            let url = directory.appendingPathComponent("\(name).safetensors")
            try Data(bytes).write(to: url)
            XCTAssertThrowsError(try Safetensors(contentsOf: url), name) { error in
                XCTAssertTrue(error is SafetensorsError, "\(name): \(error)")
                let text = String(describing: error)
                XCTAssertTrue(text.contains(url.path), "\(name): \(text)")
                XCTAssertTrue(text.contains(expected), "\(name): \(text)")
            }
        }
        // A missing file is an error too, naming the file.
        let missing = directory.appendingPathComponent("absent.safetensors")
        XCTAssertThrowsError(try Safetensors(contentsOf: missing)) { error in
            XCTAssertTrue(String(describing: error).contains(missing.path))
        }
        // The well-formed variant is accepted.
        XCTAssertEqual(try Safetensors.decode(Data(framed(good, data: zeros(8)))).tensors["t"]?.values, [0, 0])
    }

    func testWritingRefusesATensorWhoseShapeDoesNotMatchItsValues() throws {
        let url = directory.appendingPathComponent("bad.safetensors")
        let file = Safetensors(tensors: ["t": .init(shape: [2, 2], values: [1, 2, 3])])
        XCTAssertThrowsError(try file.write(to: url)) { error in
            XCTAssertTrue(String(describing: error).contains("t"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    // MARK: PromptTokens

    func testRandomIsDeterministicPerSeed() throws {
        let a = try PromptTokens.random(count: 3, virtualTokens: 2, hiddenSize: 17, seed: 7, scale: 0.5)
        let b = try PromptTokens.random(count: 3, virtualTokens: 2, hiddenSize: 17, seed: 7, scale: 0.5)
        let c = try PromptTokens.random(count: 3, virtualTokens: 2, hiddenSize: 17, seed: 8, scale: 0.5)
        XCTAssertEqual(a.embeddings.count, 3 * 2 * 17)
        XCTAssertEqual(a.embeddings.map(\.bitPattern), b.embeddings.map(\.bitPattern))
        XCTAssertNotEqual(a.embeddings, c.embeddings)
        // Roughly normal with standard deviation `scale`.
        let big = try PromptTokens.random(count: 4, virtualTokens: 4, hiddenSize: 1000, seed: 1, scale: 0.5)
        let mean = big.embeddings.reduce(0, +) / Float(big.embeddings.count)
        let variance = big.embeddings.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(big.embeddings.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance.squareRoot(), 0.5, accuracy: 0.02)
        XCTAssertEqual(try a.embedding(promptToken: 1, virtual: 1), a.embeddings[(1 * 2 + 1) * 17..<(1 * 2 + 2) * 17])
        for (k, v) in [(-1, 0), (3, 0), (0, 2), (0, -1)] {
            XCTAssertThrowsError(try a.embedding(promptToken: k, virtual: v)) { XCTAssertTrue("\($0)".contains("no embedding for prompt token \(k)"), "\($0)") }
        }
    }

    func testInitChecksSizes() throws {
        XCTAssertThrowsError(try PromptTokens(count: 2, virtualTokens: 1, hiddenSize: 4, embeddings: [1, 2, 3])) { error in
            XCTAssertTrue(String(describing: error).contains("8 floats"), "\(error)")
        }
        XCTAssertThrowsError(try PromptTokens(count: 0, virtualTokens: 1, hiddenSize: 4, embeddings: []))
        XCTAssertThrowsError(try PromptTokens.random(count: 1, virtualTokens: -1, hiddenSize: 4, seed: 1, scale: 1))
    }

    func testSaveLoadRoundTripIsBitwise() throws {
        var tokens = try PromptTokens.random(count: 3, virtualTokens: 4, hiddenSize: 10, seed: 3, scale: 2)
        tokens.attention = .decoder
        tokens.baseModelSHA256 = String(repeating: "ab", count: 32)
        tokens.trainingSummary = "2 epochs, lr 1e-2, ShareGPT, template plain"
        let url = directory.appendingPathComponent("prompt.safetensors")
        try tokens.save(to: url)
        let loaded = try PromptTokens.load(from: url)
        XCTAssertEqual(loaded, tokens)
        XCTAssertEqual(loaded.embeddings.map(\.bitPattern), tokens.embeddings.map(\.bitPattern))
        let file = try Safetensors(contentsOf: url)
        XCTAssertEqual(file.tensors["prompt_embeddings"]?.shape, [12, 10])
        XCTAssertEqual(file.metadata["num_prompt_tokens"], "3")
        XCTAssertEqual(file.metadata["virtual_tokens_per_prompt_token"], "4")
        XCTAssertEqual(file.metadata["attention_type"], "decoder")
        // Without the optional fields, they stay absent.
        let plain = try PromptTokens.random(count: 1, virtualTokens: 1, hiddenSize: 3, seed: 1, scale: 1)
        try plain.save(to: url)
        XCTAssertEqual(try PromptTokens.load(from: url), plain)
        XCTAssertNil(try Safetensors(contentsOf: url).metadata["base_model_sha256"])
    }

    func testLoadsAPEFTAdapterWithoutMetadata() throws {
        let url = directory.appendingPathComponent("adapter_model.safetensors")
        let values = (0..<15).map(Float.init)
        try Safetensors(tensors: ["prompt_embeddings": .init(shape: [5, 3], values: values)]).write(to: url)
        let tokens = try PromptTokens.load(from: url)
        XCTAssertEqual(tokens.count, 5)
        XCTAssertEqual(tokens.virtualTokens, 1)
        XCTAssertEqual(tokens.hiddenSize, 3)
        XCTAssertEqual(tokens.embeddings, values)
        XCTAssertEqual(tokens.attention, .ensemble)
        // Metadata giving V only: N follows from the rows.
        try Safetensors(
            tensors: ["prompt_embeddings": .init(shape: [6, 2], values: zeros(12).map(Float.init))],
            metadata: ["virtual_tokens_per_prompt_token": "3"]
        ).write(to: url)
        let grouped = try PromptTokens.load(from: url)
        XCTAssertEqual(grouped.count, 2)
        XCTAssertEqual(grouped.virtualTokens, 3)
    }

    func testLoadRejectsInconsistentFiles() throws {
        let url = directory.appendingPathComponent("bad-prompt.safetensors")
        let cases: [(Safetensors, String)] = [
            (Safetensors(tensors: ["other": .init(shape: [1], values: [0])]), "no tensor \"prompt_embeddings\""),
            (Safetensors(tensors: ["prompt_embeddings": .init(shape: [4], values: [0, 0, 0, 0])]), "shape [4]"),
            (
                Safetensors(
                    tensors: ["prompt_embeddings": .init(shape: [4, 1], values: [0, 0, 0, 0])],
                    metadata: ["num_prompt_tokens": "3", "virtual_tokens_per_prompt_token": "1"]), "4 embedding rows"
            ),
            (
                Safetensors(
                    tensors: ["prompt_embeddings": .init(shape: [4, 1], values: [0, 0, 0, 0])],
                    metadata: ["virtual_tokens_per_prompt_token": "3"]), "4 embedding rows"
            ),
            (
                Safetensors(
                    tensors: ["prompt_embeddings": .init(shape: [1, 1], values: [0])], metadata: ["num_prompt_tokens": "x"]),
                "num_prompt_tokens"
            ),
            (
                Safetensors(
                    tensors: ["prompt_embeddings": .init(shape: [1, 1], values: [0])], metadata: ["attention_type": "sideways"]),
                "sideways"
            ),
        ]
        for (file, expected) in cases {
            try file.write(to: url)
            XCTAssertThrowsError(try PromptTokens.load(from: url)) { error in
                let text = String(describing: error)
                XCTAssertTrue(error is PromptTokensError, text)
                XCTAssertTrue(text.contains(url.path), text)
                XCTAssertTrue(text.contains(expected), text)
            }
        }
    }

    func testFromTextUsesTheModelsScaledEmbeddingsCyclingThroughTheIDs() throws {
        let model = try ModelLoader.load(path: try TinyModel(.gemma3).write())
        let hidden = model.config.hiddenSize
        let ids: [Int32] = [5, 17, 42]
        let tokens = try PromptTokens.fromText(tokenIDs: ids, count: 2, virtualTokens: 2, model: model)
        XCTAssertEqual(tokens.count, 2)
        XCTAssertEqual(tokens.virtualTokens, 2)
        XCTAssertEqual(tokens.hiddenSize, hidden)
        let table = try model.embed(ids)
        // Rows 0, 1, 2, 3 come from ids 0, 1, 2, 0.
        for (row, source) in [0, 1, 2, 0].enumerated() {
            let expected = Array(table[source * hidden..<(source + 1) * hidden])
            XCTAssertEqual(
                Array(try tokens.embedding(promptToken: row / 2, virtual: row % 2)).map(\.bitPattern), expected.map(\.bitPattern))
        }
        // Default count: one prompt token per id.
        let one = try PromptTokens.fromText(tokenIDs: ids, virtualTokens: 1, model: model)
        XCTAssertEqual(one.count, 3)
        XCTAssertEqual(one.embeddings, table)
        XCTAssertNoThrow(try one.validate(for: model, modelSHA256: nil))
        XCTAssertThrowsError(try PromptTokens.fromText(tokenIDs: [], virtualTokens: 1, model: model))
        XCTAssertThrowsError(try PromptTokens.fromText(tokenIDs: [9999], virtualTokens: 1, model: model))
    }

    func testValidateNamesHiddenSizeAndHashMismatches() throws {
        let model = try ModelLoader.load(path: try TinyModel(.gemma3).write())
        let hidden = model.config.hiddenSize
        let wide = try PromptTokens.random(count: 1, virtualTokens: 1, hiddenSize: 4096, seed: 1, scale: 1)
        XCTAssertThrowsError(try wide.validate(for: model, modelSHA256: nil)) { error in
            XCTAssertEqual(
                String(describing: error), "prompt tokens have hidden size 4096 but the model's is \(hidden)")
        }
        var tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: hidden, seed: 1, scale: 1)
        tokens.baseModelSHA256 = String(repeating: "a", count: 64)
        XCTAssertNoThrow(try tokens.validate(for: model, modelSHA256: nil))
        XCTAssertNoThrow(try tokens.validate(for: model, modelSHA256: String(repeating: "A", count: 64)))
        let other = String(repeating: "b", count: 64)
        XCTAssertThrowsError(try tokens.validate(for: model, modelSHA256: other)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("sha256"), text)
            XCTAssertTrue(text.contains(other), text)
        }
        tokens.withMutableEmbeddings { $0[hidden + 1] = .nan }
        XCTAssertThrowsError(try tokens.validate(for: model, modelSHA256: nil)) { error in
            XCTAssertTrue(String(describing: error).contains("row 1"), "\(error)")
        }
    }

    /// When numpy is available, an independent reader agrees with ours on a file we wrote.
    func testNumpyReadsOurFile() throws {
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 3, hiddenSize: 5, seed: 11, scale: 1)
        let url = directory.appendingPathComponent("numpy.safetensors")
        try tokens.save(to: url)
        let script = """
            import json, struct, sys
            try:
                import numpy as np
            except ImportError:
                print("SKIP"); sys.exit(0)
            raw = open(sys.argv[1], "rb").read()
            n = struct.unpack("<Q", raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            info = header["prompt_embeddings"]
            b, e = info["data_offsets"]
            a = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(info["shape"])
            print(header["__metadata__"]["num_prompt_tokens"], a.shape[0], a.shape[1], repr(float(a.sum(dtype=np.float64))))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if process.terminationStatus == 127 { throw XCTSkip("no python3 on PATH") }
        if output == "SKIP" { throw XCTSkip("numpy is not installed") }
        XCTAssertEqual(process.terminationStatus, 0)
        let fields = output.split(separator: " ")
        XCTAssertEqual(fields.prefix(3), ["2", "6", "5"])
        let sum = tokens.embeddings.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(Double(fields.last ?? "") ?? .nan, sum, accuracy: 1e-9)
    }

    // MARK: Helpers

    private func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }

    private func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// A file of header length, `header` and `data`.
    private func framed(_ header: String, data: [UInt8]) -> [UInt8] {
        littleEndian(UInt64(header.utf8.count)) + Array(header.utf8) + data
    }

    private func writeRaw(header: String, data: [UInt8], name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(framed(header, data: data)).write(to: url)
        return url
    }
}
