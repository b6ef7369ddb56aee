import Foundation

/// The tokens a guess head ranks guesses among, most frequent first, with their counts in the
/// text they were counted on. Format `ppd-guess-vocab/1` (JSON):
/// `{ "format", "model_sha256", "source", "counted_tokens", "tokens": [...], "counts": [...] }`.
/// `prefix(size)` gives the `size` most frequent tokens, so one file serves every head size.
public struct GuessVocabulary: Sendable, Equatable {
    public static let format = "ppd-guess-vocab/1"

    /// Token ids, most frequent first (ties: smaller id first); distinct.
    public let tokens: [Int32]
    /// How often each token occurred, aligned with `tokens`.
    public let counts: [Int]
    /// The model (its file's SHA-256) whose tokenizer made the ids, when known.
    public let modelSHA256: String?
    /// What was counted (a free-form description).
    public let source: String
    /// Tokens counted in all.
    public let countedTokens: Int

    /// The vocabulary of the tokens with nonzero `counts[token]` (indexed by id), most frequent
    /// first, at most `limit` of them.
    public init(counts: [Int], limit: Int, modelSHA256: String?, source: String) {
        let order = counts.indices.filter { counts[$0] > 0 }.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        let kept = order.prefix(max(0, limit))
        tokens = kept.map { Int32($0) }
        self.counts = kept.map { counts[$0] }
        self.modelSHA256 = modelSHA256
        self.source = source
        countedTokens = counts.reduce(0, +)
    }

    /// Reads a `ppd-guess-vocab/1` file; errors name the file and what is wrong.
    /// Decoded straight into integer arrays (no per-number objects), so a 65,536-token file
    /// costs its arrays and not a heap of boxed numbers.
    public init(contentsOf url: URL) throws {
        func fail(_ reason: String) -> GuessVocabularyError { GuessVocabularyError(file: url.path, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw fail("cannot be read (\(error.localizedDescription))") }
        guard let header = try? JSONDecoder().decode(FileHeader.self, from: data) else { throw fail("is not a JSON object") }
        guard header.format == Self.format else {
            throw fail("format is \(header.format ?? "missing"), expected \(Self.format)")
        }
        let arraysReason = "needs non-empty integer arrays \"tokens\" and \"counts\" of the same length"
        guard let file = try? JSONDecoder().decode(FileBody.self, from: data), let tokens = file.tokens, let counts = file.counts,
            tokens.count == counts.count, !tokens.isEmpty
        else { throw fail(arraysReason) }
        guard tokens.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }), Set(tokens).count == tokens.count else {
            throw fail("\"tokens\" must be distinct non-negative ids")
        }
        self.tokens = tokens.map { Int32($0) }
        self.counts = counts
        modelSHA256 = file.modelSHA256
        source = file.source ?? ""
        countedTokens = file.countedTokens ?? counts.reduce(0, +)
    }

    /// The part of the file that says what it is (decoded first, for a clear format error).
    private struct FileHeader: Decodable { let format: String? }

    /// The file's fields, as written by `write(to:)`.
    private struct FileBody: Decodable {
        let tokens: [Int]?
        let counts: [Int]?
        let modelSHA256: String?
        let source: String?
        let countedTokens: Int?

        enum CodingKeys: String, CodingKey {
            case tokens, counts, source
            case modelSHA256 = "model_sha256"
            case countedTokens = "counted_tokens"
        }
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        var object: [String: Any] = [
            "format": Self.format, "source": source, "counted_tokens": countedTokens,
            "tokens": tokens.map { Int($0) }, "counts": counts,
        ]
        if let modelSHA256 { object["model_sha256"] = modelSHA256 }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try data.write(to: url, options: .atomic)
    }

    /// The `size` most frequent tokens (all when `size` is larger).
    public func prefix(_ size: Int) -> [Int32] { Array(tokens.prefix(size)) }

    /// Fraction of the counted text that the `size` most frequent tokens cover.
    public func coverage(size: Int) -> Double {
        Double(counts.prefix(size).reduce(0, +)) / Double(max(countedTokens, 1))
    }

    /// Throws when a token is outside `0..<vocabSize` or the file names another model.
    public func validate(vocabSize: Int, modelSHA256 expected: String?, file: String) throws {
        if let bad = tokens.first(where: { Int($0) >= vocabSize }) {
            throw GuessVocabularyError(file: file, reason: "token id \(bad) is outside the model's vocabulary of \(vocabSize)")
        }
        if let expected, let modelSHA256, expected != modelSHA256 {
            throw GuessVocabularyError(
                file: file, reason: "was counted with the tokenizer of model \(modelSHA256.prefix(16)), not \(expected.prefix(16))")
        }
    }
}

/// A guess vocabulary that cannot be used: the file and the reason.
public struct GuessVocabularyError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var reason: String
    public var description: String { "\(file): \(reason)" }

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}
