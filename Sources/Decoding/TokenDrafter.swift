/// A source of candidate continuations that come from outside the verification forward pass:
/// given every committed token (the prompt, then the generated tokens, the next step's root
/// last), a few guesses of what follows. `PromptDecoder` merges them into the step's candidate
/// tree beside the prompt tokens' guesses and verifies everything in one forward pass, so any
/// drafter works with every acceptance policy, and greedy output stays plain greedy decoding.
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
}
