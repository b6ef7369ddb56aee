/// Turns token ids into text one id at a time, for streaming generated text.
///
/// Byte-fallback tokens can split one character over several ids (`<0xF0><0x9F><0x98><0x80>`
/// is one emoji). `append` returns only complete UTF-8 text and holds back the bytes of a
/// character that is still incomplete; bytes that can never become valid UTF-8 come out as
/// U+FFFD at once. Concatenating everything `append` and `finish` return gives the same text as
/// `SentencePieceTokenizer.decode` of all the ids.
public struct StreamingDetokenizer: Sendable {
    /// The tokenizer whose vocabulary renders the ids.
    public let tokenizer: SentencePieceTokenizer
    /// Whether control and unknown tokens (`<bos>`, `<eos>`, `<end_of_turn>`) are rendered as
    /// their text; when false they render as nothing.
    public var renderSpecial: Bool
    private var pending: [UInt8] = []

    /// A detokenizer over `tokenizer`'s vocabulary.
    public init(tokenizer: SentencePieceTokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// The number of bytes held back as the start of an incomplete character.
    public var pendingByteCount: Int { pending.count }

    /// Adds token `id`; returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        tokenizer.appendPiece(of: id, renderSpecial: renderSpecial, to: &pending)
        let cut = UTF8Completeness.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Ends the stream: returns whatever is held back (an incomplete character becomes U+FFFD)
    /// and starts afresh.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}

/// Where complete UTF-8 text ends in a byte buffer.
enum UTF8Completeness {
    /// The length of the longest prefix of `bytes` that does not end inside a character that
    /// later bytes could still complete. Everything before it can be decoded now (invalid
    /// bytes in it decode to U+FFFD); everything after it is the valid start of a character.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        // A character is at most 4 bytes: only the last 3 bytes can start an unfinished one.
        var start = count - 1
        while start >= 0 && start >= count - 3 {
            let lead = bytes[start]
            if lead & 0xC0 != 0x80 {  // not a continuation byte: the candidate start
                let needed = sequenceLength(lead: lead)
                let have = count - start
                guard needed > have else { return count }  // complete (or an invalid lead byte)
                return isValidPrefix(bytes[start...]) ? start : count
            }
            start -= 1
        }
        return count
    }

    /// The length of the character a lead byte starts, or 1 for bytes that start none.
    private static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 1
        }
    }

    /// Whether `prefix` (a lead byte and some continuation bytes) can still become a valid
    /// character, per the well-formed byte sequences of the Unicode standard (table 3-7).
    private static func isValidPrefix(_ prefix: ArraySlice<UInt8>) -> Bool {
        let lead = prefix[prefix.startIndex]
        for (offset, byte) in prefix.dropFirst().enumerated() {
            var range: ClosedRange<UInt8> = 0x80...0xBF
            if offset == 0 {
                switch lead {
                case 0xE0: range = 0xA0...0xBF
                case 0xED: range = 0x80...0x9F
                case 0xF0: range = 0x90...0xBF
                case 0xF4: range = 0x80...0x8F
                default: break
                }
            }
            if !range.contains(byte) { return false }
        }
        return true
    }
}
