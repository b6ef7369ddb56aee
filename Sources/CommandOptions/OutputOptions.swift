import ArgumentParser
import Foundation

/// Where an experiment writes its results: a path prefix for the table (`.txt`), the HDF5
/// file (`.h5`) and the figure (`.svg`).
public struct OutputOptions: ParsableArguments {
    @Option(help: "Output prefix: writes PREFIX.txt, PREFIX.h5 and PREFIX.svg (default: Experiments/results/<experiment>).")
    public var out: String?

    public init() {}

    /// The prefix (`--out`, else `defaultPrefix`), after checking that its directory exists.
    public func prefix(default defaultPrefix: String) throws -> String {
        let prefix = out ?? defaultPrefix
        let directory = URL(fileURLWithPath: prefix).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw ValidationError("--out \(prefix): directory \(directory) does not exist")
        }
        return prefix
    }

    /// Writes `text` to `path` atomically (a temporary file, then a rename).
    public static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
