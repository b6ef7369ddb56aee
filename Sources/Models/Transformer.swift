import Foundation
import GGUF
import Kernels

/// A decoder-only transformer over GGUF weights: Gemma 3 and the LLaMA family, which differ only
/// in the switches of `TransformerConfig` (see Gemma3.swift and Llama.swift). It may be passed
/// between threads; one forward pass runs at a time (a second one meanwhile is refused).
public final class Transformer: LanguageModel, @unchecked Sendable {
    public let config: TransformerConfig
    /// The file the weights are mapped from (kept open while the model lives).
    public let file: GGUFFile
    let weights: TransformerWeights
    /// Threads for the matrix products and attention.
    public let pool: ThreadPool
    /// How the matrix products compute (the token embedding lookup always decodes to float).
    public let arithmetic: MatrixArithmetic
    /// The last logits' storage, reused when the caller has let go (one `run` at a time).
    var logitsRecycler = LogitsRecycler()
    /// Held during a forward pass: the thread pool, the recyclers and the caches serve one caller
    /// at a time, so a second concurrent (or re-entrant) forward is refused instead of racing.
    private let running = NSLock()

    /// Builds the architecture named by `general.architecture`; throws for others, for missing
    /// tensors and for wrong shapes, and for `.int8` arithmetic on a CPU without an int8 kernel.
    /// With `.int8` the matrices are repacked here (about 1.3 bytes per weight; 0.3-0.5 s for
    /// Gemma 3 270M) and the mapped pages they were read from are given back.
    public init(file: GGUFFile, threads: Int? = nil, arithmetic: MatrixArithmetic = .float32) throws {
        let architecture = try file.require("general.architecture").stringValue ?? ""
        switch architecture {
        case "gemma3": config = try .gemma3(file)
        case "llama": config = try .llama(file)
        default:
            throw ModelError("\(file.path): architecture '\(architecture)' is not supported (supported: gemma3, llama)")
        }
        guard config.heads % config.kvHeads == 0, config.headDim % 32 == 0 else {
            throw ModelError("\(file.path): \(config.heads) heads over \(config.kvHeads) kv heads of \(config.headDim) dims is not supported")
        }
        guard arithmetic != .int8 || MatrixArithmetic.isInt8Available else {
            throw ModelError("\(file.path): int8 arithmetic needs AVX2 with FMA or AVX-512 VNNI (\(Int8Kernel.environmentKey) may name an unsupported kernel), which this CPU lacks; use float32")
        }
        self.file = file
        // The repacked copies replace the mapped bytes they are made from: those pages are given
        // back slice by slice as they are read, so resident memory never holds both forms of the
        // weights (it peaked at about 1.9x the file before).
        weights = try TransformerWeights(file: file, config: config).computing(with: arithmetic) { start, count in
            file.releasePages(start: start, count: count)
        }
        self.arithmetic = arithmetic
        pool = ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layerCount: config.layerCount, width: config.kvWidth, capacity: min(capacity, config.contextLength))
    }

    public func embed(_ tokens: [Int32]) throws -> [Float] {
        let hidden = config.hiddenSize
        var out = [Float](repeating: 0, count: tokens.count * hidden)
        try out.withUnsafeMutableBufferPointer { buffer in
            for (i, token) in tokens.enumerated() {
                guard token >= 0, Int(token) < config.vocabSize else {
                    throw ModelError("token id \(token) is outside the vocabulary (0..<\(config.vocabSize))")
                }
                let row = buffer.baseAddress! + i * hidden
                weights.tokenEmbedding.decodeRow(Int(token), into: row)
                if config.embeddingScale != 1 {
                    for j in 0..<hidden { row[j] *= config.embeddingScale }
                }
            }
        }
        return out
    }

    public func forward(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache,
        logitRows: [Int]? = nil, guesses: GuessRows? = nil, bestTokenRows: [Int] = [], hook: ActivationHook? = nil,
        interventions: Interventions? = nil
    ) throws -> Logits {
        try run(
            embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: logitRows,
            guesses: guesses, bestTokenRows: bestTokenRows, hook: hook, interventions: interventions, tape: nil)
    }

    /// `body` while no forward pass runs (and none can start): the lock every pass holds.
    func runningAlone<T>(_ body: () throws -> T) throws -> T {
        guard running.try() else {
            throw ModelError(
                "\(file.path): a forward pass is already running on this model: one at a time (its thread pool serves one caller); use one Transformer per thread, or queue the calls as ppd serve does")
        }
        defer { running.unlock() }
        return try body()
    }

    /// `body` while no forward pass runs (and none can start): for changes to the weights' layout.
    func exclusively<T>(_ body: () throws -> T) throws -> T {
        guard running.try() else {
            throw ModelError("\(file.path): a forward pass is running on this model; its weights cannot be reorganised now")
        }
        defer { running.unlock() }
        return try body()
    }

    /// The forward pass; with a `tape`, also keeps what `backward(_:gradLogits:)` needs.
    func run(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache,
        logitRows: [Int]?, guesses: GuessRows? = nil, bestTokenRows: [Int] = [], hook: ActivationHook?,
        interventions: Interventions? = nil, tape: ForwardTape?, outputLayer: Bool = true
    ) throws -> Logits {
        try runningAlone {
            try runPass(
                embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: logitRows, guesses: guesses,
                bestTokenRows: bestTokenRows, hook: hook, interventions: interventions, tape: tape, outputLayer: outputLayer)
        }
    }

    private func runPass(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache,
        logitRows: [Int]?, guesses: GuessRows?, bestTokenRows: [Int], hook: ActivationHook?,
        interventions: Interventions?, tape: ForwardTape?, outputLayer: Bool
    ) throws -> Logits {
        let n = positions.count
        let outputRows = logitRows ?? Array(0..<n)
        try checkBatch(
            embeddings: embeddings, positions: positions, mask: mask, outputRows: outputRows, guesses: guesses,
            bestTokenRows: bestTokenRows, tape: tape)
        let sites = try InterventionSites(interventions, rows: n, positions: positions, layers: config.layerCount, recordsTape: tape != nil)
        let cacheStart = cache.count
        try cache.beginBatch(positions: positions)
        // RoPE angles for each batch token, for the global and the sliding-window base.
        let (global, local) = ropeTables(positions)
        let sequence = SequenceRows(
            rows: 0..<n, positions: positions, mask: mask, cache: cache, cacheStart: cacheStart, slotPositions: cache.positions)
        let pass = LayerPass(
            n: n, positions: positions, sequences: [sequence], global: global, local: local, sites: sites, hook: hook, tape: tape)

        tape?.begin(positions: positions, mask: mask, cache: cache, cacheStart: cacheStart, outputRows: outputRows)
        return try runLayers(
            embeddings, pass, outputRows: outputRows, guesses: guesses, bestTokenRows: bestTokenRows, tape: tape,
            outputLayer: outputLayer)
    }

    /// The layers and the output of a pass whose caches have their batch slots reserved.
    func runLayers(
        _ embeddings: [Float], _ pass: LayerPass, outputRows: [Int], guesses: GuessRows?, bestTokenRows: [Int],
        tape: ForwardTape?, outputLayer: Bool
    ) throws -> Logits {
        let sites = pass.sites, hook = pass.hook, n = pass.n
        var x = embeddings  // residual stream, n x hidden
        var scratch = LayerScratch(config, rows: pass.n)
        for (l, w) in weights.layers.enumerated() {
            try sites.apply(l, .layerInput, &x, heads: 1)
            observe(hook, l, .layerInput, x, n)
            tape?.layers.append(ForwardTape.Layer(input: x))
            try attentionBlock(l, w, &x, &scratch, pass)
            try feedForwardBlock(l, w, &x, &scratch, pass)
        }
        return try outputLogits(
            x, rows: outputRows, guesses: guesses, bestTokenRows: bestTokenRows, tape: tape, outputLayer: outputLayer)
    }

    /// Refuses a batch whose shapes disagree, positions outside the context, logit, guess or
    /// best-token rows outside the batch's logit rows, a row both a guess and a best-token row, a
    /// guess head of another model, guess or best-token rows under a training tape.
    private func checkBatch(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, outputRows: [Int], guesses: GuessRows?,
        bestTokenRows: [Int], tape: ForwardTape?
    ) throws {
        let c = config
        let n = positions.count
        guard n > 0, embeddings.count == n * c.hiddenSize, mask.batchSize == n else {
            throw ModelError("forward: \(n) positions, \(embeddings.count) embedding floats (expected \(n * c.hiddenSize)), mask for \(mask.batchSize)")
        }
        if let limits = mask.cacheSlotLimits, limits.count != n {
            throw ModelError("forward: \(n) positions but \(limits.count) per-token cache limits in the mask")
        }
        if let bad = positions.first(where: { $0 < 0 || Int($0) >= c.contextLength }) {
            throw ModelError("position \(bad) is outside the model's context of \(c.contextLength) tokens")
        }
        if let bad = outputRows.first(where: { $0 < 0 || $0 >= n }) {
            throw ModelError("forward: logit row \(bad) is outside the batch of \(n)")
        }
        let guessRows = Set(guesses?.rows ?? [])
        if let bad = guessRows.first(where: { !outputRows.contains($0) }) {
            throw ModelError("forward: guess row \(bad) is not among the logit rows")
        }
        if let head = guesses?.head, head.vocabSize != c.vocabSize || head.columns != c.hiddenSize {
            throw ModelError("forward: the guess head (\(head.vocabSize) x \(head.columns)) is not made for this model")
        }
        if tape != nil && !guessRows.isEmpty {
            throw ModelError("forward: guess rows have no backward pass")
        }
        if let bad = bestTokenRows.first(where: { !outputRows.contains($0) }) {
            throw ModelError("forward: best-token row \(bad) is not among the logit rows")
        }
        if let bad = bestTokenRows.first(where: { guessRows.contains($0) }) {
            throw ModelError("forward: row \(bad) cannot be both a guess row and a best-token row")
        }
        if tape != nil && !bestTokenRows.isEmpty {
            throw ModelError("forward: best-token rows have no backward pass")
        }
    }

    /// gate <- act(W_gate x) * (W_up x) for n input rows, one parallel job over the FFN rows.
    func gatedFeedForward(_ w: LayerWeights, _ x: [Float], _ n: Int, _ gate: inout [Float], _ up: inout [Float]) {
        let ffn = config.ffnSize
        let activation = config.activation
        x.withUnsafeBufferPointer { xb in
            gate.withUnsafeMutableBufferPointer { gb in
                up.withUnsafeMutableBufferPointer { ub in
                    let g = gb.baseAddress!, u = ub.baseAddress!
                    let input = PreparedInput(xb.baseAddress!, count: n, for: [w.gate, w.up])
                    pool.parallelFor(count: ffn, granularity: QuantizedMatrix.rowGroup) { rows in
                        w.gate.multiply(input, into: g + rows.lowerBound, outputStride: ffn, rowRange: rows, pool: .inline)
                        w.up.multiply(input, into: u + rows.lowerBound, outputStride: ffn, rowRange: rows, pool: .inline)
                        for j in 0..<n {
                            let offset = j * ffn + rows.lowerBound
                            switch activation {
                            case .geluTanh: Activations.geluTanhGate(g + offset, u + offset, count: rows.count)
                            case .silu: Activations.siluGate(g + offset, u + offset, count: rows.count)
                            }
                        }
                    }
                }
            }
        }
    }

    /// cos/sin tables per position for the global RoPE base and for the sliding-window layers'
    /// base (the same tables when the bases agree).
    func ropeTables(_ positions: [Int32]) -> (global: [(cos: [Float], sin: [Float])], local: [(cos: [Float], sin: [Float])]) {
        let c = config
        let global = positions.map { Rope.table(position: Int($0), dims: c.headDim, base: c.ropeBase) }
        let local = c.ropeBaseLocal == c.ropeBase
            ? global : positions.map { Rope.table(position: Int($0), dims: c.headDim, base: c.ropeBaseLocal) }
        return (global, local)
    }

    /// Which slots batch token i may attend to: batch slots (from `cacheStart` on) as `mask` says,
    /// cached slots below its `mask.cacheSlotLimits` entry (all when nil), and only within
    /// `window` positions when one is given.
    func visibility(
        mask: AttentionMask, cacheStart: Int, positions: [Int32], slotPositions: [Int32], window: Int?
    ) -> (Int, Int) -> Bool {
        let rowLimits = mask.cacheSlotLimits
        return { i, s in
            if s >= cacheStart {
                if !mask.sees(i, s - cacheStart) { return false }
            } else if let rowLimits, s >= rowLimits[i] {
                return false
            }
            if let window, Int(positions[i]) - Int(slotPositions[s]) >= window { return false }
            return true
        }
    }

    /// gate <- act(gate) * up over `count` values, with the configured activation.
    func applyActivation(_ gate: inout [Float], _ up: [Float], count: Int) {
        gate.withUnsafeMutableBufferPointer { g in
            up.withUnsafeBufferPointer { u in
                switch config.activation {
                case .geluTanh: Activations.geluTanhGate(g.baseAddress!, u.baseAddress!, count: count)
                case .silu: Activations.siluGate(g.baseAddress!, u.baseAddress!, count: count)
                }
            }
        }
    }

    func observe(_ hook: ActivationHook?, _ layer: Int, _ tap: ActivationTap, _ values: [Float], _ rows: Int) {
        guard let hook, hook.wants(layer: layer, tap: tap) else { return }
        values.withUnsafeBufferPointer {
            hook.record(layer: layer, tap: tap, values: $0, rows: rows, width: $0.count / rows)
        }
    }
}
