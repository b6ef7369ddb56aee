import Tokenizer

/// Small hand-made vocabularies for the unit tests.
enum TestVocabularies {
    /// `<0xXX>` for every byte value, in order.
    static let byteTokens: [String] = (0..<256).map { byte in
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x\(hex.count == 1 ? "0" + hex : hex)>"
    }

    /// A vocabulary built from (text, score, type) triples after `<unk>` (0), `<s>` (1),
    /// `</s>` (2) and, when `withBytes`, the 256 byte tokens (3...258).
    static func make(
        _ entries: [(String, Float, TokenType)], withBytes: Bool = true, addBOS: Bool = true,
        addEOS: Bool = false, addSpacePrefix: Bool = true
    ) throws -> Vocabulary {
        var tokens = ["<unk>", "<s>", "</s>"]
        var scores: [Float] = [0, 0, 0]
        var types: [TokenType] = [.unknown, .control, .control]
        if withBytes {
            tokens += byteTokens
            scores += [Float](repeating: 0, count: 256)
            types += [TokenType](repeating: .byte, count: 256)
        }
        for (text, score, type) in entries {
            tokens.append(text)
            scores.append(score)
            types.append(type)
        }
        return try Vocabulary(
            tokens: tokens, scores: scores, types: types, bos: 1, eos: 2, unk: 0,
            addBOS: addBOS, addEOS: addEOS, addSpacePrefix: addSpacePrefix)
    }

    /// A tokenizer over `make(...)`.
    static func tokenizer(
        _ entries: [(String, Float, TokenType)], withBytes: Bool = true, addBOS: Bool = true,
        addEOS: Bool = false, addSpacePrefix: Bool = true
    ) throws -> SentencePieceTokenizer {
        SentencePieceTokenizer(
            vocabulary: try make(
                entries, withBytes: withBytes, addBOS: addBOS, addEOS: addEOS, addSpacePrefix: addSpacePrefix))
    }
}

extension SentencePieceTokenizer {
    /// The ids of `texts`, which must all be tokens (test helper).
    func ids(_ texts: String...) -> [Int32] { texts.map { vocabulary.id(for: $0) ?? -1 } }
}
