import Foundation
import Models

extension MedusaHeads {
    /// Tensor names and metadata keys of a Medusa-heads file: `medusa_weight` [K, H, H] (out x in),
    /// `medusa_bias` [K, H]; metadata `base_model_sha256` and `training_summary` when known.
    public static let weightTensor = "medusa_weight"
    public static let biasTensor = "medusa_bias"

    /// Reads heads written by `save(to:)`. Errors name the file and what is wrong with it.
    public static func load(from url: URL) throws -> MedusaHeads {
        let file = try Safetensors(contentsOf: url)
        func fail(_ reason: String) -> ModelError { ModelError("\(url.path): not a Medusa-heads file: \(reason)") }
        guard let weight = file.tensors[weightTensor], let bias = file.tensors[biasTensor] else {
            throw fail("it needs tensors \(weightTensor) and \(biasTensor); it has \(file.tensors.keys.sorted())")
        }
        guard weight.shape.count == 3, weight.shape[1] == weight.shape[2], weight.shape[0] > 0, weight.shape[1] > 0 else {
            throw fail("\(weightTensor) has shape \(weight.shape), expected [heads, hidden, hidden]")
        }
        guard bias.shape == [weight.shape[0], weight.shape[1]] else {
            throw fail("\(biasTensor) has shape \(bias.shape), expected [\(weight.shape[0]), \(weight.shape[1])]")
        }
        guard weight.values.allSatisfy(\.isFinite), bias.values.allSatisfy(\.isFinite) else {
            throw fail("its parameters are not all finite")
        }
        return try MedusaHeads(
            count: weight.shape[0], hiddenSize: weight.shape[1], weights: weight.values, biases: bias.values,
            baseModelSHA256: file.metadata["base_model_sha256"], trainingSummary: file.metadata["training_summary"])
    }

    /// Writes the heads as safetensors (atomically: a temporary file, then a rename).
    public func save(to url: URL, extraTensors: [String: Safetensors.Tensor] = [:], extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        metadata["medusa_num_heads"] = String(count)
        metadata["base_model_sha256"] = baseModelSHA256
        metadata["training_summary"] = trainingSummary
        var tensors = extraTensors
        tensors[Self.weightTensor] = .init(shape: [count, hiddenSize, hiddenSize], values: weights)
        tensors[Self.biasTensor] = .init(shape: [count, hiddenSize], values: biases)
        try Safetensors(tensors: tensors, metadata: metadata).write(to: url)
    }

    /// Throws unless the heads fit `model` (hidden size) and, when both hashes are known, were
    /// trained for the model file `modelSHA256` names.
    public func validate(for model: LanguageModel, modelSHA256: String?) throws {
        guard hiddenSize == model.config.hiddenSize else {
            throw ModelError("Medusa heads of width \(hiddenSize) do not fit a model of hidden size \(model.config.hiddenSize)")
        }
        if let modelSHA256, let baseModelSHA256, modelSHA256 != baseModelSHA256 {
            throw ModelError("the Medusa heads were trained for the model with SHA-256 \(baseModelSHA256.prefix(12))..., not this one (\(modelSHA256.prefix(12))...)")
        }
    }
}
