import ArgumentParser
import Foundation
import PPD

/// Writes one line to standard error (progress and summaries; standard output stays for results).
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

extension MatrixArithmetic: ExpressibleByArgument {}
