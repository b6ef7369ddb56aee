import ArgumentParser
import Foundation
import CommandOptions
import PPD

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a continuation of a prompt (greedy by default).",
        discussion: "The prompt is used as given (BOS added); the default model is a base model, so no chat template is applied.")

    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?

    @Option(help: "Prompt text.")
    var prompt: String?

    @Option(help: "A JSON Lines file of prompts ({\"prompt\": \"...\"} per line) to generate for, several at a time (--batch); one JSON line per prompt is printed as it finishes, with its index.")
    var prompts: String?

    @Option(help: "With --prompts: how many prompts share each forward pass (1...256). Every prompt gets the tokens it gets alone.")
    var batch = 8

    @Option(help: "Maximum number of tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Top-k filter when sampling (0: off).")
    var topK = 0

    @Option(help: "Top-p (nucleus) filter when sampling (1: off).")
    var topP: Float = 1

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @OptionGroup(title: "Computation")
    var compute: ComputeOptions

    @Flag(help: "Print one JSON object instead of streaming text.")
    var json = false

    @Option(help: "An intervention on activations in every forward pass, repeatable, applied in order: 'layer=7,head=3,site=head_output,rows=prompt,op=zero'. Fields: layer (N, A-B or all), site (layer_input, query, key, value, head_output, attention_output, ffn_hidden, ffn_output, layer_output), head, rows (all, prompt, tokens, root, guesses, drafted, input), op (zero; mean with from=TRACE.h5 or vector=FILE.json; steer with vector=FILE.json and scale=S; patch with from=TRACE.h5).")
    var ablate: [String] = []

    @OptionGroup(title: "Parallel prompt decoding")
    var decoding: PromptDecodingOptions

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give either --prompt or --prompts") }
        if prompts != nil {
            guard !decoding.ppd else { throw ValidationError("--prompts runs plain decoding: --ppd takes one --prompt") }
            guard ablate.isEmpty else { throw ValidationError("--prompts does not take --ablate") }
            guard (1...BatchGenerator.maxBatchSize).contains(batch) else {
                throw ValidationError("--batch must be in 1...\(BatchGenerator.maxBatchSize)")
            }
        }
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be >= 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        if decoding.policy == .greedy && temperature > 0 {
            throw ValidationError("--policy greedy decodes greedily: use --temperature 0, or --policy rejection or typical")
        }
    }

    func run() throws {
        let promptTexts = try prompts.map(Self.readPrompts)  // a bad prompt file fails before the model loads
        let path = try ModelLocation.resolve(model)
        let file = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let transformer = try Transformer(file: file, threads: compute.threads, arithmetic: compute.arithmetic)
        let options = GenerationOptions(
            maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed),
            stopTokens: StopTokens.defaults(for: tokenizer.vocabulary))
        if let promptTexts {
            try generateBatched(texts: promptTexts, transformer: transformer, tokenizer: tokenizer, options: options)
            return
        }
        let promptTokens = tokenizer.encode(prompt ?? "")
        let ablations: [any ActivationIntervention] = try ablate.map { try AblationSpec(parsing: $0).makeAblation(for: transformer.config) }
        if decoding.ppd {
            try runPromptDecoding(
                path: path, transformer: transformer, tokenizer: tokenizer, prompt: promptTokens, options: options,
                interventions: ablations)
            return
        }
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        let result = try AutoregressiveGenerator(model: transformer).generate(
            prompt: promptTokens, options: options, interventions: ablations
        ) { token in
            if !json {
                print(stream.append(token), terminator: "")
                fflush(stdout)
            }
            return true
        }
        let text = tokenizer.decode(result.tokens)
        if json {
            let report = GenerationReport(
                promptTokens: result.promptTokens, tokens: result.tokens, text: text,
                topLogits: result.topLogits.map { TokenLogit(token: $0.token, logit: $0.logit) },
                stopReason: result.stopReason.rawValue,
                prefillTokensPerSecond: result.prefillTokensPerSecond,
                decodeTokensPerSecond: result.decodeTokensPerSecond, promptDecoding: nil)
            print(try report.jsonString())
        } else {
            print(stream.finish())
            FileHandle.standardError.write(Data(String(
                format: "[%d prompt tokens, %d generated, stop: %@; prefill %.1f tok/s, decode %.1f tok/s]\n",
                result.promptTokens.count, result.tokens.count, result.stopReason.rawValue,
                result.prefillTokensPerSecond, result.decodeTokensPerSecond).utf8))
        }
    }
}

/// A `[token, logit]` pair, encoded as a two-element JSON array.
struct TokenLogit: Encodable {
    let token: Int32
    let logit: Float

    func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(token)
        try container.encode(logit)
    }
}

/// The `--json` output of `ppd generate`.
struct GenerationReport: Encodable {
    let promptTokens: [Int32]
    let tokens: [Int32]
    let text: String
    let topLogits: [TokenLogit]
    let stopReason: String
    let prefillTokensPerSecond: Double
    let decodeTokensPerSecond: Double
    /// Only for `--ppd`.
    let promptDecoding: PromptDecodingReport?

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", tokens, text, topLogits = "top_logits", stopReason = "stop_reason"
        case prefillTokensPerSecond = "prefill_tokens_per_second", decodeTokensPerSecond = "decode_tokens_per_second"
        case peakResidentBytes = "peak_resident_bytes"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(text, forKey: .text)
        try container.encode(topLogits, forKey: .topLogits)
        try container.encode(stopReason, forKey: .stopReason)
        try container.encode(prefillTokensPerSecond, forKey: .prefillTokensPerSecond)
        try container.encode(decodeTokensPerSecond, forKey: .decodeTokensPerSecond)
        try container.encode(ProcessMemory.current().peakResidentBytes, forKey: .peakResidentBytes)
        try promptDecoding?.encode(to: encoder)
    }

    func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
