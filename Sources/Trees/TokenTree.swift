import Foundation

/// A sparse candidate tree for one depth of guesses.
///
/// Each node is a path of top-k ranks from the root: `[0, 2]` is the rank-0 guess at distance 1
/// followed by the rank-2 guess at distance 2. The root (the token the model just produced) is
/// implicit, is never listed, and always carries the full chain of `promptTokens` prompt tokens.
/// A listed node carries `node.promptTokens` prompt tokens hung under it as a chain; they give
/// the next step's guesses when that node is the last one accepted.
///
/// Validation (in `init`) guarantees: no empty path, no negative rank, no duplicate path, every
/// parent path present, every path at most `promptTokens` long (a guess at distance d comes from
/// prompt token d), every node's prompt-token count in `0...promptTokens`, every weight finite.
/// Ranks against a top-k are checked by `validate(topK:)` and by `TreeBuffers`.
public struct TokenTree: Sendable, Equatable {
    /// One listed node of the tree.
    public struct Node: Sendable, Equatable {
        /// Top-k ranks from the root, one per distance (never empty).
        public var path: [Int]
        /// The path's estimated acceptance probability (informative; layouts do not use it).
        public var weight: Double
        /// Number of prompt tokens hung under this node as a chain.
        public var promptTokens: Int

        /// A node with the given path, weight and prompt-token count.
        public init(_ path: [Int], weight: Double = 1, promptTokens: Int = 0) {
            self.path = path
            self.weight = weight
            self.promptTokens = promptTokens
        }
    }

    /// The listed nodes, in the order given (layouts sort them; this order is kept for files).
    public let nodes: [Node]
    /// Number of prompt tokens: the length of the root's chain and the deepest path allowed.
    public let promptTokens: Int

    /// A validated tree. Throws `TreeError` on the first broken rule, in node order.
    public init(nodes: [Node], promptTokens: Int) throws {
        try TokenTree.check(nodes, promptTokens: promptTokens, topK: nil)
        self.nodes = nodes
        self.promptTokens = promptTokens
    }

    /// A tree of the given paths, each with weight 1 and no prompt tokens (Medusa's static form).
    /// `promptTokens` defaults to the depth of the deepest path.
    public init(paths: [[Int]], promptTokens: Int? = nil) throws {
        let nodes = paths.map { Node($0) }
        try self.init(nodes: nodes, promptTokens: promptTokens ?? paths.map(\.count).max() ?? 0)
    }

    /// Length of the longest path (0 for a tree with no listed nodes).
    public var depth: Int { nodes.map(\.path.count).max() ?? 0 }

    /// Throws if a rank is not below `topK`.
    public func validate(topK: Int) throws {
        try TokenTree.check(nodes, promptTokens: promptTokens, topK: topK)
    }

    /// The nodes no deeper than `depth` (still a valid tree: every parent is shorter).
    public func truncated(toDepth depth: Int) -> TokenTree {
        TokenTree(unchecked: nodes.filter { $0.path.count <= depth }, promptTokens: promptTokens)
    }

    /// A tree known to be valid.
    /// A tree without nodes: a step with no guesses (the root and its prompt tokens only).
    public static func empty(promptTokens: Int) -> TokenTree { TokenTree(unchecked: [], promptTokens: promptTokens) }

    init(unchecked nodes: [Node], promptTokens: Int) {
        self.nodes = nodes
        self.promptTokens = promptTokens
    }

    /// Checks every rule on `nodes`; ranks against `topK` only when one is given.
    static func check(_ nodes: [Node], promptTokens: Int, topK: Int?) throws {
        guard promptTokens >= 0 else { throw TreeError(.invalidPromptTokenCount(promptTokens)) }
        if let topK, topK < 1 { throw TreeError(.invalidTopK(topK)) }
        for node in nodes {
            let path = node.path
            if path.isEmpty { throw TreeError(.emptyPath) }
            if path.contains(where: { $0 < 0 }) { throw TreeError(.negativeRank(path: path)) }
            if let topK, path.contains(where: { $0 >= topK }) {
                throw TreeError(.rankOutOfRange(path: path, topK: topK))
            }
            if path.count > promptTokens { throw TreeError(.pathTooDeep(path: path, limit: promptTokens)) }
            if node.promptTokens < 0 || node.promptTokens > promptTokens {
                throw TreeError(.promptTokenCountOutOfRange(path: path, count: node.promptTokens, limit: promptTokens))
            }
            if !node.weight.isFinite { throw TreeError(.nonFiniteWeight(path: path)) }
        }
        var seen = Set<[Int]>()
        for node in nodes where !seen.insert(node.path).inserted {
            throw TreeError(.duplicatePath(node.path))
        }
        for node in nodes where node.path.count > 1 {
            let parent = Array(node.path.dropLast())
            if !seen.contains(parent) { throw TreeError(.missingParent(path: node.path, parent: parent)) }
        }
    }
}

/// A set of candidate trees, one per depth of guesses available, as read from a tree file.
///
/// A dynamic tree file (ARCHITECTURE.md, "Formats"):
/// `{ "format": "ppd-tree/1", "prompt_tokens": 3, "trees": { "1": [[path, weight, n], ...], ... } }`
/// where the key is the number of distances that have guesses when the tree is used. A static tree
/// file is a plain JSON list of paths (Medusa's form); it becomes one tree whose nodes have weight 1
/// and the full chain of prompt tokens each, and it serves every depth (cut to the depth available).
public struct DynamicTree: Sendable, Equatable {
    /// The value of the `format` field of a dynamic tree file.
    public static let format = "ppd-tree/1"

    /// Number of prompt tokens the trees were built for.
    public let promptTokens: Int
    /// One tree per depth key. A static tree has one entry, keyed by its own depth (at least 1).
    public let trees: [Int: TokenTree]
    /// Whether this came from (or is written as) a static list of paths.
    public let isStatic: Bool

    /// A dynamic tree from node lists per depth key. Throws if a key is not in `1...promptTokens`,
    /// a path is deeper than its key, or a tree breaks a rule of `TokenTree`.
    public init(promptTokens: Int, trees: [Int: [TokenTree.Node]]) throws {
        guard promptTokens >= 1 else { throw TreeError(.invalidPromptTokenCount(promptTokens)) }
        var built: [Int: TokenTree] = [:]
        for (key, nodes) in trees.sorted(by: { $0.key < $1.key }) {
            guard key >= 1 else { throw TreeError(.invalidDepthKey(String(key))) }
            guard key <= promptTokens else {
                throw TreeError(.depthKeyExceedsPromptTokens(key: key, promptTokens: promptTokens), depthKey: key)
            }
            do {
                built[key] = try TokenTree(nodes: nodes, promptTokens: promptTokens)
            } catch let error as TreeError {
                throw error.inTree(key)
            }
            if let deep = nodes.first(where: { $0.path.count > key }) {
                throw TreeError(.treeDeeperThanKey(key: key, path: deep.path), depthKey: key)
            }
        }
        self.promptTokens = promptTokens
        self.trees = built
        self.isStatic = false
    }

    /// A static tree: `tree` serves every depth, cut to the depth available. Every node carries
    /// the full chain of `tree.promptTokens` prompt tokens (whatever its own count says), as
    /// Medusa's heads apply at every node: whichever node is accepted last, the next step has
    /// guesses at every distance, so the same tree is used at every step.
    public init(staticTree tree: TokenTree) {
        let full = tree.nodes.map { TokenTree.Node($0.path, weight: $0.weight, promptTokens: tree.promptTokens) }
        self.promptTokens = tree.promptTokens
        self.trees = [max(tree.depth, 1): TokenTree(unchecked: full, promptTokens: tree.promptTokens)]
        self.isStatic = true
    }

    /// No prompt tokens and no guesses: every step verifies the root alone, plus whatever a
    /// `TokenDrafter` adds (prompt lookup without PPD). Not a tree file: `--tree none` names it,
    /// and a file with no prompt tokens is refused as a likely mistake.
    public static let rootOnly = DynamicTree(unchecked: 0, trees: [:])

    /// A tree known to be valid.
    private init(unchecked promptTokens: Int, trees: [Int: TokenTree]) {
        self.promptTokens = promptTokens
        self.trees = trees
        self.isStatic = false
    }

    /// A chain without branching: for each depth key d in 1...promptTokens, the rank-0 guesses at
    /// distances 1...d, every node carrying all `promptTokens` prompt tokens (so whichever node is
    /// accepted last, the next step again has guesses at every distance). Batch rows per step:
    /// 1 + N + N (1 + N) for N prompt tokens (times V for the prompt rows of V virtual tokens).
    public static func chain(promptTokens n: Int) throws -> DynamicTree {
        guard n >= 1 else { throw TreeError(.invalidPromptTokenCount(n)) }
        var trees: [Int: [TokenTree.Node]] = [:]
        for key in 1...n {
            trees[key] = (1...key).map { TokenTree.Node(Array(repeating: 0, count: $0), promptTokens: n) }
        }
        return try DynamicTree(promptTokens: n, trees: trees)
    }

    /// Reads a tree file (dynamic or static). Errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TreeError(.unreadable(reason: error.localizedDescription), file: url.path)
        }
        try self.init(jsonData: data, file: url.path)
    }

    /// Parses tree JSON (dynamic or static). `file`, when given, is named in errors.
    public init(jsonData: Data, file: String? = nil) throws {
        do {
            let json: JSONValue
            do {
                json = try JSONDecoder().decode(JSONValue.self, from: jsonData)
            } catch {
                throw TreeError(.malformedJSON(reason: "not valid JSON"))
            }
            switch json {
            case .array(let list):
                let paths = try list.enumerated().map { index, element in
                    try element.path(what: "static tree entry \(index)")
                }
                self.init(staticTree: try TokenTree(paths: paths))
            case .object(let object):
                try self.init(object: object)
            default:
                throw TreeError(.malformedJSON(reason: "expected an object or a list of paths at the top level"))
            }
        } catch let error as TreeError {
            throw error.inFile(file)
        }
    }

    /// Parses the dynamic form's top-level object.
    private init(object: [String: JSONValue]) throws {
        let known: Set<String> = ["format", "prompt_tokens", "trees"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw TreeError(.unknownField(unknown))
        }
        guard let formatValue = object["format"] else { throw TreeError(.missingField("format")) }
        guard case .string(let format) = formatValue else {
            throw TreeError(.malformedJSON(reason: "\"format\" must be a string"))
        }
        guard format == DynamicTree.format else { throw TreeError(.wrongFormat(format)) }
        guard let countValue = object["prompt_tokens"] else { throw TreeError(.missingField("prompt_tokens")) }
        let promptTokens = try countValue.integer(what: "\"prompt_tokens\"")
        guard let treesValue = object["trees"] else { throw TreeError(.missingField("trees")) }
        guard case .object(let treeObject) = treesValue else {
            throw TreeError(.malformedJSON(reason: "\"trees\" must be an object keyed by depth"))
        }
        var trees: [Int: [TokenTree.Node]] = [:]
        for (keyText, value) in treeObject.sorted(by: { $0.key < $1.key }) {
            guard let key = Int(keyText), key >= 1, String(key) == keyText else {
                throw TreeError(.invalidDepthKey(keyText))
            }
            guard case .array(let entries) = value else {
                throw TreeError(.malformedJSON(reason: "a tree must be a list of [path, weight, n]"), depthKey: key)
            }
            do {
                trees[key] = try entries.enumerated().map { index, entry in try entry.node(index: index) }
            } catch let error as TreeError {
                throw error.inTree(key)
            }
        }
        try self.init(promptTokens: promptTokens, trees: trees)
    }

    /// The deepest depth key.
    public var maxDepth: Int { trees.keys.max() ?? 0 }

    /// The tree to use when `depth` distances have guesses: a static tree cut to `depth`; for a
    /// dynamic tree the tree of key `depth`, or, if that key is absent, of the largest key below it
    /// (its paths are no deeper than that key). Nil when no key is at most `depth`.
    public func tree(forDepth depth: Int) -> TokenTree? {
        if isStatic { return trees.values.first?.truncated(toDepth: depth) }
        guard let key = trees.keys.filter({ $0 <= depth }).max() else { return nil }
        return trees[key]
    }

    /// The tree as JSON in the file format it came in: a dynamic tree as the `ppd-tree/1` object
    /// (keys in numeric order, nodes in their given order, one node per line), a static tree as a
    /// list of paths. Weights are written in Swift's shortest round-trip form, so reading the data
    /// back gives an equal value.
    public func jsonData() -> Data {
        func path(_ p: [Int]) -> String { "[" + p.map(String.init).joined(separator: ", ") + "]" }
        var text: String
        if isStatic {
            let nodes = trees.values.first?.nodes ?? []
            text = "[" + nodes.map { path($0.path) }.joined(separator: ", ") + "]\n"
        } else {
            text = "{\n  \"format\": \"\(DynamicTree.format)\",\n  \"prompt_tokens\": \(promptTokens),\n  \"trees\": {"
            let keys = trees.keys.sorted()
            for (k, key) in keys.enumerated() {
                let nodes = trees[key]?.nodes ?? []
                text += "\n    \"\(key)\": ["
                for (i, node) in nodes.enumerated() {
                    text += "\n      [\(path(node.path)), \(node.weight), \(node.promptTokens)]"
                    text += i + 1 < nodes.count ? "," : "\n    "
                }
                text += "]" + (k + 1 < keys.count ? "," : "\n  ")
            }
            text += "}\n}\n"
        }
        return Data(text.utf8)
    }
}

extension JSONValue {
    /// This value as an integer (a JSON number with no fractional part).
    func integer(what: String) throws -> Int {
        guard let value = integerValue, abs(value) < 1_000_000_000_000_000 else {
            throw TreeError(.malformedJSON(reason: "\(what) must be an integer"))
        }
        return Int(value)
    }

    /// This value as a number.
    func number(what: String) throws -> Double {
        guard let value = doubleValue else { throw TreeError(.malformedJSON(reason: "\(what) must be a number")) }
        return value
    }

    /// This value as a list of integer ranks.
    func path(what: String) throws -> [Int] {
        guard case .array(let list) = self else { throw TreeError(.malformedJSON(reason: "\(what) must be a list of ranks")) }
        return try list.map { try $0.integer(what: "a rank in \(what)") }
    }

    /// This value as a `[path, weight, n]` triple.
    func node(index: Int) throws -> TokenTree.Node {
        let what = "node \(index)"
        guard case .array(let triple) = self, triple.count == 3 else {
            throw TreeError(.malformedJSON(reason: "\(what) must be [path, weight, n]"))
        }
        return TokenTree.Node(
            try triple[0].path(what: "the path of \(what)"),
            weight: try triple[1].number(what: "the weight of \(what)"),
            promptTokens: try triple[2].integer(what: "the prompt-token count of \(what)"))
    }
}
