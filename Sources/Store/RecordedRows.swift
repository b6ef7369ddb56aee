/// Rows of floats gathered by a recorder, with the decoding step and batch slot of each row.
public struct RecordedRows: Sendable {
    /// Floats per row; 0 until the first row arrives.
    public private(set) var width = 0
    /// rows x width floats, row-major.
    public private(set) var values: [Float] = []
    /// The decoding step each row came from (the caller's `currentStep` when it was recorded).
    public private(set) var steps: [Int32] = []
    /// Each row's index in its batch.
    public private(set) var slots: [Int32] = []
    /// The first inconsistency met (rows of another width), reported when the rows are written;
    /// rows that disagree are dropped.
    private(set) var problem: String?

    /// No rows yet; `width` 0 takes the width of the first row.
    init(width: Int = 0) {
        self.width = width
    }

    /// The number of rows recorded.
    public var count: Int { steps.count }

    /// The floats of row `index`.
    public func row(_ index: Int) -> ArraySlice<Float> { values[index * width..<(index + 1) * width] }

    /// Appends one row (`row.count` floats) from batch slot `slot` at step `step`.
    mutating func append(_ row: UnsafeBufferPointer<Float>, step: Int, slot: Int) {
        if count == 0 && width == 0 { width = row.count }
        guard row.count == width else {
            if problem == nil { problem = "rows of width \(width) and \(row.count) were recorded" }
            return
        }
        values.append(contentsOf: row)
        steps.append(Int32(clamping: step))
        slots.append(Int32(clamping: slot))
    }

    /// Writes the rows to `values` ([rows, width] Float), `steps` and `slots` ([rows] Int32).
    func write(to file: HDF5File, values valuesPath: String, steps stepsPath: String, slots slotsPath: String) throws {
        if let problem { throw StoreError(path: file.path, object: valuesPath, reason: problem) }
        try file.writeDataset(valuesPath, values, shape: [count, width])
        try file.writeDataset(stepsPath, steps)
        try file.writeDataset(slotsPath, slots)
    }
}
