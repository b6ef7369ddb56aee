import Kernels

/// The rows of a forward pass that belong to one sequence: their cache and their mask.
struct SequenceRows {
    /// Rows of the batch (contiguous).
    let rows: Range<Int>
    /// Their positions.
    let positions: [Int32]
    /// Which of these rows each of them sees (rows.count x rows.count), and cache limits.
    let mask: AttentionMask
    let cache: KVCache
    /// Cache slots before these rows.
    let cacheStart: Int
    /// The position of every slot of `cache` (these rows included).
    let slotPositions: [Int32]
}

/// What every layer of one forward pass shares: the batch, its positions, the sequences it holds
/// (each with its own cache and mask; one for an ordinary pass), the RoPE tables, and the observers.
struct LayerPass {
    let n: Int
    let positions: [Int32]
    let sequences: [SequenceRows]
    /// The single sequence of an ordinary pass (what the training tape and the attention-weight
    /// sites read; passes over several sequences have neither).
    var mask: AttentionMask { sequences[0].mask }
    var cache: KVCache { sequences[0].cache }
    var cacheStart: Int { sequences[0].cacheStart }
    var slotPositions: [Int32] { sequences[0].slotPositions }
    let global: [(cos: [Float], sin: [Float])]
    let local: [(cos: [Float], sin: [Float])]
    let sites: InterventionSites
    let hook: ActivationHook?
    let tape: ForwardTape?
}

/// A forward pass's working buffers, reused by every layer.
struct LayerScratch {
    var normed: [Float]
    var q: [Float]
    var k: [Float]
    var v: [Float]
    var attention: [Float]
    var projected: [Float]
    var gate: [Float]
    var up: [Float]

    init(_ c: TransformerConfig, rows n: Int) {
        normed = [Float](repeating: 0, count: n * c.hiddenSize)
        q = [Float](repeating: 0, count: n * c.qWidth)
        k = [Float](repeating: 0, count: n * c.kvWidth)
        v = [Float](repeating: 0, count: n * c.kvWidth)
        attention = [Float](repeating: 0, count: n * c.qWidth)
        projected = [Float](repeating: 0, count: n * c.hiddenSize)
        gate = [Float](repeating: 0, count: n * c.ffnSize)
        up = [Float](repeating: 0, count: n * c.ffnSize)
    }
}

extension Transformer {
    /// x += attention(norm(x)) for layer `l`: q, k, v projections, their norms and RoPE, the
    /// cache store, attention over cache and batch under the mask, the output projection.
    func attentionBlock(_ l: Int, _ w: LayerWeights, _ x: inout [Float], _ s: inout LayerScratch, _ pass: LayerPass) throws {
        let c = config, n = pass.n
        let isLocal = c.isLocal(layer: l)
        s.normed = x
        Norms.rmsNorm(&s.normed, rows: n, width: c.hiddenSize, weight: w.attentionNorm, eps: c.rmsEps)
        s.q.withUnsafeMutableBufferPointer { qb in
            s.k.withUnsafeMutableBufferPointer { kb in
                s.v.withUnsafeMutableBufferPointer { vb in
                    QuantizedMatrix.multiply(
                        [w.query, w.key, w.value], s.normed, count: n,
                        into: [qb.baseAddress!, kb.baseAddress!, vb.baseAddress!], pool: pool)
                }
            }
        }
        if let qNorm = w.queryNorm, let kNorm = w.keyNorm {
            pass.tape?.layers[l].queryBeforeNorm = s.q
            pass.tape?.layers[l].keyBeforeNorm = s.k
            Norms.rmsNorm(&s.q, rows: n * c.heads, width: c.headDim, weight: qNorm, eps: c.rmsEps)
            Norms.rmsNorm(&s.k, rows: n * c.kvHeads, width: c.headDim, weight: kNorm, eps: c.rmsEps)
        }
        let angles = isLocal ? pass.local : pass.global
        s.q.withUnsafeMutableBufferPointer { qb in
            s.k.withUnsafeMutableBufferPointer { kb in
                for i in 0..<n {
                    Rope.apply(qb.baseAddress! + i * c.qWidth, heads: c.heads, dims: c.headDim,
                               cos: angles[i].cos, sin: angles[i].sin, pairing: c.ropePairing)
                    Rope.apply(kb.baseAddress! + i * c.kvWidth, heads: c.kvHeads, dims: c.headDim,
                               cos: angles[i].cos, sin: angles[i].sin, pairing: c.ropePairing)
                }
            }
        }
        try pass.sites.apply(l, .query, &s.q, heads: c.heads)
        try pass.sites.apply(l, .key, &s.k, heads: c.kvHeads)
        try pass.sites.apply(l, .value, &s.v, heads: c.kvHeads)
        pass.tape?.layers[l].rotatedQuery = s.q
        // Each sequence's rows: their keys and values into its cache, then each query over the
        // cached slots and the rows its mask allows, within the window.
        let q = s.q
        for sequence in pass.sequences {
            let r = sequence.rows
            s.k.withUnsafeBufferPointer { kb in
                s.v.withUnsafeBufferPointer { vb in
                    sequence.cache.store(
                        layer: l, keys: UnsafeBufferPointer(rebasing: kb[r.lowerBound * c.kvWidth..<r.upperBound * c.kvWidth]),
                        values: UnsafeBufferPointer(rebasing: vb[r.lowerBound * c.kvWidth..<r.upperBound * c.kvWidth]))
                }
            }
        }
        // One sequence: its attention spreads over the pool. Several: the sequences spread over
        // the pool, each on one thread (a row's result does not depend on the thread).
        let spread = pass.sequences.count > 1
        q.withUnsafeBufferPointer { qb in
            s.attention.withUnsafeMutableBufferPointer { ob in
                let queries = qb.baseAddress!, out = ob.baseAddress!
                (spread ? pool : ThreadPool.inline).parallelFor(count: pass.sequences.count) { range in
                    for sequence in pass.sequences[range] {
                        let r = sequence.rows
                        let visible = visibility(
                            mask: sequence.mask, cacheStart: sequence.cacheStart, positions: sequence.positions,
                            slotPositions: sequence.slotPositions, window: isLocal ? c.slidingWindow : nil)
                        sequence.cache.withLayer(l) { keys, values in
                            Attention.run(
                                queries: queries + r.lowerBound * c.qWidth, queryCount: r.count, heads: c.heads,
                                kvHeads: c.kvHeads, headDim: c.headDim, keys: keys, values: values,
                                slotCount: sequence.cacheStart + r.count, scale: c.attentionScale, visible: visible,
                                out: out + r.lowerBound * c.qWidth, pool: spread ? .inline : pool)
                        }
                    }
                }
            }
        }
        if pass.sites.wants(l, .attentionWeights) {  // ordinary passes only: one sequence
            let visible = visibility(
                mask: pass.mask, cacheStart: pass.cacheStart, positions: pass.positions, slotPositions: pass.slotPositions,
                window: isLocal ? c.slidingWindow : nil)
            var weights = pass.cache.withLayer(l) { keys, _ in
                Attention.weights(
                    queries: q, queryCount: n, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, keys: keys,
                    slotCount: pass.cacheStart + n, scale: c.attentionScale, visible: visible)
            }
            try pass.sites.apply(l, .attentionWeights, &weights, heads: c.heads)
        }
        try pass.sites.apply(l, .headOutput, &s.attention, heads: c.heads)
        w.attentionOutput.multiply(s.attention, count: n, into: &s.projected, pool: pool)
        pass.tape?.layers[l].attentionProjected = s.projected
        if let post = w.postAttentionNorm {
            Norms.rmsNorm(&s.projected, rows: n, width: c.hiddenSize, weight: post, eps: c.rmsEps)
        }
        try pass.sites.apply(l, .attentionOutput, &s.projected, heads: 1)
        observe(pass.hook, l, .attentionOutput, s.projected, n)
        for i in 0..<x.count { x[i] += s.projected[i] }
        pass.tape?.layers[l].middle = x
    }

    /// x += down(act(gate(norm(x))) * up(norm(x))) for layer `l` [n x ffn -> n x hidden].
    func feedForwardBlock(_ l: Int, _ w: LayerWeights, _ x: inout [Float], _ s: inout LayerScratch, _ pass: LayerPass) throws {
        let c = config, n = pass.n
        s.normed = x
        Norms.rmsNorm(&s.normed, rows: n, width: c.hiddenSize, weight: w.ffnNorm, eps: c.rmsEps)
        if let tape = pass.tape {
            // Keep the pre-activation gate and up for the backward pass.
            w.gate.multiply(s.normed, count: n, into: &s.gate, pool: pool)
            w.up.multiply(s.normed, count: n, into: &s.up, pool: pool)
            tape.layers[l].gateBeforeActivation = s.gate
            tape.layers[l].up = s.up
            applyActivation(&s.gate, s.up, count: n * c.ffnSize)
        } else {
            gatedFeedForward(w, s.normed, n, &s.gate, &s.up)
        }
        try pass.sites.apply(l, .ffnHidden, &s.gate, heads: 1)
        w.down.multiply(s.gate, count: n, into: &s.projected, pool: pool)
        pass.tape?.layers[l].ffnProjected = s.projected
        if let post = w.postFFNNorm {
            Norms.rmsNorm(&s.projected, rows: n, width: c.hiddenSize, weight: post, eps: c.rmsEps)
        }
        try pass.sites.apply(l, .ffnOutput, &s.projected, heads: 1)
        observe(pass.hook, l, .ffnOutput, s.projected, n)
        for i in 0..<x.count { x[i] += s.projected[i] }
        try pass.sites.apply(l, .layerOutput, &x, heads: 1)
        observe(pass.hook, l, .layerOutput, x, n)
    }

    /// The final norm of the rows in `rows`, then their logits: the full output layer for rows
    /// that decide tokens, the guess head for the guess rows, the best product alone for
    /// `bestTokenRows` (`QuantizedMatrix.bestProducts`). Without `outputLayer` (the caller
    /// applies its own to the tape's rows) no logits.
    func outputLogits(
        _ x: [Float], rows outputRows: [Int], guesses: GuessRows?, bestTokenRows: [Int], tape: ForwardTape?, outputLayer: Bool
    ) throws -> Logits {
        let c = config
        var selected = [Float](repeating: 0, count: outputRows.count * c.hiddenSize)
        for (k, row) in outputRows.enumerated() {
            for j in 0..<c.hiddenSize { selected[k * c.hiddenSize + j] = x[row * c.hiddenSize + j] }
        }
        tape?.finalInput = selected
        guard outputLayer else { return Logits(rows: outputRows, vocabSize: 0, values: [], lease: nil) }
        Norms.rmsNorm(&selected, rows: outputRows.count, width: c.hiddenSize, weight: weights.outputNorm, eps: c.rmsEps)
        // Logits are written in full by the products below: no zeroing of megabytes per step.
        let guessRows = Set(guesses?.rows ?? []), bestRows = Set(bestTokenRows)
        guard !guessRows.isEmpty || !bestRows.isEmpty else {
            let logits = logitsRecycler.take(outputRows.count * c.vocabSize) { out in
                selected.withUnsafeBufferPointer { weights.output.multiply($0.baseAddress!, count: outputRows.count, into: out, pool: pool) }
            }
            return Logits(rows: outputRows, vocabSize: c.vocabSize, values: logits.values, lease: logits.lease)
        }
        // Rows that decide tokens get the full output layer, written first; guess rows get the
        // guess head's tokens only, after them; best-token rows keep their best token only.
        let isGuess = outputRows.map { guessRows.contains($0) }, isBest = outputRows.map { bestRows.contains($0) }
        func gather(_ wanted: (Int) -> Bool) -> (indices: [Int], rows: [Float]) {
            let indices = outputRows.indices.filter(wanted)
            return (indices, indices.flatMap { selected[$0 * c.hiddenSize..<($0 + 1) * c.hiddenSize] })
        }
        let (fullIndices, fullRows) = gather { !isGuess[$0] && !isBest[$0] }
        let (guessIndices, headRows) = gather { isGuess[$0] }
        let (bestIndices, bestInputs) = gather { isBest[$0] }
        let head = guesses?.head
        let width = head?.tokens.count ?? 0, fullCount = fullIndices.count * c.vocabSize
        let logits = logitsRecycler.take(fullCount + guessIndices.count * width) { base in
            fullRows.withUnsafeBufferPointer {
                weights.output.multiply($0.baseAddress!, count: fullIndices.count, into: base, pool: pool)
            }
            if let head {
                headRows.withUnsafeBufferPointer {
                    head.multiply($0.baseAddress!, count: guessIndices.count, into: base + fullCount, outputStride: width, pool: pool)
                }
            }
        }
        var best = [BestProduct?](repeating: nil, count: outputRows.count)
        if !bestIndices.isEmpty {
            let found = bestInputs.withUnsafeBufferPointer {
                weights.output.bestProducts($0.baseAddress!, count: bestIndices.count, pool: pool)
            }
            for (j, k) in bestIndices.enumerated() { best[k] = found[j] }
        }
        var starts = [Int](repeating: 0, count: outputRows.count)
        for (j, k) in fullIndices.enumerated() { starts[k] = j * c.vocabSize }
        for (j, k) in guessIndices.enumerated() { starts[k] = fullCount + j * width }
        return Logits(
            rows: outputRows, vocabSize: c.vocabSize, values: logits.values, guessHead: head, isGuessRow: isGuess, starts: starts,
            best: best, lease: logits.lease)
    }
}
