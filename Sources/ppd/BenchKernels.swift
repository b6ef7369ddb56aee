import ArgumentParser
import Foundation
import CommandOptions
import PPD

struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Time the matrix-vector kernel on each distinct (type, shape) of a model's matrices.",
        discussion: """
            Reports the best wall time over --runs repetitions and the bytes of weights streamed per second. \
            With --transposed, also the input-gradient product (training's backward pass) with as many gradient rows \
            as --inputs, and its time relative to the forward product.
            """)

    @Argument(help: "GGUF model (default: the default model).")
    var model: String?

    @Option(help: "Repetitions per matrix (the best is reported).")
    var runs = 20

    @Option(help: "Input rows per product (1 = decode).")
    var inputs = 1

    @OptionGroup(title: "Computation")
    var compute: ComputeOptions

    @Flag(help: "Also time multiplyTransposed (the backward pass's input gradient).")
    var transposed = false

    func run() throws {
        let file = try GGUFFile(path: try ModelLocation.resolve(model))
        let pool = ThreadPool(threadCount: compute.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        var seen = Set<String>()
        print("arithmetic \(compute.arithmetic)\(compute.arithmetic == .int8 ? " on the \(Int8Kernel.configurationName ?? "no") kernels (\(Int8Kernel.environmentKey) selects it)" : "")")
        print("tensor                      type   rows x columns     best_ms   GB/s   Gelem/s" + (transposed ? "  transposed_ms  ratio" : ""))
        for info in file.tensors where info.shape.count == 2 && info.shape[0] % 32 == 0 {
            let key = "\(info.type) \(info.shape)"
            guard seen.insert(key).inserted else { continue }
            let matrix = QuantizedMatrix(data: file.data(of: info), type: info.type, rows: info.shape[1], columns: info.shape[0])
                .computing(with: compute.arithmetic)
            let x = (0..<inputs * matrix.columns).map { Float(sin(Double($0) * 0.37)) }
            var y = [Float](repeating: 0, count: inputs * matrix.rows)
            let repetitions = matrix.rows > 100_000 ? max(3, runs / 4) : runs
            /// The best time of `body` over the repetitions.
            func best(_ body: () -> Void) -> Double {
                var fastest = Double.infinity
                for _ in 0..<repetitions {
                    let start = ContinuousClock.now
                    body()
                    fastest = min(fastest, start.secondsSince())
                }
                return fastest
            }
            let forward = best { matrix.multiply(x, count: inputs, into: &y, pool: pool) }
            let bytes = Double(matrix.rowBytes * matrix.rows)
            var line = String(
                format: "%@ %@ %8d x %-6d %9.3f %6.1f %8.2f", info.name.padding(toLength: 27, withPad: " ", startingAt: 0),
                info.type.description.padding(toLength: 5, withPad: " ", startingAt: 0), matrix.rows, matrix.columns,
                forward * 1000, bytes / forward / 1e9, Double(matrix.rows * matrix.columns * inputs) / forward / 1e9)
            if transposed {
                let gradOutput = (0..<inputs * matrix.rows).map { Float(cos(Double($0) * 0.29)) }
                var gradInput = [Float](repeating: 0, count: inputs * matrix.columns)
                let backward = best { matrix.multiplyTransposed(gradOutput, count: inputs, into: &gradInput, pool: pool) }
                line += String(format: "  %13.3f  %5.2f", backward * 1000, backward / forward)
            }
            print(line)
        }
    }
}
