import ArgumentParser

/// Comma-separated option values (`--limits 2,4,8`, `--temperatures 0,0.7`).
public enum CommaSeparated {
    /// Each item of `text` through `convert`; an item it refuses is a usage error naming
    /// `option`, the item and what `expected` says an item must be.
    public static func parse<T>(_ text: String, option: String, expected: String, _ convert: (String) -> T?) throws -> [T] {
        try text.split(separator: ",").map {
            let item = $0.trimmingCharacters(in: .whitespaces)
            guard let value = convert(item) else { throw ValidationError("\(option): \"\(item)\" is not \(expected)") }
            return value
        }
    }

    /// Input length limits of trees (whole numbers >= 2).
    public static func inputLimits(_ text: String, option: String = "--limits") throws -> [Int] {
        try parse(text, option: option, expected: "an input length limit >= 2") { Int($0).flatMap { $0 >= 2 ? $0 : nil } }
    }
}
