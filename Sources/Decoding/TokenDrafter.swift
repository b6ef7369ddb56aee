/// A source of candidate continuations that come from outside the verification forward pass:
/// given every committed token (the prompt, then the generated tokens, the next step's root
/// last), a few guesses of what follows. `PromptDecoder` merges them into the step's candidate
/// tree beside the prompt tokens' guesses and verifies everything in one forward pass, so any
/// drafter works with every acceptance policy, and greedy output stays plain greedy decoding.
///
/// A model-based drafter (`MedusaDrafter`) also reads the final hidden state (after the final
/// norm) of the row of the previous forward pass whose logits chose the root: it says so with
/// `readsHiddenState`, and the decoder keeps that row for it.
///
/// PPD's own prompt tokens are not a `TokenDrafter`: their guesses come from rows of the same
/// forward pass that verifies, which only the decoder can see.
public protocol TokenDrafter {
    /// A short name for reports and traces (`prompt-lookup`).
    var name: String { get }
    /// Continuations of `tokens` (each a list of tokens following the last one; the first
    /// continuation is the most likely), at most `limit` tokens in all. Empty when there is
    /// nothing worth verifying.
    mutating func draft(after tokens: [Int32], limit: Int) -> [[Int32]]
    /// Whether `draft(after:hiddenState:limit:)` reads the hidden state (false by default).
    var readsHiddenState: Bool { get }
    /// As `draft(after:limit:)`, given also the final hidden state (hiddenSize floats, after the
    /// final norm) of the row that chose the last of `tokens`, when the drafter reads it. By
    /// default the hidden state is ignored.
    mutating func draft(after tokens: [Int32], hiddenState: [Float]?, limit: Int) throws -> [[Int32]]
    /// Bytes the drafter holds beyond the model (weights of its own; 0 by default).
    var addedBytes: Int { get }
}

extension TokenDrafter {
    public var readsHiddenState: Bool { false }
    public var addedBytes: Int { 0 }

    public mutating func draft(after tokens: [Int32], hiddenState: [Float]?, limit: Int) throws -> [[Int32]] {
        draft(after: tokens, limit: limit)
    }
}
