import ArgumentParser
import PPD

/// How a command that runs the model computes: the matrix arithmetic and the threads.
public struct ComputeOptions: ParsableArguments {
    @Option(help: "Matrix arithmetic: int8 (int8 activations on AVX-512 VNNI or AVX2, the default where the CPU has either) or float32 (float activations, the exact reference).")
    public var arithmetic: MatrixArithmetic = .fastest

    @Option(help: "Threads (default: all cores).")
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}
