/// How datasets are split into chunks for compression.
enum ChunkShape {
    /// Bytes per chunk at most: HDF5's default chunk cache holds one such chunk.
    static let maxBytes = 1 << 20

    /// Chunk dimensions for a non-empty dataset of `shape`: whole trailing rows while they fit
    /// in `maxBytes`, then as many of the next dimension as fit (at least one), ones before it.
    /// `[4096, 640]` floats -> `[409, 640]`; `[3, 262144]` floats -> `[1, 262144]`.
    static func choose(for shape: [Int], elementSize: Int) -> [Int] {
        var chunk = [Int](repeating: 1, count: shape.count)
        var room = max(1, maxBytes / elementSize)
        for dimension in shape.indices.reversed() {
            let take = min(shape[dimension], max(1, room))
            chunk[dimension] = take
            room /= take
            if take < shape[dimension] { break }
        }
        return chunk
    }
}
