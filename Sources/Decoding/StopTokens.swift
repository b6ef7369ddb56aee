import Tokenizer

/// The tokens that end a generation for a vocabulary: end of sequence and the end-of-turn
/// markers of the chat formats we know (`<end_of_turn>`, `<|eot_id|>`, `<|im_end|>`, `</s>`).
public enum StopTokens {
    public static func defaults(for vocabulary: Vocabulary) -> Set<Int32> {
        var stops = Set<Int32>()
        if let eos = vocabulary.eos { stops.insert(eos) }
        for marker in ["<end_of_turn>", "<|eot_id|>", "<|im_end|>", "</s>"] {
            if let id = vocabulary.id(for: marker), vocabulary.type(of: id) == .control { stops.insert(id) }
        }
        return stops
    }
}
