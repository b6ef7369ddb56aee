import GGUF

/// SentencePiece tokenization with the exact results of llama.cpp's SPM tokenizer
/// (`tokenizer.ggml.model = llama`: Llama 1/2, Gemma, ...).
///
/// Encoding: special tokens are cut out of the text first (`SpecialTokenSplitter`); each
/// remaining plain fragment gets a leading space when `addSpacePrefix` is set and it starts the
/// text or follows a special token, has its spaces replaced by `▁`, and goes through the
/// SentencePiece merges (`SentencePieceMerger`). BOS and EOS are added per the vocabulary flags.
///
/// Immutable and `Sendable`: one instance can serve many threads.
public final class SentencePieceTokenizer: Sendable {
    /// The vocabulary.
    public let vocabulary: Vocabulary
    private let splitter: SpecialTokenSplitter
    private let byteTokens: [Int32?]

    /// A tokenizer for `vocabulary`.
    public init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        splitter = SpecialTokenSplitter(vocabulary: vocabulary)
        byteTokens = (0..<256).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return vocabulary.id(for: "<0x\(hex.count == 1 ? "0" + hex : hex)>")
                ?? vocabulary.id(forUTF8: [UInt8(byte)]) ?? vocabulary.unk
        }
    }

    /// A tokenizer for the vocabulary in a GGUF file's metadata; see `Vocabulary.init(gguf:)`.
    public convenience init(gguf file: GGUFFile) throws {
        self.init(vocabulary: try Vocabulary(gguf: file))
    }

    /// The token ids of `text`.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS / EOS as the vocabulary's `addBOS` / `addEOS` say.
    ///   - parseSpecial: recognise control tokens written in the text (`<start_of_turn>`,
    ///     `<bos>`, ...). User-defined tokens (Gemma: `"\n"`, runs of spaces) are always
    ///     recognised, as in llama.cpp.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 3 + 4)
        if addSpecial, vocabulary.addBOS, let bos = vocabulary.bos { output.append(bos) }

        let utf8 = Array(text.utf8)
        utf8.withUnsafeBufferPointer { input in
            var merger = SentencePieceMerger(vocabulary: vocabulary, byteTokens: byteTokens)
            var escaped: [UInt8] = []
            var previousWasSpecial = true
            for fragment in splitter.split(input, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousWasSpecial = true
                case .text(let range):
                    escaped.removeAll(keepingCapacity: true)
                    if vocabulary.addSpacePrefix && previousWasSpecial { escaped.append(contentsOf: Self.spaceMark) }
                    for byte in input[range] {
                        if byte == 0x20 { escaped.append(contentsOf: Self.spaceMark) } else { escaped.append(byte) }
                    }
                    escaped.withUnsafeBufferPointer { merger.encode($0, into: &output) }
                    previousWasSpecial = false
                }
            }
        }

        if addSpecial, vocabulary.addEOS, let eos = vocabulary.eos { output.append(eos) }
        return output
    }

    /// The text of `ids`: normal tokens with `▁` shown as a space, byte tokens as their bytes,
    /// user-defined tokens as written. Control and unknown tokens (`<bos>`, `<eos>`,
    /// `<start_of_turn>`) are left out unless `renderSpecial` is true; unused tokens and ids
    /// outside the vocabulary are always left out. Bytes that do not form valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { appendPiece(of: id, renderSpecial: renderSpecial, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw text of token `id` as stored in the vocabulary (`▁` not replaced, `<0x0A>` not
    /// turned into a byte); empty when `id` is out of range.
    public func piece(for id: Int32) -> String {
        id >= 0 && Int(id) < vocabulary.count ? vocabulary.tokens[Int(id)] : ""
    }

    /// Appends the bytes that token `id` renders to (see `decode`) to `bytes`.
    public func appendPiece(of id: Int32, renderSpecial: Bool, to bytes: inout [UInt8]) {
        guard let type = vocabulary.type(of: id) else { return }
        let text = vocabulary.utf8(of: id)
        switch type {
        case .normal:
            var i = text.startIndex
            while i < text.endIndex {
                if text[i] == 0xE2, i + 2 < text.endIndex, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                    bytes.append(0x20)
                    i += 3
                } else {
                    bytes.append(text[i])
                    i += 1
                }
            }
        case .userDefined:
            bytes.append(contentsOf: text)
        case .control, .unknown:
            if renderSpecial { bytes.append(contentsOf: text) }
        case .byte:
            if let byte = Self.byteValue(text) { bytes.append(byte) }
        case .unused, .undefined:
            break
        }
    }

    /// `▁` (U+2581) in UTF-8: SentencePiece's mark for a space.
    static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]

    /// The byte a byte-fallback token `<0xXX>` stands for (its 4th and 5th characters read as hex).
    static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8? {
        guard text.count >= 5 else { return nil }
        let start = text.startIndex
        guard let high = hexDigit(text[start + 3]), let low = hexDigit(text[start + 4]) else { return nil }
        return high << 4 | low
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
