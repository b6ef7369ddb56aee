import Foundation
import Decoding
import Models
import Store

/// A way of generating text that an experiment compares: plain decoding, or prompt decoding
/// with a given decoder (tree, guess head, drafter) and acceptance policy. Every method returns
/// a `DecodingRun`, so all are timed by the same rule.
public struct DecodingMethod {
    /// The name in tables, figures and result files (unique within an experiment).
    public var name: String
    /// Free-form facts for result files (`kind`, `tree`, ...), written as the method's attributes.
    public var attributes: [String: AttributeValue]
    /// Generates from a prompt with the given options.
    public let generate: (_ prompt: [Int32], _ options: GenerationOptions) throws -> DecodingRun

    /// A method from a closure.
    public init(
        name: String, attributes: [String: AttributeValue] = [:],
        generate: @escaping (_ prompt: [Int32], _ options: GenerationOptions) throws -> DecodingRun
    ) {
        self.name = name
        self.attributes = attributes
        self.generate = generate
    }

    /// Plain autoregressive decoding with `model` (sampling as the options say).
    public static func autoregressive(
        _ model: LanguageModel, name: String = "autoregressive", attributes: [String: AttributeValue] = [:]
    ) -> DecodingMethod {
        let generator = AutoregressiveGenerator(model: model)
        return DecodingMethod(name: name, attributes: ["kind": .string("autoregressive")].merging(attributes) { $1 }) {
            DecodingRun(try generator.generate(prompt: $0, options: $1))
        }
    }

    /// Prompt decoding with `decoder`. The acceptance policy is made fresh for every run from
    /// the run's sampling parameters: `policy` (nil: greedy at temperature 0, else rejection
    /// sampling, `AcceptancePolicyKind.defaultKind`).
    public static func promptDecoding(
        _ decoder: PromptDecoder, name: String, policy: AcceptancePolicyKind? = nil, attributes: [String: AttributeValue] = [:]
    ) -> DecodingMethod {
        var facts: [String: AttributeValue] = ["kind": .string("ppd"), "tree": .string(String(decoding: decoder.tree.jsonData(), as: UTF8.self))]
        if let policy { facts["policy"] = .string(policy.rawValue) }
        return DecodingMethod(name: name, attributes: facts.merging(attributes) { $1 }) { prompt, options in
            let kind = policy ?? AcceptancePolicyKind.defaultKind(for: options.sampling)
            return DecodingRun(try decoder.generate(prompt: prompt, options: options, policy: kind.make(sampling: options.sampling)))
        }
    }
}
