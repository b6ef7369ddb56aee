import Foundation
import Models
import XCTest

@testable import Store

/// h5py (the reader users open our files with) reads what we write. Fails, not skips, when
/// python3 or h5py is missing: `make test` installs h5py (`pip install h5py`).
final class H5pyTests: XCTestCase {
    /// Runs `python3 -c script path` and returns its exit status and output.
    func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func testH5pyReadsDatasetsAttributesAndRecorders() throws {
        let probe = try python("import h5py; print(h5py.__version__)", [])
        guard probe.status == 0 else {
            XCTFail("python3 with h5py is needed to check our HDF5 files (pip install h5py): \(probe.output)")
            return
        }

        let scratch = try ScratchDirectory()
        let path = scratch.path("for-h5py.h5")
        let file = try HDF5File.create(path: path)
        try file.setAttribute("model_sha256", .string("ab12"))
        try file.setAttribute("seed", .int(42))
        try file.setAttribute("temperature", .double(0.7))
        try file.setAttribute("sizes", .ints([1, 2, 3]))
        try file.setAttribute("weights", .doubles([0.5, 0.25]))
        try file.setAttribute("greedy", .bool(true))
        try file.writeDataset("/steps/latency", [Double(0.01), 0.02, 0.03])
        try file.writeDataset("/steps/accepted", [Int32(1), 3, 2])
        try file.setAttribute("units", .string("seconds"), on: "/steps/latency")
        try file.writeDataset("/matrix", (0..<12).map { Float($0) / 4 }, shape: [3, 4])
        try file.writeDataset("/big", (0..<6).map { Int64($0) << 33 }, shape: [2, 3])
        try file.writeDataset("/bytes", [UInt8(0), 255])
        try file.writeDataset("/empty", [Float](), shape: [0, 5])
        try file.writeStrings("/tokens", ["a", "Grüße", "▁the", ""])

        let activations = ActivationRecorder(layers: [3], taps: [.layerOutput])
        activations.currentStep = 7
        [Float](repeating: 1.5, count: 6).withUnsafeBufferPointer {
            activations.record(layer: 3, tap: .layerOutput, values: $0, rows: 2, width: 3)
        }
        try activations.write(to: file)
        let logits = LogitsRecorder(mode: .topK(2))
        [Float](arrayLiteral: 0.1, 0.9, 0.5, 0.7).withUnsafeBufferPointer {
            logits.record(step: 4, slots: [5], logits: $0, vocabSize: 4)
        }
        try logits.write(to: file)
        try file.close()

        let script = #"""
            import sys, h5py, numpy as np
            f = h5py.File(sys.argv[1], "r")
            a = f.attrs
            assert a["model_sha256"] == "ab12", a["model_sha256"]
            assert a["seed"] == 42 and a["seed"].dtype == np.int64
            assert a["temperature"] == 0.7
            assert list(a["sizes"]) == [1, 2, 3]
            assert list(a["weights"]) == [0.5, 0.25]
            assert a["greedy"] == 1
            lat = f["/steps/latency"]
            assert list(lat[()]) == [0.01, 0.02, 0.03] and lat.dtype == np.float64
            assert lat.attrs["units"] == "seconds"
            assert lat.compression == "gzip" and lat.compression_opts == 4 and lat.shuffle and lat.chunks == (3,)
            assert list(f["/steps/accepted"][()]) == [1, 3, 2] and f["/steps/accepted"].dtype == np.int32
            m = f["/matrix"]
            assert m.shape == (3, 4) and m.dtype == np.float32 and m[2, 1] == 9 / 4
            assert f["/big"][1, 2] == 5 << 33 and f["/big"].dtype == np.int64
            assert list(f["/bytes"][()]) == [0, 255] and f["/bytes"].dtype == np.uint8
            assert f["/empty"].shape == (0, 5) and f["/empty"][()].size == 0
            assert list(f["/tokens"].asstr()[()]) == ["a", "Grüße", "▁the", ""]
            g = f["/activations/layer_03"]
            assert sorted(g.keys()) == ["layer_output", "layer_output_slot", "layer_output_step"], list(g.keys())
            assert g["layer_output"].shape == (2, 3) and (g["layer_output"][()] == 1.5).all()
            assert list(g["layer_output_step"][()]) == [7, 7] and list(g["layer_output_slot"][()]) == [0, 1]
            l = f["/logits"]
            assert l.attrs["mode"] == "top_k" and l.attrs["k"] == 2 and l.attrs["vocab_size"] == 4
            assert l["ids"][()].tolist() == [[1, 3]] and np.allclose(l["values"][()], [[0.9, 0.7]])
            assert list(l["step"][()]) == [4] and list(l["slot"][()]) == [5]
            print("ok")
            """#
        let result = try python(script, [path])
        XCTAssertEqual(result.status, 0, "h5py check failed:\n\(result.output)")
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
