import GGUF

extension Vocabulary {
    /// Reads the vocabulary from a GGUF file's `tokenizer.ggml.*` metadata, with llama.cpp's
    /// defaults for a SentencePiece (`llama`) model: bos 1, eos 2, unk 0 and no pad unless the
    /// file says otherwise (an id outside the vocabulary keeps the default), `add_bos_token`
    /// true, `add_eos_token` false, `add_space_prefix` true. Token types get llama.cpp's
    /// corrections by text (see `LlamaCppTypeCorrections`: Gemma's `</s>` becomes control).
    ///
    /// Throws a `TokenizerError` naming the file when the tokenizer model is not `llama`, the
    /// token list is missing, or an array has the wrong type or length.
    public init(gguf file: GGUFFile) throws {
        let path = file.path
        func fail(_ reason: String) -> TokenizerError { TokenizerError(source: path, reason: reason) }

        guard let modelValue = file.metadata["tokenizer.ggml.model"] else {
            throw fail("missing metadata key 'tokenizer.ggml.model': the file has no tokenizer")
        }
        guard let model = modelValue.stringValue else { throw fail("'tokenizer.ggml.model' is not a string") }
        guard model == "llama" else {
            throw fail("tokenizer model '\(model)' is not supported (only 'llama', i.e. SentencePiece)")
        }

        guard let tokenValues = file.metadata["tokenizer.ggml.tokens"]?.arrayValue else {
            throw fail("missing or non-array metadata 'tokenizer.ggml.tokens'")
        }
        guard let tokens = tokenValues.strings ?? (tokenValues.isEmpty ? [] : nil) else {
            let id = tokenValues.firstIndex { $0.stringValue == nil } ?? 0
            throw fail("'tokenizer.ggml.tokens'[\(id)] is not a string")
        }
        let count = tokens.count

        let scores = try Self.scores(in: file, count: count) ?? []
        let fileTypes = try Self.tokenTypes(in: file, count: count) ?? [TokenType](repeating: .normal, count: count)

        func specialID(_ key: String, default defaultID: Int32?) throws -> Int32? {
            let fallback = defaultID.flatMap { $0 < count ? $0 : nil }
            guard let value = file.metadata[key] else { return fallback }
            guard let id = value.intValue else { throw fail("metadata '\(key)' is not an integer") }
            return id >= 0 && id < count ? Int32(id) : fallback
        }
        func flag(_ key: String, default defaultValue: Bool) throws -> Bool {
            guard let value = file.metadata[key] else { return defaultValue }
            guard let flag = value.boolValue else { throw fail("metadata '\(key)' is not a bool") }
            return flag
        }

        let eos = try specialID("tokenizer.ggml.eos_token_id", default: 2)
        func validID(_ key: String) -> Int32? {
            file.metadata[key]?.intValue.flatMap { $0 >= 0 && $0 < count ? Int32($0) : nil }
        }
        let endOfGeneration = [eos, validID("tokenizer.ggml.eot_token_id"), validID("tokenizer.ggml.eom_token_id")]

        try self.init(
            tokens: tokens, scores: scores, types: fileTypes,
            bos: try specialID("tokenizer.ggml.bos_token_id", default: 1),
            eos: eos,
            unk: try specialID("tokenizer.ggml.unknown_token_id", default: 0),
            pad: try specialID("tokenizer.ggml.padding_token_id", default: nil),
            addBOS: try flag("tokenizer.ggml.add_bos_token", default: true),
            addEOS: try flag("tokenizer.ggml.add_eos_token", default: false),
            addSpacePrefix: try flag("tokenizer.ggml.add_space_prefix", default: true),
            source: path)
        LlamaCppTypeCorrections.apply(
            to: &self, hasValidKey: { validID($0) != nil }, endOfGenerationIDs: endOfGeneration.compactMap { $0 })
    }

    /// The first `count` elements of the scores array (f32, or i32 as llama.cpp also accepts),
    /// or nil when the key is absent.
    private static func scores(in file: GGUFFile, count: Int) throws -> [Float]? {
        try elements("tokenizer.ggml.scores", in: file, count: count, expected: "f32 or i32") { value in
            switch value {
            case .float32(let x): return x
            case .int32(let x): return Float(x)
            default: return nil
            }
        }
    }

    /// The first `count` elements of the token type array (i32), or nil when the key is absent.
    private static func tokenTypes(in file: GGUFFile, count: Int) throws -> [TokenType]? {
        try elements("tokenizer.ggml.token_type", in: file, count: count, expected: "i32") { value in
            if case .int32(let x) = value { return TokenType(gguf: Int(x)) }
            return nil
        }
    }

    /// The first `count` elements of array `key` converted by `convert`, or nil when the key is
    /// absent; throws when it is not an array, too short, or an element does not convert.
    private static func elements<T>(
        _ key: String, in file: GGUFFile, count: Int, expected: String, _ convert: (GGUFValue) -> T?
    ) throws -> [T]? {
        guard let value = file.metadata[key] else { return nil }
        guard case .array(let elementType, let values) = value else {
            throw TokenizerError(source: file.path, reason: "metadata '\(key)' is not an array")
        }
        guard values.count >= count else {
            throw TokenizerError(source: file.path, reason: "metadata '\(key)' has \(values.count) entries for \(count) tokens")
        }
        var result: [T] = []
        result.reserveCapacity(count)
        for value in values.prefix(count) {
            guard let element = convert(value) else {
                throw TokenizerError(
                    source: file.path, reason: "metadata '\(key)' holds \(elementType) values; expected \(expected)")
            }
            result.append(element)
        }
        return result
    }
}
