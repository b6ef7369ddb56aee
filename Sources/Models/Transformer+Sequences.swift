import Kernels

/// The new tokens of one of several independent sequences that share a forward pass, and the
/// cache that holds that sequence's earlier tokens.
public struct SequenceInput {
    public var tokens: [Int32]
    public var cache: KVCache

    public init(tokens: [Int32], cache: KVCache) {
        self.tokens = tokens
        self.cache = cache
    }
}

extension Transformer {
    /// One forward pass over the new tokens of several independent sequences: each sequence's
    /// tokens at the positions after its own cache, causal among themselves, attending only to its
    /// own cache. The matrix products run over the rows of all sequences at once (one pass over
    /// the weights), the attention per sequence. Returns the logits of each sequence's last token:
    /// row k of the result is sequence k's.
    ///
    /// Each sequence's logits and cache are bitwise what `forward(tokens:cache:)` gives it alone
    /// (the numerics contract: a row's result does not depend on the batch around it, and
    /// attention visits the same slots of the same cache in the same order).
    ///
    /// Throws, changing no cache, for an empty list, a sequence without tokens, one cache given
    /// twice, a cache made for another model, or a sequence that does not fit its cache or the
    /// context (the error names the sequence).
    public func forward(sequences: [SequenceInput]) throws -> Logits {
        try runningAlone {
            let c = config
            guard !sequences.isEmpty else { throw ModelError("forward(sequences:): no sequences") }
            var seen = Set<ObjectIdentifier>()
            for (k, sequence) in sequences.enumerated() {
                let cache = sequence.cache
                guard !sequence.tokens.isEmpty else { throw ModelError("forward(sequences:): sequence \(k) has no tokens") }
                guard seen.insert(ObjectIdentifier(cache)).inserted else {
                    throw ModelError("forward(sequences:): sequence \(k) shares its cache with an earlier sequence")
                }
                guard cache.layerCount == c.layerCount, cache.width == c.kvWidth else {
                    throw ModelError("forward(sequences:): the cache of sequence \(k) was made for another model")
                }
                guard cache.count + sequence.tokens.count <= cache.capacity else {
                    throw ModelError(
                        "forward(sequences:): sequence \(k) has \(cache.count) cached + \(sequence.tokens.count) new tokens, more than its cache's capacity of \(cache.capacity)")
                }
                guard cache.count + sequence.tokens.count <= c.contextLength else {
                    throw ModelError(
                        "forward(sequences:): sequence \(k) would reach position \(cache.count + sequence.tokens.count - 1), outside the model's context of \(c.contextLength) tokens")
                }
            }
            var embeddings: [Float] = [], positions: [Int32] = [], rows: [SequenceRows] = [], lastRows: [Int] = []
            for sequence in sequences {
                embeddings += try embed(sequence.tokens)
            }
            for sequence in sequences {
                let cache = sequence.cache, start = cache.count, count = sequence.tokens.count
                let own = (0..<Int32(count)).map { Int32(start) + $0 }
                try cache.beginBatch(positions: own)
                rows.append(SequenceRows(
                    rows: positions.count..<positions.count + count, positions: own, mask: .causal(count), cache: cache,
                    cacheStart: start, slotPositions: cache.positions))
                positions += own
                lastRows.append(positions.count - 1)
            }
            let (global, local) = ropeTables(positions)
            let sites = try InterventionSites(nil, rows: positions.count, positions: positions, layers: c.layerCount, recordsTape: false)
            let pass = LayerPass(
                n: positions.count, positions: positions, sequences: rows, global: global, local: local, sites: sites, hook: nil,
                tape: nil)
            return try runLayers(embeddings, pass, outputRows: lastRows, guesses: nil, bestTokenRows: [], tape: nil, outputLayer: true)
        }
    }
}
