import Foundation

/// Finds the files the repository ships (trained prompt tokens, accuracy tables, the guess
/// vocabulary, benchmark questions) from any working directory.
///
/// A path relative to the repository root is looked up, in order: as given (from the working
/// directory); under `$PPD_REPOSITORY`; under every directory above the working directory; under
/// every directory above the running executable (a `.build/release` binary sits inside its
/// checkout); under the checkout this library was compiled in.
public enum ShippedFiles {
    /// The environment variable that names the repository root explicitly.
    public static let environmentVariable = "PPD_REPOSITORY"

    /// Where `relativePath` exists, or nil when no candidate root holds it.
    public static func locate(_ relativePath: String) -> String? {
        let manager = FileManager.default
        if manager.fileExists(atPath: relativePath) { return relativePath }
        for root in candidateRoots() {
            let path = root.appendingPathComponent(relativePath).path
            if manager.fileExists(atPath: path) { return path }
        }
        return nil
    }

    /// Where `relativePath` exists; the error lists the roots searched and how to name one.
    public static func require(_ relativePath: String) throws -> String {
        if let found = locate(relativePath) { return found }
        let roots = candidateRoots().map(\.path)
        throw EvaluationError(
            file: relativePath,
            "not found from the working directory nor under \(roots.joined(separator: ", ")); "
                + "set \(environmentVariable) to the repository's root")
    }

    /// The directories searched for shipped files, first match wins (duplicates removed).
    public static func candidateRoots() -> [URL] {
        var roots: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment[environmentVariable], !explicit.isEmpty {
            roots.append(URL(fileURLWithPath: explicit))
        }
        roots += ancestors(of: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        roots += ancestors(of: executable.deletingLastPathComponent())
        roots.append(compiledRoot)
        var seen = Set<String>()
        return roots.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// The checkout this file was compiled in (Sources/Evaluation/ShippedFiles.swift, two levels down).
    static let compiledRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `directory` and every directory above it that looks like a checkout of this repository.
    private static func ancestors(of directory: URL) -> [URL] {
        var out: [URL] = []
        var current = directory.standardizedFileURL
        while true {
            if isRepositoryRoot(current) { out.append(current) }
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { break }
            current = parent
        }
        return out
    }

    /// A directory with `Package.swift` and `Experiments/`.
    private static func isRepositoryRoot(_ url: URL) -> Bool {
        let manager = FileManager.default
        return manager.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
            && manager.fileExists(atPath: url.appendingPathComponent("Experiments").path)
    }
}
