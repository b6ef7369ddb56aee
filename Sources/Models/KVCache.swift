/// Keys and values of past tokens, per layer, plus each slot's position.
///
/// A forward pass appends its batch; afterwards the caller may `truncate` (drop the newest
/// entries) or `keep` a chosen subset of the newest entries, moved to be contiguous (what a tree
/// verification step does with the accepted path). Slots are visited in storage order by
/// attention, so a compacted cache holds exactly what decoding the accepted tokens one by one
/// would have stored.
public final class KVCache {
    /// Maximum number of slots.
    public let capacity: Int
    let layerCount: Int
    let width: Int
    private(set) var keys: [[Float]]
    private(set) var values: [[Float]]
    /// Position of each filled slot.
    public private(set) var positions: [Int32] = []

    /// Number of filled slots.
    public var count: Int { positions.count }

    /// An empty cache for `layerCount` layers of `width` (kvHeads * headDim) floats per slot.
    public init(layerCount: Int, width: Int, capacity: Int) {
        self.capacity = capacity
        self.layerCount = layerCount
        self.width = width
        keys = Array(repeating: [], count: layerCount)
        values = Array(repeating: [], count: layerCount)
        for l in 0..<layerCount {
            keys[l].reserveCapacity(capacity * width)
            values[l].reserveCapacity(capacity * width)
        }
    }

    /// Reserves slots for a batch of `positions` (filled layer by layer by `store`).
    func beginBatch(positions batch: [Int32]) throws {
        guard count + batch.count <= capacity else {
            throw ModelError("context full: \(count) cached + \(batch.count) new tokens exceed the context of \(capacity) tokens")
        }
        positions.append(contentsOf: batch)
    }

    /// Appends the batch's keys and values of `layer` (batch x width each).
    func store(layer: Int, keys k: UnsafeBufferPointer<Float>, values v: UnsafeBufferPointer<Float>) {
        keys[layer].append(contentsOf: k)
        values[layer].append(contentsOf: v)
    }

    func withLayer<R>(_ layer: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        keys[layer].withUnsafeBufferPointer { k in
            values[layer].withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) }
        }
    }

    /// Drops every slot from `newCount` on (nothing when `newCount >= count`). Throws for a
    /// negative count.
    public func truncate(to newCount: Int) throws {
        guard newCount >= 0 else { throw ModelError("KVCache.truncate(to: \(newCount)): a slot count cannot be negative") }
        dropSlots(from: newCount)
    }

    private func dropSlots(from newCount: Int) {
        guard newCount < count else { return }
        positions.removeLast(count - newCount)
        for l in 0..<layerCount {
            keys[l].removeLast(keys[l].count - newCount * width)
            values[l].removeLast(values[l].count - newCount * width)
        }
    }

    /// Keeps slots `0..<start` and then only the slots listed in `kept` (ascending, all >= start),
    /// moved down to `start, start+1, ...`; their positions become `start, start+1, ...` too when
    /// `renumber` is set. Everything else from `start` on is dropped. Throws, changing nothing,
    /// when `start` is outside `0...count` or `kept` is not ascending inside `start..<count`.
    public func keep(from start: Int, slots kept: [Int], renumber: Bool = true) throws {
        guard (0...count).contains(start) else {
            throw ModelError("KVCache.keep(from: \(start)): the start is outside the \(count) filled slots")
        }
        if let bad = kept.indices.first(where: { kept[$0] < start || kept[$0] >= count || ($0 > 0 && kept[$0] <= kept[$0 - 1]) }) {
            throw ModelError(
                "KVCache.keep(from: \(start), slots: ...): slot \(kept[bad]) at index \(bad) is not ascending inside \(start)..<\(count)")
        }
        for (offset, slot) in kept.enumerated() where slot != start + offset {
            let destination = (start + offset) * width, source = slot * width
            for l in 0..<layerCount {
                for i in 0..<width {
                    keys[l][destination + i] = keys[l][source + i]
                    values[l][destination + i] = values[l][source + i]
                }
            }
            positions[start + offset] = renumber ? Int32(start + offset) : positions[slot]
        }
        dropSlots(from: start + kept.count)
    }

    /// Removes everything.
    public func reset() { dropSlots(from: 0) }
}
