import Foundation

/// Writes one line to standard error (progress and notes; standard output stays for results).
public func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
