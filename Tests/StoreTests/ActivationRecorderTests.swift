import Foundation
import Models
import TestSupport
import XCTest

@testable import Store

/// `ActivationRecorder` as the hook of a tiny model's forward pass.
final class ActivationRecorderTests: XCTestCase {
    let tokens: [Int32] = [5, 17, 9, 33, 60]
    let next: Int32 = 21

    func testRecordsChosenLayersAndTapsOfAForward() throws {
        for architecture in TinyModel.Architecture.allCases {
            let spec = TinyModel(architecture)
            let model = try ModelLoader.load(path: try spec.write(), threads: 2)
            let last = spec.layers - 1
            let recorder = ActivationRecorder(layers: [0, 1, last], taps: [.layerInput, .layerOutput])

            // Step 0: prefill of five tokens; step 1: one decoded token; then a forward that is
            // not recorded.
            let cache = model.makeCache(capacity: 32)
            _ = try model.forward(tokens: tokens, cache: cache, hook: recorder)
            recorder.currentStep = 1
            _ = try model.forward(tokens: [next], cache: cache, hook: recorder)
            recorder.isRecording = false
            _ = try model.forward(tokens: [7], cache: cache, hook: recorder)

            let output = try XCTUnwrap(recorder.rows(layer: last, tap: .layerOutput), "\(architecture)")
            XCTAssertEqual(output.count, 6)
            XCTAssertEqual(output.width, spec.hidden)
            XCTAssertEqual(output.values.count, 6 * spec.hidden)
            XCTAssertEqual(output.steps, [0, 0, 0, 0, 0, 1])
            XCTAssertEqual(output.slots, [0, 1, 2, 3, 4, 0])
            XCTAssertNil(recorder.rows(layer: 0, tap: .ffnOutput), "taps not asked for are not recorded")
            if last > 2 { XCTAssertNil(recorder.rows(layer: 2, tap: .layerOutput), "layers not asked for are not recorded") }
            // The residual stream leaving layer 0 is the one entering layer 1.
            XCTAssertEqual(recorder.rows(layer: 0, tap: .layerOutput)?.values, recorder.rows(layer: 1, tap: .layerInput)?.values)

            // A second recorder on the same input sees the same last-layer rows, bitwise.
            let second = ActivationRecorder(layers: [last], taps: [.layerOutput])
            _ = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), hook: second)
            let again = try XCTUnwrap(second.rows(layer: last, tap: .layerOutput))
            XCTAssertEqual(again.count, 5)
            XCTAssertEqual(again.values, Array(output.values.prefix(5 * spec.hidden)), "\(architecture)")

            // The decoded row equals the same position inside one prefill (batch invariance).
            let whole = ActivationRecorder(layers: [last], taps: [.layerOutput])
            _ = try model.forward(tokens: tokens + [next], cache: model.makeCache(capacity: 32), hook: whole)
            XCTAssertEqual(Array(output.row(5)), Array(try XCTUnwrap(whole.rows(layer: last, tap: .layerOutput)).row(5)))

            // Only some batch rows.
            let some = ActivationRecorder(layers: [last], taps: [.layerOutput])
            some.slots = [4, 1, 99]
            _ = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32), hook: some)
            let picked = try XCTUnwrap(some.rows(layer: last, tap: .layerOutput))
            XCTAssertEqual(picked.slots, [4, 1])
            XCTAssertEqual(Array(picked.row(0)), Array(output.row(4)))
            XCTAssertEqual(Array(picked.row(1)), Array(output.row(1)))

            // Written and read back.
            let scratch = try ScratchDirectory()
            let path = scratch.path("activations.h5")
            let file = try HDF5File.create(path: path)
            try recorder.write(to: file)
            try file.close()
            let reader = try HDF5File.open(path: path)
            XCTAssertEqual(
                try reader.children(of: "/activations"), Set([0, 1, last]).sorted().map { String(format: "layer_%02d", $0) })
            XCTAssertEqual(
                try reader.children(of: "/activations/layer_00"),
                [
                    "layer_input", "layer_input_slot", "layer_input_step", "layer_output", "layer_output_slot",
                    "layer_output_step",
                ])
            let name = String(format: "/activations/layer_%02d/layer_output", last)
            XCTAssertEqual(try reader.shape(of: name), [6, spec.hidden])
            XCTAssertEqual(try reader.readDataset(name, as: Float.self), output.values)
            XCTAssertEqual(try reader.readDataset(name + "_step", as: Int32.self), [0, 0, 0, 0, 0, 1])
            XCTAssertEqual(try reader.readDataset(name + "_slot", as: Int32.self), [0, 1, 2, 3, 4, 0])

            recorder.reset()
            XCTAssertNil(recorder.rows(layer: last, tap: .layerOutput))
        }
    }

    func testLayerNamesAndWidthMismatch() throws {
        XCTAssertEqual(ActivationRecorder.layerName(3), "layer_03")
        XCTAssertEqual(ActivationRecorder.layerName(17), "layer_17")
        XCTAssertEqual(ActivationRecorder.layerName(123), "layer_123")

        let recorder = ActivationRecorder(layers: [0], taps: [.ffnOutput])
        [Float](repeating: 1, count: 6).withUnsafeBufferPointer {
            recorder.record(layer: 0, tap: .ffnOutput, values: $0, rows: 2, width: 3)
            recorder.record(layer: 0, tap: .ffnOutput, values: $0, rows: 3, width: 2)
        }
        let scratch = try ScratchDirectory()
        let path = scratch.path("mismatch.h5")
        let file = try HDF5File.create(path: path)
        XCTAssertThrowsError(try recorder.write(to: file)) { error in
            XCTAssertEqual("\(error)", "\(path): /activations/layer_00/ffn_output: rows of width 3 and 2 were recorded")
        }
    }
}
