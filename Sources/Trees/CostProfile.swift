import Foundation
import Kernels
import Models

/// The latency of one forward pass over n input rows on this machine, for n = 1...`maxRows`:
/// the cost curve that hardware-aware tree sizing weighs accepted length against.
///
/// Measured once per model and machine (`measure`) and cached as JSON under
/// `~/.cache/ppd/profiles/` (`cacheURL`): format `ppd-cost-profile/1`, with the machine it was
/// measured on. With a guess head it also holds the layers-only and guess-head curves
/// (`relativeCost(exactRows:guessRows:)`).
public struct CostProfile: Codable, Sendable, Equatable {
    /// The value of `format`.
    public static let formatName = "ppd-cost-profile/1"
    /// Revision of the matrix kernels' speed: bump it when a kernel change moves the cost curve,
    /// so that cached profiles measured with older kernels are measured again.
    public static let kernelRevision = 9

    /// Where a profile was measured.
    public struct Machine: Codable, Sendable, Equatable {
        /// CPU model name (from /proc/cpuinfo where available).
        public var cpu: String
        /// Logical processors the system reports.
        public var cores: Int
        /// Threads the model ran with.
        public var threads: Int

        /// This machine, running a model with `threads` threads.
        public static func current(threads: Int) -> Machine {
            var cpu = "unknown CPU"
            if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
                let colon = line.firstIndex(of: ":")
            {
                cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return Machine(cpu: cpu, cores: ProcessInfo.processInfo.activeProcessorCount, threads: threads)
        }

        /// A short file-name-safe name: CPU words, cores and threads.
        public var slug: String {
            let words = cpu.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
            let squeezed = String(words).split(separator: "-").joined(separator: "-")
            return "\(squeezed.prefix(48))-\(cores)c-\(threads)t"
        }
    }

    /// `ppd-cost-profile/1`.
    public var format: String
    /// SHA-256 of the model file.
    public var modelSHA256: String
    /// The machine.
    public var machine: Machine
    /// When it was measured (ISO 8601).
    public var date: String
    /// Tokens of context before each measured forward.
    public var contextLength: Int
    /// Repetitions per size (medians are kept).
    public var runs: Int
    /// `kernelRevision` of the build that measured it.
    public var kernelRevision: Int
    /// `seconds[i]`: median latency of a forward over i + 1 rows.
    public var seconds: [Double]
    /// `layersSeconds[i]`: the same forward without logits (the layers alone); nil when not measured.
    public var layersSeconds: [Double]?
    /// `guessSeconds[i]`: the same forward with every row's logits from a guess head of
    /// `guessHeadSize` tokens; nil when not measured.
    public var guessSeconds: [Double]?
    /// Tokens of the guess head `guessSeconds` was measured with.
    public var guessHeadSize: Int?
    /// The model's `MatrixArithmetic` (raw value); nil in profiles of older builds, which
    /// measured `float32`.
    public var arithmetic: String?

    /// The arithmetic the profile was measured with.
    public var matrixArithmetic: MatrixArithmetic? { MatrixArithmetic(rawValue: arithmetic ?? MatrixArithmetic.float32.rawValue) }

    /// Largest number of rows measured.
    public var maxRows: Int { seconds.count }

    /// Whether the profile can price steps whose prompt rows use a guess head of `size` tokens.
    public func pricesGuessHead(size: Int) -> Bool {
        layersSeconds?.count == seconds.count && guessSeconds?.count == seconds.count && guessHeadSize == size
    }

    /// Latency of a step with `exactRows` rows of full-vocabulary logits and `guessRows` rows
    /// whose logits come from the guess head, relative to one row: the layers over all rows, plus
    /// the full output layer over the exact rows, plus the guess head over the guess rows (each
    /// part read off its measured curve). Without guess curves, or without guess rows, it is
    /// `relativeCost(rows: exactRows + guessRows)`.
    public func relativeCost(exactRows: Int, guessRows: Int) -> Double {
        guard guessRows > 0, let layers = layersSeconds, let guess = guessSeconds,
            layers.count == seconds.count, guess.count == seconds.count
        else { return relativeCost(rows: exactRows + guessRows) }
        let total = exactRows + guessRows
        func layersLatency(_ rows: Int) -> Double { CostProfile.extended(layers, rows) }
        let fullHead = max(0, latency(rows: exactRows) - layersLatency(exactRows))
        let guessHead = max(0, CostProfile.extended(guess, guessRows) - layersLatency(guessRows))
        return (layersLatency(total) + fullHead + guessHead) / seconds[0]
    }

    /// Latency of a forward over `rows` rows: measured for 1...maxRows, extended linearly from
    /// the last two points beyond that.
    public func latency(rows: Int) -> Double {
        precondition(rows >= 1 && !seconds.isEmpty)
        return CostProfile.extended(seconds, rows)
    }

    /// `curve[rows - 1]`, extended linearly from the last two points beyond the curve.
    static func extended(_ curve: [Double], _ rows: Int) -> Double {
        if rows <= curve.count { return curve[rows - 1] }
        guard curve.count >= 2 else { return curve[0] * Double(rows) }
        let slope = curve[curve.count - 1] - curve[curve.count - 2]
        return curve[curve.count - 1] + slope * Double(rows - curve.count)
    }

    /// Latency of `rows` rows relative to one row (one autoregressive step).
    public func relativeCost(rows: Int) -> Double { latency(rows: rows) / seconds[0] }

    /// Measures the cost curve of `model` for 1...`maxRows` rows after `contextLength` tokens,
    /// medians of `runs` repetitions; with a `guessHead`, also the layers-only and guess-head
    /// curves that price steps whose prompt rows use it. `progress` gets a line per size (with ETA).
    public static func measure(
        model: LanguageModel, modelSHA256: String, threads: Int, maxRows: Int = 48, runs: Int = 5,
        contextLength: Int = 256, guessHead: GuessHead? = nil, arithmetic: MatrixArithmetic = .float32,
        progress: @escaping (String) -> Void = { _ in }
    ) throws -> CostProfile {
        var bench = ForwardBenchmark(model: model)
        bench.runs = runs
        bench.contextLength = contextLength
        bench.progress = progress
        let sizes = Array(1...max(1, maxRows))
        let outputs: [ForwardBenchmark.OutputRows] = guessHead.map { [.all, .none, .guesses($0)] } ?? [.all]
        // Latency cannot fall as rows are added; a dip is noise of a shared machine, smoothed
        // away by the closest non-decreasing curve.
        let curves = try bench.costCurves(sizes: sizes, outputs: outputs).map { nonDecreasing($0.map(\.seconds)) }
        var profile = CostProfile(
            format: formatName, modelSHA256: modelSHA256, machine: .current(threads: threads),
            date: ISO8601DateFormatter().string(from: Date()), contextLength: contextLength, runs: runs,
            kernelRevision: kernelRevision, seconds: curves[0])
        profile.arithmetic = arithmetic.rawValue
        if let guessHead {
            profile.layersSeconds = curves[1]
            profile.guessSeconds = curves[2]
            profile.guessHeadSize = guessHead.tokens.count
        }
        return profile
    }

    /// The non-decreasing sequence closest to `values` in least squares (pool adjacent violators).
    static func nonDecreasing(_ values: [Double]) -> [Double] {
        var blocks: [(sum: Double, count: Int)] = []
        for value in values {
            blocks.append((value, 1))
            while blocks.count >= 2,
                blocks[blocks.count - 2].sum / Double(blocks[blocks.count - 2].count)
                    > blocks[blocks.count - 1].sum / Double(blocks[blocks.count - 1].count)
            {
                let last = blocks.removeLast()
                blocks[blocks.count - 1].sum += last.sum
                blocks[blocks.count - 1].count += last.count
            }
        }
        return blocks.flatMap { Array(repeating: $0.sum / Double($0.count), count: $0.count) }
    }

    /// The cache file for a model, machine and arithmetic (with int8, the kernels that run it and
    /// the weight format, `Int8Kernel.configurationName`: the kernels agree bitwise but not in speed):
    /// `~/.cache/ppd/profiles/<sha prefix>-<machine>[-int8-<kernels>].json`.
    public static func cacheURL(modelSHA256: String, machine: Machine, arithmetic: MatrixArithmetic = .float32) -> URL {
        let suffix = arithmetic == .float32 ? "" : "-\(arithmetic.rawValue)-\(Int8Kernel.configurationName ?? "none")"
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/ppd/profiles")
            .appendingPathComponent("\(modelSHA256.prefix(16))-\(machine.slug)\(suffix).json")
    }

    /// Reads a profile. Errors name the file.
    public init(contentsOf url: URL) throws {
        do {
            self = try JSONDecoder().decode(CostProfile.self, from: Data(contentsOf: url))
        } catch {
            throw CostProfileError(file: url.path, reason: "not a readable \(CostProfile.formatName) file (\(error))")
        }
        guard format == CostProfile.formatName else {
            throw CostProfileError(file: url.path, reason: "format is \"\(format)\", expected \"\(CostProfile.formatName)\"")
        }
        guard !seconds.isEmpty, (seconds + (layersSeconds ?? []) + (guessSeconds ?? [])).allSatisfy({ $0.isFinite && $0 > 0 })
        else {
            throw CostProfileError(file: url.path, reason: "the latencies must be positive numbers")
        }
    }

    init(
        format: String, modelSHA256: String, machine: Machine, date: String, contextLength: Int, runs: Int,
        kernelRevision: Int, seconds: [Double]
    ) {
        self.kernelRevision = kernelRevision
        self.format = format
        self.modelSHA256 = modelSHA256
        self.machine = machine
        self.date = date
        self.contextLength = contextLength
        self.runs = runs
        self.seconds = seconds
    }

    /// Writes the profile as JSON, atomically (creating the directory).
    public func write(to url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: url, options: .atomic)
        } catch {
            throw CostProfileError(file: url.path, reason: "cannot write it: \(error.localizedDescription)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case format, machine, date, runs, seconds
        case modelSHA256 = "model_sha256"
        case contextLength = "context_length"
        case kernelRevision = "kernel_revision"
        case layersSeconds = "layers_seconds"
        case guessSeconds = "guess_seconds"
        case guessHeadSize = "guess_head_size"
        case arithmetic
    }
}

/// A cost profile that cannot be read or written; names the file and the reason.
public struct CostProfileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file.
    public var file: String
    /// What is wrong.
    public var reason: String
    public var description: String { "\(file): \(reason)" }
}
