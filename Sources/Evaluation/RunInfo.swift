import Foundation

/// Facts about this run for trace attributes.
public enum RunInfo {
    /// The git commit of the checkout the executable was built in, read from the `.git` folder
    /// found above the executable (`HEAD`, then the branch's ref file or `packed-refs`), or
    /// "unknown". Read from files rather than by running git: no child process, no git needed.
    public static func gitCommit() -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let git = directory.appendingPathComponent(".git")
            if let head = read(git.appendingPathComponent("HEAD")) { return resolve(head, in: git) ?? "unknown" }
            directory.deleteLastPathComponent()
        }
        return "unknown"
    }

    /// Now, in ISO 8601 (UTC).
    public static func date() -> String { ISO8601DateFormatter().string(from: Date()) }

    /// The commit `head` (the text of HEAD) names: a hash, or `ref: refs/heads/x` looked up.
    private static func resolve(_ head: String, in git: URL) -> String? {
        guard head.hasPrefix("ref: ") else { return head }
        let reference = String(head.dropFirst(5))
        if let hash = read(git.appendingPathComponent(reference)) { return hash }
        guard let packed = read(git.appendingPathComponent("packed-refs")) else { return nil }
        for line in packed.split(separator: "\n") where line.hasSuffix(" " + reference) {
            return String(line.prefix { $0 != " " })
        }
        return nil
    }

    private static func read(_ url: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
