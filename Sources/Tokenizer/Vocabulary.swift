/// A SentencePiece vocabulary: token texts, merge scores, token types, special ids and the
/// flags that steer encoding. A value type; copies share storage.
///
/// Lookups by text compare UTF-8 bytes (see `id(for:)`), so two canonically equivalent but
/// differently encoded tokens stay distinct, as in llama.cpp.
public struct Vocabulary: Sendable {
    /// Token texts by id, as stored (`▁` stands for a space in normal tokens). Empty texts are
    /// replaced by `[EMPTY_<id>]`, as llama.cpp does.
    public let tokens: [String]
    /// Merge scores by id: SentencePiece merges the adjacent pair whose joined text has the
    /// highest score.
    public let scores: [Float]
    /// Token types by id, as encoding and decoding use them (for a GGUF vocabulary: the file's
    /// types with llama.cpp's corrections by text, see `init(gguf:)`).
    public internal(set) var types: [TokenType]
    /// Beginning-of-sequence id.
    public let bos: Int32?
    /// End-of-sequence id.
    public let eos: Int32?
    /// Unknown-token id (used when a byte has no byte-fallback token).
    public let unk: Int32?
    /// Padding id.
    public let pad: Int32?
    /// Whether `encode(addSpecial: true)` starts with `bos`.
    public let addBOS: Bool
    /// Whether `encode(addSpecial: true)` ends with `eos`.
    public let addEOS: Bool
    /// Whether a space is put in front of a text fragment that starts the input or follows a
    /// special token (SentencePiece's `add_dummy_prefix`).
    public let addSpacePrefix: Bool

    let table: TokenTable

    /// A vocabulary from its parts (hand-made vocabularies for tests, or converted ones).
    ///
    /// `scores` and `types` default to 0 and `.normal` when empty; the types are used as given
    /// (no corrections by text, unlike `init(gguf:)`). `source` names the vocabulary in errors.
    /// Throws a `TokenizerError` when there are no tokens, the arrays have different lengths, a
    /// text appears twice (llama.cpp refuses such files too), or a special id is out of range.
    public init(
        tokens: [String], scores: [Float] = [], types: [TokenType] = [],
        bos: Int32? = nil, eos: Int32? = nil, unk: Int32? = nil, pad: Int32? = nil,
        addBOS: Bool = true, addEOS: Bool = false, addSpacePrefix: Bool = true,
        source: String = "vocabulary"
    ) throws {
        guard !tokens.isEmpty else { throw TokenizerError(source: source, reason: "the vocabulary has no tokens") }
        guard scores.isEmpty || scores.count == tokens.count else {
            throw TokenizerError(source: source, reason: "\(scores.count) scores for \(tokens.count) tokens")
        }
        guard types.isEmpty || types.count == tokens.count else {
            throw TokenizerError(source: source, reason: "\(types.count) token types for \(tokens.count) tokens")
        }
        for (name, id) in [("bos", bos), ("eos", eos), ("unk", unk), ("pad", pad)] {
            if let id, id < 0 || Int(id) >= tokens.count {
                throw TokenizerError(source: source, reason: "\(name) id \(id) is outside the vocabulary (0..<\(tokens.count))")
            }
        }
        var texts = tokens
        for id in texts.indices where texts[id].isEmpty { texts[id] = "[EMPTY_\(id)]" }
        let (table, duplicate) = TokenTable.build(texts)
        if let duplicate {
            throw TokenizerError(source: source, reason: "token \(duplicate) \(texts[duplicate].debugDescription) appears twice in the vocabulary")
        }
        self.tokens = texts
        self.scores = scores.isEmpty ? [Float](repeating: 0, count: tokens.count) : scores
        self.types = types.isEmpty ? [TokenType](repeating: .normal, count: tokens.count) : types
        self.bos = bos
        self.eos = eos
        self.unk = unk
        self.pad = pad
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.table = table
    }

    /// The number of tokens.
    public var count: Int { tokens.count }

    /// The id of the token whose text is exactly `text` (compared as UTF-8 bytes), or nil.
    public func id(for text: String) -> Int32? { table.id(text.utf8) }

    /// The id of the token whose text is exactly these UTF-8 bytes, or nil.
    public func id(forUTF8 bytes: some Collection<UInt8>) -> Int32? { table.id(bytes) }

    /// The type of token `id`, or nil when `id` is out of range.
    public func type(of id: Int32) -> TokenType? {
        id >= 0 && Int(id) < types.count ? types[Int(id)] : nil
    }

    /// The raw UTF-8 bytes of token `id` (empty when out of range).
    public func utf8(of id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < tokens.count else { return [] }
        return table.bytes[table.range(of: Int(id))]
    }
}
