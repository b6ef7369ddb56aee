/// SentencePiece's merge step for one plain-text fragment, as in llama.cpp's `llm_tokenizer_spm`.
///
/// The text (spaces already replaced by `▁`) is split into UTF-8 characters. Then, again and
/// again, the adjacent pair whose joined text is a token with the highest score (the leftmost
/// on ties) is merged, until no adjacent pair forms a token. Each final piece is its token, or
/// when it is not one (a single character missing from the vocabulary), its bytes as
/// byte-fallback tokens `<0xXX>`.
///
/// Keeps its buffers between calls; not for concurrent use.
struct SentencePieceMerger {
    /// A piece of the text: `length` bytes at `start`, linked to its neighbours (-1: none).
    /// A piece merged into its left neighbour has length 0.
    private struct Symbol {
        var start: Int32
        var length: Int32
        var prev: Int32
        var next: Int32
    }

    private let table: TokenTable
    private let scores: [Float]
    /// The token for each byte value in byte fallback (`<0xXX>`, else the byte itself, else unk).
    private let byteTokens: [Int32?]
    private var symbols: [Symbol] = []
    private var queue = BigramQueue()

    init(vocabulary: Vocabulary, byteTokens: [Int32?]) {
        table = vocabulary.table
        scores = vocabulary.scores
        self.byteTokens = byteTokens
    }

    /// Appends the tokens of `text` (UTF-8, spaces already escaped) to `output`.
    mutating func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard let base = text.baseAddress, text.count > 0 else { return }

        // 1. One symbol per UTF-8 character (the lead byte gives its length).
        symbols.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < text.count {
            let length = min(Self.utf8Length(lead: text[offset]), text.count - offset)
            let index = Int32(symbols.count)
            offset += length
            symbols.append(
                Symbol(start: Int32(offset - length), length: Int32(length), prev: index - 1,
                       next: offset == text.count ? -1 : index + 1))
        }

        // 2. Seed the queue with every adjacent pair that forms a token.
        queue.removeAll()
        for right in 1..<max(symbols.count, 1) { addBigram(Int32(right - 1), Int32(right), base) }

        // 3. Merge the best pair until none is left; skip pairs made stale by earlier merges.
        while !queue.isEmpty {
            let bigram = queue.pop()
            let left = Int(bigram.left), right = Int(bigram.right)
            let leftLength = symbols[left].length, rightLength = symbols[right].length
            guard leftLength != 0, rightLength != 0, leftLength + rightLength == bigram.size else { continue }
            symbols[left].length += rightLength
            symbols[right].length = 0
            let after = symbols[right].next
            symbols[left].next = after
            if after >= 0 { symbols[Int(after)].prev = bigram.left }
            addBigram(symbols[left].prev, bigram.left, base)
            addBigram(bigram.left, after, base)
        }

        // 4. Emit each remaining piece: its token, or its bytes.
        var index: Int32 = 0
        while index >= 0 {
            let symbol = symbols[Int(index)]
            if let id = table.id(base + Int(symbol.start), Int(symbol.length)) {
                output.append(id)
            } else {
                for i in Int(symbol.start)..<Int(symbol.start + symbol.length) {
                    if let id = byteTokens[Int(base[i])] { output.append(id) }
                }
            }
            index = symbol.next
        }
    }

    /// Queues the merge of symbols `left` and `right` if their joined text is a token.
    @inline(__always)
    private mutating func addBigram(_ left: Int32, _ right: Int32, _ base: UnsafePointer<UInt8>) {
        guard left >= 0, right >= 0 else { return }
        let start = symbols[Int(left)].start
        let size = symbols[Int(left)].length + symbols[Int(right)].length
        guard let id = table.id(base + Int(start), Int(size)) else { return }
        queue.push(Bigram(left: left, right: right, score: scores[Int(id)], size: size))
    }

    /// The byte length of a UTF-8 character from its first byte (1 for a stray continuation
    /// byte), as llama.cpp's `unicode_len_utf8`.
    @inline(__always)
    static func utf8Length(lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
