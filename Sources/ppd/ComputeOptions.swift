import ArgumentParser
import PPD

/// How the commands that run the model compute: the matrix arithmetic and the threads.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Matrix arithmetic: int8 (int8 activations on AVX-512 VNNI or AVX2, the default where the CPU has either) or float32 (float activations, the exact reference).")
    var arithmetic: MatrixArithmetic = .fastest

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}
