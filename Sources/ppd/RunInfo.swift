import Foundation

/// Facts about this run for trace attributes.
enum RunInfo {
    /// The git commit of the checkout the executable was built in (`git rev-parse HEAD` next to
    /// the executable, "+dirty" when it has uncommitted changes), or "unknown".
    static func gitCommit() -> String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        guard let head = git(["-C", directory, "rev-parse", "HEAD"]), !head.isEmpty else { return "unknown" }
        let status = git(["-C", directory, "status", "--porcelain", "--untracked-files=no"]) ?? ""
        return status.isEmpty ? head : head + "+dirty"
    }

    /// Now, in ISO 8601 (UTC).
    static func date() -> String { ISO8601DateFormatter().string(from: Date()) }

    private static func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
