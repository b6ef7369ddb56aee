/// The kind of a vocabulary entry, as stored in `tokenizer.ggml.token_type` (llama.cpp's
/// `llama_token_type` numbering).
public enum TokenType: Int32, Sendable, CaseIterable {
    /// No type given (also used for values outside the known range).
    case undefined = 0
    /// An ordinary text piece; `▁` (U+2581) in it stands for a space.
    case normal = 1
    /// The unknown-token marker (`<unk>`).
    case unknown = 2
    /// A control token such as `<bos>`, `<eos>` or `<start_of_turn>`: matched in text only when
    /// special tokens are parsed, rendered only on request.
    case control = 3
    /// A user-defined piece (Gemma: `"\n"`, runs of spaces, HTML tags): always matched in text
    /// before SentencePiece runs, rendered as its raw text.
    case userDefined = 4
    /// A reserved, unused entry: never rendered.
    case unused = 5
    /// A byte-fallback token `<0xXX>` standing for one raw byte.
    case byte = 6

    /// The type for a raw `token_type` value; values outside 0...6 become `.undefined`, as in llama.cpp.
    public init(gguf rawValue: Int) {
        self = Int32(exactly: rawValue).flatMap(TokenType.init(rawValue:)) ?? .undefined
    }

    /// Whether text is split on this token before SentencePiece runs when special tokens are not
    /// parsed (user-defined tokens) or when they are (also control and unknown tokens).
    func isSplitPoint(parseSpecial: Bool) -> Bool {
        switch self {
        case .userDefined: return true
        case .control, .unknown: return parseSpecial
        default: return false
        }
    }
}
