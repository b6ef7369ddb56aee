import ArgumentParser
import Foundation
import CommandOptions
import PPD

/// The extra `--json` fields of `ppd generate --ppd`.
struct PromptDecodingReport: Encodable {
    /// Verification steps (forward passes after the prefill).
    let steps: Int
    /// Mean tokens per verification step (accepted guesses + 1), tau.
    let meanAcceptedLength: Double
    let policy: String
    /// Tokens emitted by each verification step.
    let stepTokens: [Int]
    /// Batch rows of each verification step.
    let stepRows: [Int]
    /// The drafter beside the prompt tokens (`--lookup`), or nil.
    let drafter: String?
    /// Rows of drafted tokens in each verification step.
    let stepDraftRows: [Int]
    /// Accepted drafted tokens in each verification step.
    let stepAcceptedDrafted: [Int]
    /// The bytes prompt decoding holds beyond plain decoding, by buffer.
    let addedMemory: PromptDecodingMemory

    enum CodingKeys: String, CodingKey {
        case steps, meanAcceptedLength = "mean_accepted_length", policy, stepTokens = "step_tokens", stepRows = "step_rows"
        case drafter, stepDraftRows = "step_draft_rows", stepAcceptedDrafted = "step_accepted_drafted"
        case addedMemory = "added_memory"
    }
}

extension Generate {
    /// `generate --ppd`: prompt decoding with the chosen prompt tokens, tree and policy; streams
    /// text (accepted tokens per step) or prints the JSON report; writes the trace if asked.
    func runPromptDecoding(
        path: String, transformer: Transformer, tokenizer: SentencePieceTokenizer, prompt: [Int32],
        options: GenerationOptions, interventions: [any ActivationIntervention]
    ) throws {
        if let tracePath = decoding.trace {
            let directory = URL(fileURLWithPath: tracePath).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--trace \(tracePath): directory \(directory) does not exist")
            }
        }
        let prepared = try decoding.prepareDecoder(path: path, transformer: transformer, tokenizer: tokenizer)
        let decoder = prepared.decoder
        let (tokens, tree, modelSHA256, guess) = (prepared.promptTokens, prepared.tree, prepared.modelSHA256, prepared.guess)
        let promptTokensFile = prepared.promptTokensFile
        let policy = decoding.makePolicy(sampling: options.sampling)

        let trace = try decoding.trace.map { _ in
            try PromptDecodingTrace(
                layers: try decoding.layers(), sites: try decoding.taps(), logitsMode: decoding.logitsMode,
                steps: try decoding.stepFilter())
        }
        if let layer = try decoding.layers().first(where: { $0 >= transformer.config.layerCount }) {
            throw ValidationError("--trace-layers: layer \(layer) does not exist (the model has \(transformer.config.layerCount) layers)")
        }

        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        let result = try decoder.generate(
            prompt: prompt, options: options, policy: policy, observer: trace, interventions: interventions
        ) { step in
            if !json {
                for token in step.tokens { print(stream.append(token), terminator: "") }
                fflush(stdout)
            }
            return true
        }
        let text = tokenizer.decode(result.tokens)
        let added = decoder.addedMemory(promptLength: prompt.count, maxTokens: options.maxTokens, policy: policy, observer: trace)
        if let trace, let tracePath = decoding.trace {
            var attributes: [String: AttributeValue] = [
                "model_path": .string(path), "model_sha256": .string(modelSHA256 ?? ""),
                "tree": .string(tree == .rootOnly ? "none" : String(decoding: tree.jsonData(), as: UTF8.self)), "tree_file": .string(decoding.tree ?? ""),
                "prompt_tokens_file": .string(promptTokensFile ?? ""),
                "prompt_token_count": .int(Int64(decoder.promptTokenCount)),
                "virtual_tokens": .int(Int64(tokens.virtualTokens)), "attention": .string(tokens.attention.rawValue),
                "policy": .string(result.policy), "temperature": .double(Double(temperature)), "top_k": .int(Int64(topK)),
                "top_p": .double(Double(topP)), "seed": .int(Int64(bitPattern: seed)), "max_tokens": .int(Int64(maxTokens)),
                "prompt_text": .string(self.prompt ?? ""), "text": .string(text),
                "command_line": .string(CommandLine.arguments.joined(separator: " ")),
                "git_commit": .string(RunInfo.gitCommit()), "date": .string(RunInfo.date()),
                "threads": .int(Int64(transformer.pool.threadCount)),
                "arithmetic": .string(transformer.arithmetic.rawValue),
                "guess_vocabulary": .string(guess?.file ?? ""),
                "guess_head_size": .int(Int64(guess?.head.tokens.count ?? 0)),
                "drafter": .string(decoder.drafter?.name ?? ""), "draft_row_limit": .int(Int64(decoder.draftRowLimit)),
                "ablations": .string(ablate.joined(separator: "; ")),
                "peak_resident_bytes": .int(Int64(ProcessMemory.current().peakResidentBytes)),
                "added_memory_bytes": .int(Int64(added.total)),
                "added_memory_prompt_tokens": .int(Int64(added.promptTokens)), "added_memory_guess_head": .int(Int64(added.guessHead)),
                "added_memory_tree_buffers": .int(Int64(added.treeBuffers)), "added_memory_logits": .int(Int64(added.logits)),
                "added_memory_cache": .int(Int64(added.cache)),
            ]
            if promptTokensFile == nil {
                attributes["init_text"] = .string(decoding.initText ?? PromptTokens.paperInitialText(count: decoding.promptTokenCount))
            }
            try trace.write(result: result, attributes: attributes, to: tracePath)
        }
        if json {
            let report = GenerationReport(
                promptTokens: result.prompt, tokens: result.tokens, text: text,
                topLogits: result.topLogits.map { TokenLogit(token: $0.token, logit: $0.logit) },
                stopReason: result.stopReason.rawValue,
                prefillTokensPerSecond: result.prefillTokensPerSecond,
                decodeTokensPerSecond: result.decodeTokensPerSecond,
                promptDecoding: PromptDecodingReport(
                    steps: result.decodeSteps, meanAcceptedLength: result.meanAcceptedLength, policy: result.policy,
                    stepTokens: result.steps.dropFirst().map(\.tokens.count), stepRows: result.steps.dropFirst().map(\.inputRows), drafter: decoder.drafter?.name,
                    stepDraftRows: result.steps.dropFirst().map(\.draftRows),
                    stepAcceptedDrafted: result.steps.dropFirst().map(\.acceptedDrafted), addedMemory: added))
            print(try report.jsonString())
        } else {
            print(stream.finish())
            FileHandle.standardError.write(Data(String(
                format: "[%d prompt tokens, %d generated in %d steps (tau %.2f), stop: %@, policy %@; prefill %.1f tok/s, decode %.1f tok/s]\n",
                result.prompt.count, result.tokens.count, result.decodeSteps, result.meanAcceptedLength,
                result.stopReason.rawValue, result.policy, result.prefillTokensPerSecond, result.decodeTokensPerSecond).utf8))
        }
    }
}
