/// llama.cpp's corrections of token types by token text, applied when it loads a vocabulary
/// from GGUF; reproduced so that encoding and decoding match it.
///
/// llama.cpp marks tokens whose text looks like an end-of-turn, end-of-generation or
/// fill-in-the-middle marker as control tokens even when the file says otherwise (Gemma 3's
/// `</s>` is user-defined in the file and control in llama.cpp: it is not cut out of text unless
/// special tokens are parsed, and renders as nothing). A few model-specific fixes follow.
/// A token that gains the control flag behaves exactly like a `.control` token in llama.cpp,
/// so it simply becomes `.control` here.
///
/// Not reproduced: when a vocabulary holds two or more candidates for the same
/// fill-in-the-middle role (say `<PRE>` and `<|fim_prefix|>`) and the file names none, llama.cpp
/// marks only the first one it meets in hash-map order; here all of them become control.
enum LlamaCppTypeCorrections {
    /// Texts llama.cpp treats as end of generation (`special_eog_ids`); all become control.
    static let endOfGeneration: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// Fill-in-the-middle candidates by role: the GGUF keys that give the role's id, and the
    /// texts llama.cpp looks for when none of them is present.
    static let fillInTheMiddle: [(keys: [String], texts: Set<String>)] = [
        (["tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"],
         ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]),
        (["tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"],
         ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]),
        (["tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"],
         ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]),
        (["tokenizer.ggml.fim_pad_token_id"], ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
        (["tokenizer.ggml.fim_rep_token_id"], ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
        (["tokenizer.ggml.fim_sep_token_id"], ["<|file_sep|>"]),
    ]

    /// gpt-oss markers that llama.cpp always renders: they become user-defined.
    static let alwaysRendered: Set<String> = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    /// Applies the corrections to `vocabulary.types`.
    ///
    /// llama.cpp also marks the first end-of-turn / end-of-message candidate as control when the
    /// file gives no `eot_token_id` / `eom_token_id`; all those candidates are end-of-generation
    /// texts as well, so the rule below already covers them.
    ///
    /// - Parameters:
    ///   - hasValidKey: whether the file has this metadata key with an id inside the vocabulary.
    ///   - endOfGenerationIDs: ids the file names as eos, eot or eom (they end generation too).
    static func apply(to vocabulary: inout Vocabulary, hasValidKey: (String) -> Bool, endOfGenerationIDs: [Int32]) {
        // Texts are looked up by bytes in the vocabulary (a few dozen lookups), not compared
        // token by token: hashing 262,144 Swift strings costs tens of milliseconds.
        var endOfGenerationTexts = Set(endOfGenerationIDs.map { vocabulary.tokens[Int($0)] })
        for role in fillInTheMiddle where !role.keys.contains(where: hasValidKey) {
            for text in role.texts {
                if let id = vocabulary.id(for: text) { vocabulary.types[Int(id)] = .control }
            }
        }
        for text in endOfGeneration {
            guard let id = vocabulary.id(for: text) else { continue }
            vocabulary.types[Int(id)] = .control
            endOfGenerationTexts.insert(text)
        }
        for text in alwaysRendered {
            if let id = vocabulary.id(for: text) { vocabulary.types[Int(id)] = .userDefined }
        }

        // gpt-oss / solar-open: "<|end|>" is no end of generation next to "<|return|>" and "<|call|>"
        // (or "<|call|>"/"<|calls|>" and "<|flush|>"), and is rendered.
        let has = endOfGenerationTexts.contains
        if has("<|end|>") && ((has("<|return|>") && has("<|call|>")) || ((has("<|call|>") || has("<|calls|>")) && has("<|flush|>"))),
            let id = vocabulary.id(for: "<|end|>")
        {
            vocabulary.types[Int(id)] = .userDefined
        }
        // Gemma 4 and PLaMo: "</s>" is a normal token there.
        if (has("<|tool_response>") || has("<|plamo:eos|>")) && has("</s>"), let id = vocabulary.id(for: "</s>") {
            vocabulary.types[Int(id)] = .normal
        }
    }
}
