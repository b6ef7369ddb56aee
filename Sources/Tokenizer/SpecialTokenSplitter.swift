/// A piece of input text after special tokens have been cut out: either plain text for
/// SentencePiece or a special token taken as is.
enum Fragment: Equatable {
    /// Plain text: a byte range of the input.
    case text(Range<Int>)
    /// A special token found in the input.
    case token(Int32)
}

/// Cuts special tokens out of a text before SentencePiece runs, with exactly the result of
/// llama.cpp's `tokenizer_st_partition`.
///
/// llama.cpp takes the special tokens one at a time, longest text first, and cuts every
/// leftmost, non-overlapping occurrence of each out of the text pieces that are still plain.
/// Doing that literally costs one search per special token (Gemma has 6,414). Here a byte trie
/// finds every occurrence of every special token in one pass over the text, and the occurrences
/// are then accepted in the same order llama.cpp would cut them: by token rank, then position,
/// skipping those that overlap text already cut out or the previous cut of the same token.
///
/// Tokens of equal length are ranked by id. llama.cpp's `std::sort` leaves their order
/// unspecified; it matters only if two equal-length special tokens can overlap in a text, which
/// never happens in Gemma's vocabulary. llama.cpp's LSTRIP/RSTRIP attributes (set only for a few
/// named models, not SentencePiece ones) are not modelled.
struct SpecialTokenSplitter: Sendable {
    /// Special token ids in llama.cpp's processing order (longest text first).
    private let ordered: [Int32]
    /// Text length in bytes of `ordered[i]`.
    private let lengths: [Int32]
    /// Whether `ordered[i]` is cut only when special tokens are parsed (control or unknown).
    private let needsParseSpecial: [Bool]
    /// Trie: child of the root for each first byte (-1: none).
    private let rootChildren: [Int32]
    /// Trie: child of node `n` for byte `b`, keyed `n << 8 | b`.
    private let children: TrieEdges
    /// Trie: index into `ordered` of the token ending at each node (-1: none).
    private let terminal: [Int32]

    init(vocabulary: Vocabulary) {
        var ids: [Int32] = []
        for (id, type) in vocabulary.types.enumerated()
        where type == .control || type == .userDefined || type == .unknown {
            ids.append(Int32(id))
        }
        let table = vocabulary.table
        let length = { (id: Int32) in table.range(of: Int(id)).count }
        ids.sort { length($0) != length($1) ? length($0) > length($1) : $0 < $1 }
        ordered = ids
        lengths = ids.map { Int32(length($0)) }
        needsParseSpecial = ids.map { vocabulary.types[Int($0)] != .userDefined }

        var rootChildren = [Int32](repeating: -1, count: 256)
        var children = TrieEdges()
        var terminal: [Int32] = [-1]  // node 0 is the root
        for (rank, id) in ids.enumerated() {
            var node: Int32 = 0
            for byte in table.bytes[table.range(of: Int(id))] {
                let next: Int32?
                if node == 0 {
                    next = rootChildren[Int(byte)] >= 0 ? rootChildren[Int(byte)] : nil
                } else {
                    next = children.child(UInt32(node) << 8 | UInt32(byte))
                }
                if let next {
                    node = next
                } else {
                    let created = Int32(terminal.count)
                    terminal.append(-1)
                    if node == 0 {
                        rootChildren[Int(byte)] = created
                    } else {
                        children.insert(UInt32(node) << 8 | UInt32(byte), child: created)
                    }
                    node = created
                }
            }
            terminal[Int(node)] = Int32(rank)
        }
        self.rootChildren = rootChildren
        self.children = children
        self.terminal = terminal
    }

    /// Splits `text` into plain-text ranges and special tokens, in order. User-defined tokens
    /// are always cut out; control and unknown tokens only when `parseSpecial` is true.
    func split(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let count = text.count
        guard count > 0 else { return [] }

        // 1. Every occurrence of every eligible special token: (rank, start), in text order.
        var occurrences: [(rank: Int32, start: Int32)] = []
        for start in 0..<count {
            var node = rootChildren[Int(text[start])]
            var end = start + 1
            while node >= 0 {
                let rank = terminal[Int(node)]
                if rank >= 0 && (parseSpecial || !needsParseSpecial[Int(rank)]) {
                    occurrences.append((rank, Int32(start)))
                }
                guard end < count, let next = children.child(UInt32(node) << 8 | UInt32(text[end])) else { break }
                node = next
                end += 1
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<count)] }

        // 2. Accept them in llama.cpp's order: token by token (longest first), left to right.
        //    A counting sort by rank keeps text order within a rank.
        var firstOfRank = [Int32](repeating: 0, count: ordered.count + 1)
        for occurrence in occurrences { firstOfRank[Int(occurrence.rank) + 1] += 1 }
        for rank in 0..<ordered.count { firstOfRank[rank + 1] += firstOfRank[rank] }
        var byRank = [Int32](repeating: 0, count: occurrences.count)
        var fill = firstOfRank
        for occurrence in occurrences {
            byRank[Int(fill[Int(occurrence.rank)])] = occurrence.start
            fill[Int(occurrence.rank)] += 1
        }
        var taken = [Bool](repeating: false, count: count)
        var cuts: [(start: Int, end: Int, id: Int32)] = []
        for rank in 0..<ordered.count where firstOfRank[rank] < firstOfRank[rank + 1] {
            let length = Int(lengths[rank])
            var lastEnd = 0
            for index in Int(firstOfRank[rank])..<Int(firstOfRank[rank + 1]) {
                let start = Int(byRank[index])
                let end = start + length
                // Text already cut out belongs to tokens at least as long as this one, so an
                // overlap always covers the first or the last byte of this occurrence.
                guard start >= lastEnd, !taken[start], !taken[end - 1] else { continue }
                for i in start..<end { taken[i] = true }
                cuts.append((start, end, ordered[rank]))
                lastEnd = end
            }
        }

        // 3. Fragments in text order.
        cuts.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        var position = 0
        for cut in cuts {
            if cut.start > position { fragments.append(.text(position..<cut.start)) }
            fragments.append(.token(cut.id))
            position = cut.end
        }
        if position < count { fragments.append(.text(position..<count)) }
        return fragments
    }
}

/// The edges of the special-token trie below the root: an open-addressing hash table from
/// `node << 8 | byte` to the child node (Swift's `Dictionary` hashes several times slower).
struct TrieEdges: Sendable {
    private var keys: [UInt32] = [UInt32](repeating: .max, count: 16)
    private var values: [Int32] = [Int32](repeating: -1, count: 16)
    private var count = 0

    /// The child for `key`, or nil.
    @inline(__always)
    func child(_ key: UInt32) -> Int32? {
        let mask = keys.count - 1
        var slot = Self.slot(key, mask)
        while true {
            let stored = keys[slot]
            if stored == key { return values[slot] }
            if stored == .max { return nil }
            slot = (slot + 1) & mask
        }
    }

    mutating func insert(_ key: UInt32, child: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var slot = Self.slot(key, mask)
        while keys[slot] != .max && keys[slot] != key { slot = (slot + 1) & mask }
        if keys[slot] == .max { count += 1 }
        keys[slot] = key
        values[slot] = child
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt32](repeating: .max, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        count = 0
        for (key, value) in zip(oldKeys, oldValues) where key != .max { insert(key, child: value) }
    }

    @inline(__always)
    private static func slot(_ key: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }
}
