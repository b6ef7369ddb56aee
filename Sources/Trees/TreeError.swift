import Foundation

/// A candidate tree that cannot be used: malformed JSON, a path that breaks the tree's rules, or
/// guesses that do not cover the tree. `description` names the file (when the tree came from one),
/// the tree's depth key (when it belongs to a dynamic tree) and the problem.
public struct TreeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong.
    public enum Problem: Equatable, Sendable {
        /// The root (empty path) was listed as a node; it is always implicit.
        case emptyPath
        /// A path holds a rank below zero.
        case negativeRank(path: [Int])
        /// A path holds a rank that the top-k guesses do not reach.
        case rankOutOfRange(path: [Int], topK: Int)
        /// A path whose parent (the path without its last rank) is not in the tree.
        case missingParent(path: [Int], parent: [Int])
        /// The same path listed twice.
        case duplicatePath([Int])
        /// A path longer than the number of distances that have guesses.
        case pathTooDeep(path: [Int], limit: Int)
        /// A node's prompt-token count is negative or above the number of prompt tokens.
        case promptTokenCountOutOfRange(path: [Int], count: Int, limit: Int)
        /// A node's weight is NaN or infinite.
        case nonFiniteWeight(path: [Int])
        /// A prompt-token total below what is allowed.
        case invalidPromptTokenCount(Int)
        /// A top-k below one.
        case invalidTopK(Int)
        /// The file could not be read.
        case unreadable(reason: String)
        /// The bytes are not JSON, or the JSON does not have the tree's shape.
        case malformedJSON(reason: String)
        /// A top-level field that the format does not define.
        case unknownField(String)
        /// A top-level field that the format requires is absent.
        case missingField(String)
        /// The `format` field is not `ppd-tree/1`.
        case wrongFormat(String)
        /// A key of `trees` that is not a positive integer written plainly (`"1"`, not `"01"`).
        case invalidDepthKey(String)
        /// A depth key above the number of prompt tokens: there cannot be more guesses than that.
        case depthKeyExceedsPromptTokens(key: Int, promptTokens: Int)
        /// A path deeper than the key of the tree it sits in.
        case treeDeeperThanKey(key: Int, path: [Int])
        /// The guesses given for a tree lack the guess a node needs.
        case missingGuess(distance: Int, rank: Int)
        /// The tree wants guesses at more distances than there are prompt tokens to make them.
        case moreDistancesThanPromptTokens(tree: Int, promptTokens: Int)
    }

    /// What is wrong.
    public var problem: Problem
    /// The file the tree was read from, if any.
    public var file: String?
    /// The depth key of the tree inside a dynamic tree, if the problem belongs to one.
    public var depthKey: Int?

    /// An error for `problem`, optionally naming the file and the depth key.
    public init(_ problem: Problem, file: String? = nil, depthKey: Int? = nil) {
        self.problem = problem
        self.file = file
        self.depthKey = depthKey
    }

    /// The same error, naming `file` (kept if it already names one).
    func inFile(_ file: String?) -> TreeError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    /// The same error, naming the depth key (kept if it already names one).
    func inTree(_ key: Int) -> TreeError {
        var copy = self
        if copy.depthKey == nil { copy.depthKey = key }
        return copy
    }

    public var description: String {
        var text = ""
        if let file { text += "tree file \(file): " }
        if let depthKey { text += "tree \"\(depthKey)\": " }
        return text + problem.message
    }
}

extension TreeError.Problem {
    /// A sentence about the problem, without file or tree context.
    var message: String {
        func show(_ path: [Int]) -> String { "[" + path.map(String.init).joined(separator: ", ") + "]" }
        switch self {
        case .emptyPath:
            return "empty path listed; the root is implicit and must not be listed"
        case .negativeRank(let path):
            return "negative rank in path \(show(path))"
        case .rankOutOfRange(let path, let topK):
            return "rank out of range in path \(show(path)): ranks must be below top-k \(topK)"
        case .missingParent(let path, let parent):
            return "missing parent: path \(show(path)) needs its parent \(show(parent)) in the tree"
        case .duplicatePath(let path):
            return "duplicate path \(show(path))"
        case .pathTooDeep(let path, let limit):
            return "path \(show(path)) is too deep: depth \(path.count) exceeds the \(limit) prompt tokens available"
        case .promptTokenCountOutOfRange(let path, let count, let limit):
            return "prompt-token count \(count) of path \(show(path)) is out of range 0...\(limit)"
        case .nonFiniteWeight(let path):
            return "weight of path \(show(path)) is not a finite number"
        case .invalidPromptTokenCount(let count):
            return "invalid prompt-token count \(count)"
        case .invalidTopK(let topK):
            return "invalid top-k \(topK): must be at least 1"
        case .unreadable(let reason):
            return "unreadable: \(reason)"
        case .malformedJSON(let reason):
            return "malformed JSON: \(reason)"
        case .unknownField(let name):
            return "unknown field \"\(name)\""
        case .missingField(let name):
            return "missing field \"\(name)\""
        case .wrongFormat(let format):
            return "wrong format \"\(format)\": expected \"\(DynamicTree.format)\""
        case .invalidDepthKey(let key):
            return "invalid depth key \"\(key)\": keys must be positive integers"
        case .depthKeyExceedsPromptTokens(let key, let promptTokens):
            return "depth key \(key) exceeds the \(promptTokens) prompt tokens"
        case .treeDeeperThanKey(let key, let path):
            return "path \(show(path)) is deeper than its tree's depth key \(key)"
        case .missingGuess(let distance, let rank):
            return "missing guess: the tree needs rank \(rank) at distance \(distance)"
        case .moreDistancesThanPromptTokens(let tree, let promptTokens):
            return "the tree is built for \(tree) prompt tokens (guesses up to distance \(tree)) but only \(promptTokens) prompt tokens are loaded"
        }
    }
}
