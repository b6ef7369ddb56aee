/// Prompt-lookup drafting (Saxena's prompt lookup decoding; llama.cpp's `llama-lookup` family):
/// the last n tokens are searched for earlier in the text, and the tokens that followed that
/// earlier occurrence are the draft. Trained on nothing; strong wherever the text repeats
/// itself (code edits, summaries, lists, a base model caught in a loop).
///
/// Search order: n from `ngramSizes.upperBound` down to `ngramSizes.lowerBound` (a longer match
/// is the better evidence), and for each n the most recent earlier occurrence first (PLD takes
/// the earliest; the most recent one follows the text's current pattern). `branches`
/// continuations from distinct occurrences with distinct first tokens may be returned; they share
/// the `limit`, the first taking up to `draftLength`.
public struct PromptLookupDrafter: TokenDrafter, Sendable {
    /// The n-gram lengths matched, longest tried first.
    public let ngramSizes: ClosedRange<Int>
    /// Most tokens in one continuation.
    public let draftLength: Int
    /// Most continuations per step.
    public let branches: Int

    /// A drafter matching n-grams of `ngramSizes` tokens and proposing up to `draftLength` tokens
    /// per continuation, at most `branches` continuations. Throws on a size below 1.
    public init(ngramSizes: ClosedRange<Int> = 1...3, draftLength: Int = 6, branches: Int = 1) throws {
        guard ngramSizes.lowerBound >= 1 else {
            throw DrafterError("prompt lookup: n-gram sizes must be at least 1, not \(ngramSizes.lowerBound)")
        }
        guard draftLength >= 1 else { throw DrafterError("prompt lookup: the draft length must be at least 1, not \(draftLength)") }
        guard branches >= 1 else { throw DrafterError("prompt lookup: branches must be at least 1, not \(branches)") }
        self.ngramSizes = ngramSizes
        self.draftLength = draftLength
        self.branches = branches
    }

    public var name: String { "prompt-lookup" }

    public func draft(after tokens: [Int32], limit: Int) -> [[Int32]] {
        var drafts: [[Int32]] = []
        var firstTokens = Set<Int32>()
        var budget = limit
        let count = tokens.count
        for n in ngramSizes.reversed() where n < count {
            let tail = tokens[(count - n)...]
            // An earlier occurrence ends at `end` (exclusive) and is followed by tokens[end...].
            var end = count - 1
            while end >= n, budget > 0, drafts.count < branches {
                defer { end -= 1 }
                guard tokens[end - n..<end].elementsEqual(tail) else { continue }
                let length = min(draftLength, budget, count - end)
                let continuation = Array(tokens[end..<end + length])
                guard firstTokens.insert(continuation[0]).inserted else { continue }
                drafts.append(continuation)
                budget -= length
            }
            if drafts.count >= branches || budget == 0 { break }
        }
        return drafts
    }
}

/// A drafter's settings are unusable.
public struct DrafterError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong.
    public var description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
