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
    private let children: [UInt32: Int32]
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
        var children: [UInt32: Int32] = [:]
        var terminal: [Int32] = [-1]  // node 0 is the root
        for (rank, id) in ids.enumerated() {
            var node: Int32 = 0
            for byte in table.bytes[table.range(of: Int(id))] {
                let next: Int32?
                if node == 0 {
                    next = rootChildren[Int(byte)] >= 0 ? rootChildren[Int(byte)] : nil
                } else {
                    next = children[UInt32(node) << 8 | UInt32(byte)]
                }
                if let next {
                    node = next
                } else {
                    let created = Int32(terminal.count)
                    terminal.append(-1)
                    if node == 0 { rootChildren[Int(byte)] = created } else { children[UInt32(node) << 8 | UInt32(byte)] = created }
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

        // 1. Every occurrence of every eligible special token, keyed (rank << 32 | start).
        var occurrences: [UInt64] = []
        for start in 0..<count {
            var node = rootChildren[Int(text[start])]
            var end = start + 1
            while node >= 0 {
                let rank = terminal[Int(node)]
                if rank >= 0 && (parseSpecial || !needsParseSpecial[Int(rank)]) {
                    occurrences.append(UInt64(rank) << 32 | UInt64(start))
                }
                guard end < count, let next = children[UInt32(node) << 8 | UInt32(text[end])] else { break }
                node = next
                end += 1
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<count)] }

        // 2. Accept them in llama.cpp's order: token by token (longest first), left to right.
        occurrences.sort()
        var taken = [Bool](repeating: false, count: count)
        var cuts: [(start: Int, end: Int, id: Int32)] = []
        var currentRank = -1
        var lastEnd = 0
        for key in occurrences {
            let rank = Int(key >> 32)
            let start = Int(key & 0xFFFF_FFFF)
            let end = start + Int(lengths[rank])
            if rank != currentRank {
                currentRank = rank
                lastEnd = 0
            }
            guard start >= lastEnd, !taken[start..<end].contains(true) else { continue }
            for i in start..<end { taken[i] = true }
            cuts.append((start, end, ordered[rank]))
            lastEnd = end
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
