import Foundation
import Models

/// Trained prompt tokens: `count` prompt tokens, each an ensemble of `virtualTokens` virtual
/// tokens, each a `hiddenSize`-float input embedding (already in the model's input space, i.e.
/// scaled the way `LanguageModel.embed` scales token embeddings).
///
/// `embeddings` is laid out [count * virtualTokens, hiddenSize]: row `n * virtualTokens + v`
/// holds virtual token `v` of prompt token `n`. On disk this is the safetensors tensor
/// `prompt_embeddings` with the sizes and provenance in `__metadata__`.
public struct PromptTokens: Sendable, Equatable {
    /// How the virtual tokens of one prompt token attend to each other (the paper's
    /// `vt_attention_type`): `ensemble` (each sees the input and itself; their outputs are
    /// averaged), `decoder` (causal among themselves), `encoder` (all see each other).
    public enum Attention: String, Sendable, CaseIterable {
        case ensemble, decoder, encoder
    }

    /// The safetensors tensor name (shared with PEFT prompt-tuning adapters).
    public static let tensorName = "prompt_embeddings"

    /// Number of prompt tokens N (each guesses one distance further ahead).
    public let count: Int
    /// Virtual tokens per prompt token V.
    public let virtualTokens: Int
    /// Floats per embedding.
    public let hiddenSize: Int
    /// [count * virtualTokens, hiddenSize], row `n * virtualTokens + v`.
    public private(set) var embeddings: [Float]
    /// Attention among the virtual tokens of one prompt token.
    public var attention: Attention
    /// The sha256 (hex) of the model file the tokens were trained for, when known.
    public var baseModelSHA256: String?
    /// A free-form note on how the tokens were trained.
    public var trainingSummary: String?

    /// Prompt tokens from `embeddings` ([count * virtualTokens, hiddenSize]); throws when a size
    /// is not positive or the embeddings hold the wrong number of floats.
    public init(
        count: Int, virtualTokens: Int, hiddenSize: Int, embeddings: [Float], attention: Attention = .ensemble,
        baseModelSHA256: String? = nil, trainingSummary: String? = nil
    ) throws {
        guard count > 0, virtualTokens > 0, hiddenSize > 0 else {
            throw PromptTokensError(.invalidSizes(count: count, virtualTokens: virtualTokens, hiddenSize: hiddenSize))
        }
        let (rows, overflowRows) = count.multipliedReportingOverflow(by: virtualTokens)
        let (expected, overflow) = rows.multipliedReportingOverflow(by: hiddenSize)
        guard !overflowRows, !overflow, embeddings.count == expected else {
            throw PromptTokensError(
                .embeddingCountMismatch(
                    count: count, virtualTokens: virtualTokens, hiddenSize: hiddenSize, values: embeddings.count))
        }
        self.count = count
        self.virtualTokens = virtualTokens
        self.hiddenSize = hiddenSize
        self.embeddings = embeddings
        self.attention = attention
        self.baseModelSHA256 = baseModelSHA256
        self.trainingSummary = trainingSummary
    }

    /// Embedding rows in all: `count * virtualTokens`.
    public var rows: Int { count * virtualTokens }

    /// The embedding of virtual token `virtual` of prompt token `promptToken` (hiddenSize floats);
    /// throws for an index outside `count` x `virtualTokens`.
    public func embedding(promptToken: Int, virtual: Int) throws -> ArraySlice<Float> {
        guard (0..<count).contains(promptToken), (0..<virtualTokens).contains(virtual) else {
            throw PromptTokensError(.indexOutOfRange(promptToken: promptToken, virtual: virtual, count: count, virtualTokens: virtualTokens))
        }
        let start = (promptToken * virtualTokens + virtual) * hiddenSize
        return embeddings[start..<start + hiddenSize]
    }

    /// Gives `body` write access to the embeddings in place (their count cannot change), e.g.
    /// for an optimizer step.
    public mutating func withMutableEmbeddings<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try embeddings.withUnsafeMutableBufferPointer { try body(&$0) }
    }
}

// MARK: - Initialisation

extension PromptTokens {
    /// Deterministic random prompt tokens: independent normal values with standard deviation
    /// `scale` (Box-Muller over `RandomSource(seed:)`), the same for the same arguments everywhere.
    public static func random(
        count: Int, virtualTokens: Int, hiddenSize: Int, seed: UInt64, scale: Float
    ) throws -> PromptTokens {
        guard count > 0, virtualTokens > 0, hiddenSize > 0 else {
            throw PromptTokensError(.invalidSizes(count: count, virtualTokens: virtualTokens, hiddenSize: hiddenSize))
        }
        var random = RandomSource(seed: seed)
        let total = count * virtualTokens * hiddenSize
        var values: [Float] = []
        values.reserveCapacity(total + 1)
        while values.count < total {
            // Box-Muller: two uniforms give two independent standard normals. 1 - u lies in (0, 1].
            let radius = (-2 * Foundation.log(1 - random.nextUnit())).squareRoot()
            let angle = 2 * Double.pi * random.nextUnit()
            values.append(Float(radius * cos(angle)) * scale)
            values.append(Float(radius * sin(angle)) * scale)
        }
        values.removeLast(values.count - total)
        return try PromptTokens(count: count, virtualTokens: virtualTokens, hiddenSize: hiddenSize, embeddings: values)
    }

    /// The paper's default initialisation text for `count` prompt tokens ("Next 2 word Next 3
    /// word ..."; `prompt/model/model.py`, `prompt_tuning_init_text`). PEFT uses its first
    /// `count * virtualTokens` token ids, cycled when the text is shorter: `fromText` does the same.
    public static func paperInitialText(count: Int) -> String {
        (0..<max(count, 1)).map { "Next \($0 + 2) word" }.joined(separator: " ")
    }

    /// Prompt tokens initialised from text (the paper's default): row `r` of the
    /// [count * virtualTokens, hidden] embeddings is `model.embed` of `tokenIDs[r % tokenIDs.count]`,
    /// i.e. the ids are cycled through in order. `count` defaults to `tokenIDs.count`.
    public static func fromText(
        tokenIDs: [Int32], count: Int? = nil, virtualTokens: Int, model: LanguageModel
    ) throws -> PromptTokens {
        guard !tokenIDs.isEmpty else { throw PromptTokensError(.emptyInitialText) }
        let count = count ?? tokenIDs.count
        let hidden = model.config.hiddenSize
        guard count > 0, virtualTokens > 0 else {
            throw PromptTokensError(.invalidSizes(count: count, virtualTokens: virtualTokens, hiddenSize: hidden))
        }
        let table = try model.embed(tokenIDs)  // [tokenIDs.count, hidden], scaled as model inputs
        var values: [Float] = []
        values.reserveCapacity(count * virtualTokens * hidden)
        for row in 0..<count * virtualTokens {
            let source = (row % tokenIDs.count) * hidden
            values.append(contentsOf: table[source..<source + hidden])
        }
        return try PromptTokens(count: count, virtualTokens: virtualTokens, hiddenSize: hidden, embeddings: values)
    }
}

// MARK: - Checks against a model

extension PromptTokens {
    /// Checks that these prompt tokens fit `model`: the hidden sizes agree, every value is
    /// finite, and, when both the tokens' and the model's sha256 are known, they match.
    public func validate(for model: LanguageModel, modelSHA256: String?) throws {
        let modelHidden = model.config.hiddenSize
        guard hiddenSize == modelHidden else {
            throw PromptTokensError(.hiddenSizeMismatch(promptTokens: hiddenSize, model: modelHidden))
        }
        if let row = embeddings.indices.first(where: { !embeddings[$0].isFinite }).map({ $0 / hiddenSize }) {
            throw PromptTokensError(.nonFinite(row: row))
        }
        if let ours = baseModelSHA256, let theirs = modelSHA256, normalized(ours) != normalized(theirs) {
            throw PromptTokensError(.modelHashMismatch(promptTokens: ours, model: theirs))
        }
    }

    private func normalized(_ hash: String) -> String {
        hash.trimmingCharacters(in: .whitespaces).lowercased()
    }
}

// MARK: - Files

extension PromptTokens {
    /// Metadata keys in `__metadata__`.
    enum MetadataKey {
        static let count = "num_prompt_tokens"
        static let virtualTokens = "virtual_tokens_per_prompt_token"
        static let attention = "attention_type"
        static let baseModelSHA256 = "base_model_sha256"
        static let trainingSummary = "training_summary"
    }

    /// Reads prompt tokens from a safetensors file: tensor `prompt_embeddings`
    /// [count * virtualTokens, hidden] (F32, F16 or BF16) and the `__metadata__` keys
    /// `num_prompt_tokens`, `virtual_tokens_per_prompt_token`, `attention_type`,
    /// `base_model_sha256`, `training_summary`. A PEFT prompt-tuning adapter has the tensor but
    /// perhaps no metadata: then virtualTokens is 1 (unless given) and count is rows / virtualTokens.
    public static func load(from url: URL) throws -> PromptTokens {
        let file = try Safetensors(contentsOf: url)
        func fail(_ problem: PromptTokensError.Problem) -> PromptTokensError { PromptTokensError(problem, file: url.path) }

        guard let tensor = file.tensors[tensorName] else {
            throw fail(.missingTensor(available: file.tensors.keys.sorted()))
        }
        guard tensor.shape.count == 2, tensor.shape[0] > 0, tensor.shape[1] > 0 else {
            throw fail(.badTensorShape(tensor.shape))
        }
        let rows = tensor.shape[0]
        let hidden = tensor.shape[1]

        func integer(_ key: String) throws -> Int? {
            guard let text = file.metadata[key] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw fail(.badMetadata(key: key, value: text, reason: "expected a positive integer"))
            }
            return value
        }
        let givenCount = try integer(MetadataKey.count)
        let virtualTokens = try integer(MetadataKey.virtualTokens) ?? 1
        let count = givenCount ?? rows / virtualTokens
        guard count * virtualTokens == rows else {
            throw fail(.rowCountMismatch(rows: rows, count: givenCount, virtualTokens: virtualTokens))
        }

        var attention = Attention.ensemble
        if let text = file.metadata[MetadataKey.attention] {
            guard let value = Attention(rawValue: text) else {
                let allowed = Attention.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(.badMetadata(key: MetadataKey.attention, value: text, reason: "expected one of \(allowed)"))
            }
            attention = value
        }
        do {
            return try PromptTokens(
                count: count, virtualTokens: virtualTokens, hiddenSize: hidden, embeddings: tensor.values,
                attention: attention, baseModelSHA256: file.metadata[MetadataKey.baseModelSHA256],
                trainingSummary: file.metadata[MetadataKey.trainingSummary])
        } catch let error as PromptTokensError {
            throw PromptTokensError(error.problem, file: url.path)
        }
    }

    /// Writes the prompt tokens as F32 safetensors with their metadata, atomically.
    public func save(to url: URL) throws {
        var metadata = [
            MetadataKey.count: String(count),
            MetadataKey.virtualTokens: String(virtualTokens),
            MetadataKey.attention: attention.rawValue,
        ]
        metadata[MetadataKey.baseModelSHA256] = baseModelSHA256
        metadata[MetadataKey.trainingSummary] = trainingSummary
        let tensor = Safetensors.Tensor(shape: [rows, hiddenSize], values: embeddings)
        try Safetensors(tensors: [PromptTokens.tensorName: tensor], metadata: metadata).write(to: url)
    }
}

// MARK: - Errors

/// Prompt tokens that cannot be built, read or used with a model. `description` names the file
/// (when there is one) and the problem.
public struct PromptTokensError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong.
    public enum Problem: Equatable, Sendable {
        /// A size is zero or negative.
        case invalidSizes(count: Int, virtualTokens: Int, hiddenSize: Int)
        /// The embeddings do not hold count * virtualTokens * hiddenSize floats.
        case embeddingCountMismatch(count: Int, virtualTokens: Int, hiddenSize: Int, values: Int)
        /// `fromText` was given no token ids.
        case emptyInitialText
        /// The file has no `prompt_embeddings` tensor.
        case missingTensor(available: [String])
        /// `prompt_embeddings` is not a non-empty 2-D tensor.
        case badTensorShape([Int])
        /// A metadata value that cannot be used.
        case badMetadata(key: String, value: String, reason: String)
        /// The tensor's rows are not num_prompt_tokens * virtual_tokens_per_prompt_token.
        case rowCountMismatch(rows: Int, count: Int?, virtualTokens: Int)
        /// The prompt tokens' hidden size differs from the model's.
        case hiddenSizeMismatch(promptTokens: Int, model: Int)
        /// The prompt tokens were trained for another model file.
        case modelHashMismatch(promptTokens: String, model: String)
        /// An embedding row holds NaN or infinity.
        case nonFinite(row: Int)
        /// An index outside the prompt tokens and their virtual tokens.
        case indexOutOfRange(promptToken: Int, virtual: Int, count: Int, virtualTokens: Int)
    }

    /// What is wrong.
    public var problem: Problem
    /// The file the prompt tokens came from, if any.
    public var file: String?

    /// An error for `problem`, naming `file`.
    public init(_ problem: Problem, file: String? = nil) {
        self.problem = problem
        self.file = file
    }

    public var description: String {
        let prefix = file.map { "prompt tokens file \($0): " } ?? ""
        switch problem {
        case .invalidSizes(let count, let virtualTokens, let hiddenSize):
            return prefix
                + "invalid sizes: \(count) prompt tokens x \(virtualTokens) virtual tokens x hidden \(hiddenSize); all must be positive"
        case .embeddingCountMismatch(let count, let virtualTokens, let hiddenSize, let values):
            return prefix
                + "\(count) prompt tokens x \(virtualTokens) virtual tokens x hidden \(hiddenSize) need "
                + "\(count * virtualTokens * hiddenSize) floats, but the embeddings hold \(values)"
        case .emptyInitialText:
            return prefix + "no token ids to initialise the prompt tokens from"
        case .missingTensor(let available):
            return prefix + "no tensor \"\(PromptTokens.tensorName)\" (tensors: \(available.joined(separator: ", ")))"
        case .badTensorShape(let shape):
            return prefix + "tensor \"\(PromptTokens.tensorName)\" has shape \(shape); expected [rows, hidden]"
        case .badMetadata(let key, let value, let reason):
            return prefix + "metadata \"\(key)\" = \"\(value)\": \(reason)"
        case .rowCountMismatch(let rows, let count, let virtualTokens):
            let prompt = count.map { "\($0) prompt tokens" } ?? "a whole number of prompt tokens"
            return prefix + "\(rows) embedding rows are not \(prompt) x \(virtualTokens) virtual tokens"
        case .hiddenSizeMismatch(let promptTokens, let model):
            return prefix + "prompt tokens have hidden size \(promptTokens) but the model's is \(model)"
        case .indexOutOfRange(let promptToken, let virtual, let count, let virtualTokens):
            return prefix + "no embedding for prompt token \(promptToken), virtual token \(virtual): there are \(count) x \(virtualTokens)"
        case .modelHashMismatch(let promptTokens, let model):
            return prefix + "prompt tokens were trained for model sha256 \(promptTokens) but the model's is \(model)"
        case .nonFinite(let row):
            return prefix + "embedding row \(row) holds a value that is not finite"
        }
    }
}
