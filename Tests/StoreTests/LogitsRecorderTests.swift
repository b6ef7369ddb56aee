import Foundation
import Models
import TestSupport
import XCTest

@testable import Store

/// `LogitsRecorder` in top-k and full modes.
final class LogitsRecorderTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }

    override func tearDown() { scratch = nil }

    /// Writes the recorder to a new file and opens that file for reading.
    func roundTrip(_ recorder: LogitsRecorder) throws -> HDF5File {
        let path = scratch.path("logits-\(UUID().uuidString).h5")
        let file = try HDF5File.create(path: path)
        try recorder.write(to: file)
        try file.close()
        return try HDF5File.open(path: path)
    }

    func testTopKRecordsIdsValuesStepsAndSlots() throws {
        let recorder = LogitsRecorder(mode: .topK(3))
        let rows: [Float] = [
            0.1, 0.9, 0.5, 0.9, -1,  // ties go to the smaller id
            5, 4, 3, 2, 1,
        ]
        rows.withUnsafeBufferPointer { recorder.record(step: 2, slots: [0, 3], logits: $0, vocabSize: 5) }
        let reader = try roundTrip(recorder)
        XCTAssertEqual(try reader.readDataset("/logits/ids", as: Int32.self), [1, 3, 2, 0, 1, 2])
        XCTAssertEqual(try reader.readDataset("/logits/values", as: Float.self), [0.9, 0.9, 0.5, 5, 4, 3])
        XCTAssertEqual(try reader.shape(of: "/logits/ids"), [2, 3])
        XCTAssertEqual(try reader.shape(of: "/logits/values"), [2, 3])
        XCTAssertEqual(try reader.readDataset("/logits/step", as: Int32.self), [2, 2])
        XCTAssertEqual(try reader.readDataset("/logits/slot", as: Int32.self), [0, 3])
        XCTAssertEqual(try reader.attribute("mode", of: "/logits"), .string("top_k"))
        XCTAssertEqual(try reader.attribute("k", of: "/logits"), .int(3))
        XCTAssertEqual(try reader.attribute("vocab_size", of: "/logits"), .int(5))
    }

    func testTopKLargerThanVocabularyIsPadded() throws {
        let recorder = LogitsRecorder(mode: .topK(4))
        [Float](arrayLiteral: 1, 2).withUnsafeBufferPointer { recorder.record(step: 0, slots: [0], logits: $0, vocabSize: 2) }
        XCTAssertEqual(recorder.topKIds, [1, 0, -1, -1])
        XCTAssertEqual(Array(recorder.rows.row(0)), [2, 1, -.infinity, -.infinity])
    }

    func testFullLogitsOfATinyModel() throws {
        let spec = TinyModel(.llama)
        let model = try ModelLoader.load(path: try spec.write(), threads: 2)
        let recorder = LogitsRecorder(mode: .full)
        let cache = model.makeCache(capacity: 16)
        let prefill = try model.forward(tokens: [4, 8, 15, 16], cache: cache, logitRows: [1, 3])
        recorder.record(prefill, step: 0)
        let step = try model.forward(tokens: [23], cache: cache)
        recorder.record(step, step: 1)
        let reader = try roundTrip(recorder)
        XCTAssertEqual(try reader.shape(of: "/logits/values"), [3, spec.vocab])
        XCTAssertEqual(try reader.readDataset("/logits/values", as: Float.self), prefill.values + step.values)
        XCTAssertEqual(try reader.readDataset("/logits/step", as: Int32.self), [0, 0, 1])
        XCTAssertEqual(try reader.readDataset("/logits/slot", as: Int32.self), [1, 3, 0])
        XCTAssertEqual(try reader.attribute("mode", of: "/logits"), .string("full"))
        XCTAssertFalse(try reader.contains("/logits/ids"))
    }

    func testEmptyRecordersWriteEmptyDatasets() throws {
        let reader = try roundTrip(LogitsRecorder(mode: .topK(5)))
        XCTAssertEqual(try reader.shape(of: "/logits/ids"), [0, 5])
        XCTAssertEqual(try reader.shape(of: "/logits/values"), [0, 5])
        XCTAssertEqual(try reader.shape(of: "/logits/step"), [0])
        let full = try roundTrip(LogitsRecorder(mode: .full))
        XCTAssertEqual(try full.shape(of: "/logits/values"), [0, 0])
    }

    func testInconsistentRowsAreReportedOnWrite() throws {
        let recorder = LogitsRecorder(mode: .full)
        [Float](repeating: 0, count: 6).withUnsafeBufferPointer {
            recorder.record(step: 0, slots: [0, 1], logits: $0, vocabSize: 3)
            recorder.record(step: 1, slots: [0, 1, 2], logits: $0, vocabSize: 2)
        }
        XCTAssertEqual(recorder.count, 2)
        let path = scratch.path("bad.h5")
        let file = try HDF5File.create(path: path)
        XCTAssertThrowsError(try recorder.write(to: file)) { error in
            XCTAssertEqual("\(error)", "\(path): /logits: rows of vocabulary size 3 and 2 were recorded")
        }
        recorder.reset()
        XCTAssertEqual(recorder.count, 0)
        XCTAssertNoThrow(try recorder.write(to: file))
    }
}
