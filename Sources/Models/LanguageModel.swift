import Kernels
import GGUF

/// A causal language model that runs a batch of input embeddings with explicit positions and an
/// attention mask over (cache + batch). Prompt tokens and trees are built on top of this by
/// choosing the embeddings, positions and mask; the model knows nothing about them.
public protocol LanguageModel: AnyObject {
    /// Shapes and switches of the architecture.
    var config: TransformerConfig { get }

    /// A new empty cache holding up to `capacity` tokens (at most the context length).
    func makeCache(capacity: Int) -> KVCache

    /// The input embeddings of `tokens` (tokens.count x hiddenSize), scaled as the architecture
    /// scales them. Throws for ids outside the vocabulary.
    func embed(_ tokens: [Int32]) throws -> [Float]

    /// Runs the batch: appends its keys and values to `cache`, and returns logits for the batch
    /// rows in `logitRows` (all rows when nil). `embeddings` is positions.count x hiddenSize.
    /// The logit rows named by `guesses` get their logits from its guess head (-infinity outside
    /// the head's tokens); every other row's logits are unchanged by them, bit for bit.
    /// The logit rows in `bestTokenRows` (not guess rows) hold only their best token and its
    /// logit (`Logits.bestToken(ofRow:)`: the token `argmax()` of the full row gives), with no
    /// full row kept (greedy verification needs nothing else; a row is 1 MiB for 262,144 tokens).
    /// `hook` observes the residual stream; `interventions` read and change activations at
    /// every site of `InterventionSite`, in order.
    func forward(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache,
        logitRows: [Int]?, guesses: GuessRows?, bestTokenRows: [Int], hook: ActivationHook?, interventions: Interventions?
    ) throws -> Logits

    /// One pass over the new tokens of several independent sequences, each with its own cache;
    /// row k of the result is the logits of sequence k's last token, bitwise what a pass over that
    /// sequence alone gives (`Transformer.forward(sequences:)`).
    func forward(sequences: [SequenceInput]) throws -> Logits

    /// The threads its passes run on (callers may use them between passes).
    var pool: ThreadPool { get }

    /// The final norm of residual-stream rows (what the output layer reads); with a
    /// `FinalHiddenRecorder` this gives the hidden states model-based drafters read.
    func finalNorm(_ residual: [Float], rows: Int) -> [Float]

    /// The output layer's logits of normalised rows, over the whole vocabulary or `head`'s tokens
    /// (`Transformer.outputLayer`).
    func outputLayer(_ normalized: [Float], rows: Int, head: GuessHead?) throws -> [Float]
}

extension LanguageModel {
    /// `forward` with every logit row from the full output layer.
    public func forward(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache,
        logitRows: [Int]?, hook: ActivationHook?
    ) throws -> Logits {
        try forward(
            embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: logitRows,
            guesses: nil, bestTokenRows: [], hook: hook, interventions: nil)
    }

    /// `forward` without interventions.
    public func forward(
        embeddings: [Float], positions: [Int32], mask: AttentionMask, cache: KVCache,
        logitRows: [Int]?, guesses: GuessRows?, hook: ActivationHook?
    ) throws -> Logits {
        try forward(
            embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: logitRows,
            guesses: guesses, bestTokenRows: [], hook: hook, interventions: nil)
    }

    /// Runs `tokens` at positions `cache.count, cache.count + 1, ...` with a causal mask.
    public func forward(
        tokens: [Int32], cache: KVCache, logitRows: [Int]? = nil, guesses: GuessRows? = nil, bestTokenRows: [Int] = [],
        hook: ActivationHook? = nil, interventions: Interventions? = nil
    ) throws -> Logits {
        let start = Int32(cache.count)
        let positions = (0..<Int32(tokens.count)).map { start + $0 }
        return try forward(
            embeddings: try embed(tokens), positions: positions, mask: .causal(tokens.count), cache: cache,
            logitRows: logitRows, guesses: guesses, bestTokenRows: bestTokenRows, hook: hook, interventions: interventions)
    }
}

/// Opens GGUF models and builds the architecture their metadata names.
public enum ModelLoader {
    /// Loads the model at `path`; `threads` defaults to the active processor count.
    public static func load(path: String, threads: Int? = nil, arithmetic: MatrixArithmetic = .float32) throws -> Transformer {
        let file = try GGUFFile(path: path)
        return try Transformer(file: file, threads: threads, arithmetic: arithmetic)
    }
}
