/// A candidate merge of two adjacent symbols.
struct Bigram {
    /// Index of the left symbol.
    var left: Int32
    /// Index of the right symbol.
    var right: Int32
    /// Score of the token the two would form.
    var score: Float
    /// Byte length of the two together when the bigram was made (stale entries differ).
    var size: Int32

    /// Whether `self` is merged before `other`: higher score first, then the leftmost.
    @inline(__always)
    func precedes(_ other: Bigram) -> Bool {
        score > other.score || (score == other.score && left < other.left)
    }
}

/// A binary max-heap of bigrams ordered by `Bigram.precedes`. Its storage is kept between
/// uses to avoid reallocating.
struct BigramQueue {
    private var heap: [Bigram] = []

    var isEmpty: Bool { heap.isEmpty }

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }

    mutating func push(_ bigram: Bigram) {
        heap.append(bigram)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the bigram to merge next. The queue must not be empty.
    mutating func pop() -> Bigram {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            let count = heap.count
            while true {
                let left = 2 * parent + 1
                guard left < count else { break }
                var best = left
                if left + 1 < count && heap[left + 1].precedes(heap[left]) { best = left + 1 }
                guard heap[best].precedes(heap[parent]) else { break }
                heap.swapAt(best, parent)
                parent = best
            }
        }
        return top
    }
}
