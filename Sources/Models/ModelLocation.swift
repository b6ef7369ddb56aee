import Foundation

/// Where the default model lives and how to get it.
public enum ModelLocation {
    /// File name of the default model (Gemma 3 270M, Q4_K_M).
    public static let defaultFileName = "gemma-3-270m-q4_k_m.gguf"

    /// `PPD_MODEL` if set, else `~/.cache/ppd/gemma-3-270m-q4_k_m.gguf`.
    public static var defaultPath: String {
        if let path = ProcessInfo.processInfo.environment["PPD_MODEL"], !path.isEmpty { return path }
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        return home + "/.cache/ppd/" + defaultFileName
    }

    /// `path` or the default; throws a message saying how to fetch the model when the file is missing.
    public static func resolve(_ path: String?) throws -> String {
        let resolved = path ?? defaultPath
        guard FileManager.default.fileExists(atPath: resolved) else {
            if path == nil {
                throw ModelError("model not found at \(resolved): run `make model` (or Scripts/fetch-model.sh) to fetch the default model, or pass --model PATH")
            }
            throw ModelError("model not found at \(resolved)")
        }
        return resolved
    }
}
