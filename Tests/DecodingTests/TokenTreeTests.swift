import Decoding
import Foundation
import Models
import XCTest

final class TokenTreeTests: XCTestCase {
    typealias Node = TokenTree.Node

    /// Root + [0] (n 2), [1] (n 1), [0, 0] (n 0), N = 2, top-k 2. Extended paths in layout order:
    /// 0 root, 1 [-1], 2 [0], 3 [1], 4 [-1,-2], 5 [0,-1], 6 [0,0], 7 [1,-1], 8 [0,-1,-2]
    /// (and, under the paper's rule, 9 [0,0,-1]).
    func smallTree() throws -> TokenTree {
        try TokenTree(
            nodes: [
                Node([0, 0], weight: 0.3, promptTokens: 0), Node([1], weight: 0.2, promptTokens: 1),
                Node([0], weight: 0.5, promptTokens: 2),
            ],
            promptTokens: 2)
    }

    func testSmallTreeByHandExactRule() throws {
        let buffers = try TreeBuffers(tree: smallTree(), topK: 2, promptTokens: 2)
        XCTAssertEqual(buffers.count, 9)
        XCTAssertEqual(buffers.nodes.map(\.path), [[0], [1], [0, 0]])
        XCTAssertEqual(buffers.positions, [0, 1, 1, 1, 2, 2, 2, 2, 3])
        XCTAssertEqual(buffers.parents, [nil, 0, 0, 0, 1, 2, 2, 3, 5])
        XCTAssertEqual(
            buffers.source,
            [
                .root, .promptToken(index: 0), .guess(distance: 1, rank: 0), .guess(distance: 1, rank: 1),
                .promptToken(index: 1), .promptToken(index: 0), .guess(distance: 2, rank: 0), .promptToken(index: 0),
                .promptToken(index: 1),
            ])
        XCTAssertEqual(buffers.nodeIndex, [0, 2, 3, 6])
        XCTAssertEqual(buffers.promptSlots, [[1, 4], [5, 8], [7], []])
        XCTAssertEqual(buffers.retrievePaths, [[0, 2, 6], [0, 3]])
        let tokens = try buffers.tokens(root: 100, guesses: [[10, 11], [20, 21]])
        XCTAssertEqual(tokens, [100, nil, 10, 11, nil, nil, 20, nil, nil])
    }

    /// A chain [0] (n 3), [0, 0] (n 2), [0, 0, 0] (n 1) and a side node [1] (n 0), N = 3. Layout:
    /// 0 root, 1 [-1], 2 [0], 3 [1], 4 [-1,-2], 5 [0,-1], 6 [0,0], 7 [-1,-2,-3], 8 [0,-1,-2],
    /// 9 [0,0,-1], 10 [0,0,0], 11 [0,-1,-2,-3], 12 [0,0,-1,-2], 13 [0,0,0,-1].
    func testDeepChainByHand() throws {
        let tree = try TokenTree(
            nodes: [
                Node([0], promptTokens: 3), Node([0, 0], promptTokens: 2), Node([0, 0, 0], promptTokens: 1),
                Node([1], promptTokens: 0),
            ],
            promptTokens: 3)
        let buffers = try TreeBuffers(tree: tree, topK: 3, promptTokens: 3)
        XCTAssertEqual(buffers.count, 14)
        XCTAssertEqual(buffers.positions, [0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4])
        XCTAssertEqual(buffers.parents, [nil, 0, 0, 0, 1, 2, 2, 4, 5, 6, 6, 8, 9, 10])
        XCTAssertEqual(buffers.nodeIndex, [0, 2, 3, 6, 10])
        XCTAssertEqual(buffers.promptSlots, [[1, 4, 7], [5, 8, 11], [], [9, 12], [13]])
        XCTAssertEqual(buffers.retrievePaths, [[0, 2, 6, 10], [0, 3]])
        XCTAssertEqual(buffers.source[11], .promptToken(index: 2))
        XCTAssertEqual(buffers.source[10], .guess(distance: 3, rank: 0))
        let tokens = try buffers.tokens(root: 100, guesses: [[10, 11, 12], [20, 21, 22], [30, 31, 32]])
        XCTAssertEqual(tokens, [100, nil, 10, 11, nil, nil, 20, nil, nil, nil, 30, nil, nil, nil])
        checkInvariants(buffers)
    }

    func testSmallTreeByHandPaperRule() throws {
        // The paper's generate_buffers hangs prompt slot 1 under every node, also [0, 0] with n = 0.
        // These arrays are what generate_buffers itself returns for this tree (run with numpy for torch).
        let buffers = try TreeBuffers(tree: smallTree(), topK: 2, promptTokens: 2, rule: .atLeastOne)
        XCTAssertEqual(buffers.count, 10)
        XCTAssertEqual(buffers.positions, [0, 1, 1, 1, 2, 2, 2, 2, 3, 3])
        XCTAssertEqual(buffers.parents, [nil, 0, 0, 0, 1, 2, 2, 3, 5, 6])
        XCTAssertEqual(buffers.source[9], .promptToken(index: 0))
        XCTAssertEqual(buffers.nodeIndex, [0, 2, 3, 6])
        XCTAssertEqual(buffers.promptSlots, [[1, 4], [5, 8], [7], [9]])
        XCTAssertEqual(buffers.retrievePaths, [[0, 2, 6], [0, 3]])
    }

    func testAttentionMaskSeesRootAncestorsAndSelf() throws {
        let buffers = try TreeBuffers(tree: smallTree(), topK: 2, promptTokens: 2)
        let mask = try buffers.attentionMask
        XCTAssertEqual(mask.batchSize, 9)
        // Slot 8 ([0,-1,-2]) sees 0 root, 2 [0], 5 [0,-1] and itself, nothing else.
        XCTAssertEqual((0..<9).filter { mask.sees(8, $0) }, [0, 2, 5, 8])
        // Slot 6 ([0,0]) sees root, [0], itself; not the prompt slot 5 under [0].
        XCTAssertEqual((0..<9).filter { mask.sees(6, $0) }, [0, 2, 6])
        XCTAssertEqual((0..<9).filter { mask.sees(0, $0) }, [0])
    }

    func testEmptyTreeIsRootAndChain() throws {
        let buffers = try TreeBuffers(tree: TokenTree(nodes: [], promptTokens: 3), topK: 10, promptTokens: 3)
        XCTAssertEqual(buffers.count, 4)
        XCTAssertEqual(buffers.positions, [0, 1, 2, 3])
        XCTAssertEqual(buffers.parents, [nil, 0, 1, 2])
        XCTAssertEqual(buffers.promptSlots, [[1, 2, 3]])
        XCTAssertEqual(buffers.nodeIndex, [0])
        XCTAssertEqual(buffers.retrievePaths, [[0]])
    }

    /// Invariants that hold for any layout.
    func checkInvariants(_ buffers: TreeBuffers, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(buffers.positions.count, buffers.count, file: file, line: line)
        XCTAssertEqual(buffers.parents.count, buffers.count, file: file, line: line)
        XCTAssertEqual(buffers.source.count, buffers.count, file: file, line: line)
        XCTAssertEqual(buffers.parents[0], nil, file: file, line: line)
        XCTAssertEqual(buffers.source[0], .root, file: file, line: line)
        XCTAssertEqual(buffers.positions[0], 0, file: file, line: line)
        // Rebuild each slot's extended path from its source and parent chain.
        var extended: [[Int]] = [[]]
        for i in 1..<buffers.count {
            guard let parent = buffers.parents[i] else {
                XCTFail("slot \(i) has no parent", file: file, line: line)
                return
            }
            XCTAssertLessThan(parent, i, "parent comes earlier", file: file, line: line)
            let last: Int
            switch buffers.source[i] {
            case .root:
                XCTFail("root source at slot \(i)", file: file, line: line)
                return
            case .guess(let distance, let rank):
                last = rank
                XCTAssertEqual(distance, buffers.positions[i], file: file, line: line)
                XCTAssertTrue(extended[parent].allSatisfy { $0 >= 0 }, "a guess hangs under a guess", file: file, line: line)
            case .promptToken(let index):
                last = -(index + 1)
                // Prompt token 0 hangs under a node (or the root); prompt token k under prompt token k - 1.
                let parentLast = extended[parent].last ?? 0
                XCTAssertEqual(parentLast < 0 ? parentLast - 1 : -1, last, file: file, line: line)
            }
            let path = extended[parent] + [last]
            XCTAssertEqual(Array(path.dropLast()), extended[parent], "parent is a proper prefix", file: file, line: line)
            XCTAssertEqual(buffers.positions[i], path.count, "position = depth", file: file, line: line)
            extended.append(path)
        }
        XCTAssertEqual(Set(extended).count, extended.count, "extended paths are distinct", file: file, line: line)
        // Layout order: by (length, path).
        for i in 2..<max(buffers.count, 2) {
            let a = extended[i - 1], b = extended[i]
            XCTAssertTrue(a.count < b.count || (a.count == b.count && a.lexicographicallyPrecedes(b)), file: file, line: line)
        }
        // Node slots and their chains.
        XCTAssertEqual(buffers.nodeIndex.count, buffers.nodes.count + 1, file: file, line: line)
        XCTAssertEqual(buffers.nodeIndex[0], 0, file: file, line: line)
        for (i, node) in buffers.nodes.enumerated() {
            XCTAssertEqual(extended[buffers.nodeIndex[i + 1]], node.path, file: file, line: line)
            XCTAssertEqual(buffers.promptSlots[i + 1].count, buffers.rule.slots(for: node.promptTokens), file: file, line: line)
        }
        XCTAssertEqual(buffers.promptSlots[0].count, buffers.promptTokens, file: file, line: line)
        for (i, chain) in buffers.promptSlots.enumerated() {
            var previous = buffers.nodeIndex[i]
            for (k, slot) in chain.enumerated() {
                XCTAssertEqual(buffers.parents[slot], previous, file: file, line: line)
                XCTAssertEqual(buffers.source[slot], .promptToken(index: k), file: file, line: line)
                previous = slot
            }
        }
        // Every candidate node lies on some retrieve path; each path walks parent links from the root.
        let onPaths = Set(buffers.retrievePaths.flatMap { $0 })
        for slot in buffers.nodeIndex {
            XCTAssertTrue(onPaths.contains(slot), "node slot \(slot) retrievable", file: file, line: line)
        }
        for path in buffers.retrievePaths {
            XCTAssertEqual(path.first, 0, file: file, line: line)
            for j in 1..<max(path.count, 1) { XCTAssertEqual(buffers.parents[path[j]], path[j - 1], file: file, line: line) }
            if let leaf = path.last, leaf != 0 {
                XCTAssertFalse(
                    buffers.parents.enumerated().contains {
                        $0.element == leaf && buffers.source[$0.offset] != .promptToken(index: 0)
                    },
                    "retrieve path ends at a leaf", file: file, line: line)
            }
        }
    }

    func testInvariantsOnSmallAndRealTrees() throws {
        for rule in [TreeBuffers.PromptSlotRule.exact, .atLeastOne] {
            checkInvariants(try TreeBuffers(tree: smallTree(), topK: 2, promptTokens: 2, rule: rule))
            checkInvariants(try TreeBuffers(tree: TokenTree(nodes: [], promptTokens: 3), topK: 10, promptTokens: 3, rule: rule))
            for text in [Self.paperTree60, Self.paperTree105] {
                let dynamic = try DynamicTree(jsonData: Data(text.utf8))
                for (_, tree) in dynamic.trees {
                    checkInvariants(try TreeBuffers(tree: tree, topK: 10, promptTokens: 3, rule: rule))
                }
            }
        }
    }

    // MARK: - The paper's trees

    func testPaperTreesLoad() throws {
        let tree = try DynamicTree(jsonData: Data(Self.paperTree105.utf8))
        XCTAssertEqual(tree.promptTokens, 3)
        XCTAssertFalse(tree.isStatic)
        XCTAssertEqual(tree.trees.mapValues(\.nodes.count), [1: 10, 2: 33, 3: 34])
        XCTAssertEqual(tree.trees.mapValues(\.depth), [1: 1, 2: 2, 3: 3])
        XCTAssertEqual(tree.trees[1]?.nodes.first, Node([0], weight: 0.48335, promptTokens: 3))
        XCTAssertEqual(tree.maxDepth, 3)
    }

    /// The file in ../shared, when present, holds the same trees as the copies embedded here.
    func testEmbeddedTreesMatchSharedReference() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/reference/ppd-trees/vicuna-7b-testvector.json")
        guard let data = try? Data(contentsOf: url) else { throw XCTSkip("no shared reference at \(url.path)") }
        // JSONDecoder reads numbers exactly (JSONSerialization on Linux does not).
        struct Triple: Decodable {
            let node: TokenTree.Node
            init(from decoder: Decoder) throws {
                var triple = try decoder.unkeyedContainer()
                node = Node(
                    try triple.decode([Int].self), weight: try triple.decode(Double.self),
                    promptTokens: try triple.decode(Int.self))
            }
        }
        struct File: Decodable {
            let format: String
            let prompt_tokens: Int
            let trees: [String: [Triple]]
        }
        struct Vector: Decodable { let trees: [String: File] }
        let vector = try JSONDecoder().decode(Vector.self, from: data)
        for (key, embedded) in [("60", Self.paperTree60), ("105", Self.paperTree105)] {
            let file = try XCTUnwrap(vector.trees[key])
            XCTAssertEqual(file.format, DynamicTree.format)
            var trees: [Int: [Node]] = [:]
            for (depth, triples) in file.trees { trees[try XCTUnwrap(Int(depth))] = triples.map(\.node) }
            let reference = try DynamicTree(promptTokens: file.prompt_tokens, trees: trees)
            XCTAssertEqual(reference, try DynamicTree(jsonData: Data(embedded.utf8)), key)
        }
    }

    /// Our layout of the paper's trees equals the buffers of the paper's own `generate_buffers`
    /// (run on these trees with N = 3, TOPK = 10; see `paperBuffers`).
    func testPaperTreesMatchPaperBuffers() throws {
        let golden = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(Self.paperBuffers.utf8)) as? [String: [String: [String: Any]]])
        for (size, text) in [("60", Self.paperTree60), ("105", Self.paperTree105)] {
            let dynamic = try DynamicTree(jsonData: Data(text.utf8))
            for (key, tree) in dynamic.trees {
                let expected = try XCTUnwrap(golden[size]?[String(key)])
                for rule in [TreeBuffers.PromptSlotRule.exact, .atLeastOne] {  // same here: the paper's n is never 0
                    let buffers = try TreeBuffers(tree: tree, topK: 10, promptTokens: 3, rule: rule)
                    let context = "tree \(size) depth \(key) rule \(rule)"
                    XCTAssertEqual(buffers.count, expected["count"] as? Int, context)
                    XCTAssertEqual(buffers.positions, expected["positions"] as? [Int], context)
                    XCTAssertEqual(buffers.parents.map { $0 ?? -1 }, expected["parents"] as? [Int], context)
                    XCTAssertEqual(buffers.nodeIndex, expected["nodeIndex"] as? [Int], context)
                    XCTAssertEqual(buffers.promptSlots, expected["promptSlots"] as? [[Int]], context)
                    XCTAssertEqual(buffers.retrievePaths, expected["retrievePaths"] as? [[Int]], context)
                    // The paper's tree_indices: 0 root, TOPK * (distance - 1) + rank + 1 for a guess,
                    // and -(N - index) (counted from the end of the prompt tokens) for a prompt token.
                    let treeIndices = buffers.source.map { source -> Int in
                        switch source {
                        case .root: return 0
                        case .guess(let distance, let rank): return 10 * (distance - 1) + rank + 1
                        case .promptToken(let index): return -(3 - index)
                        }
                    }
                    XCTAssertEqual(treeIndices, expected["treeIndices"] as? [Int], context)
                }
            }
        }
    }

    // MARK: - JSON

    func testDynamicTreeRoundTrip() throws {
        for text in [Self.paperTree60, Self.paperTree105, Self.smallDynamic] {
            let tree = try DynamicTree(jsonData: Data(text.utf8))
            let data = tree.jsonData()
            XCTAssertEqual(try DynamicTree(jsonData: data), tree)
            XCTAssertEqual(tree.jsonData(), data)
            // The output is ordinary JSON with the three fields.
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertEqual(Set(object.keys), ["format", "prompt_tokens", "trees"])
        }
        let small = try DynamicTree(jsonData: Data(Self.smallDynamic.utf8))
        XCTAssertEqual(
            small.trees[2]?.nodes,
            [
                Node([0], weight: 0.5, promptTokens: 2), Node([1], weight: 0.2, promptTokens: 1),
                Node([0, 0], weight: 0.3, promptTokens: 0),
            ])
        XCTAssertEqual(small.trees[1]?.nodes, [Node([0], weight: 1e-05, promptTokens: 1)])
    }

    func testFileRoundTripAndBuiltTree() throws {
        let tree = try DynamicTree(
            promptTokens: 2, trees: [1: [Node([0], weight: 0.25, promptTokens: 2)], 2: try smallTree().nodes])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("token-tree-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try tree.jsonData().write(to: url)
        XCTAssertEqual(try DynamicTree(contentsOf: url), tree)
    }

    func testStaticTree() throws {
        let tree = try DynamicTree(jsonData: Data("[[0], [1], [0, 0], [0, 1], [0, 0, 0]]".utf8))
        XCTAssertTrue(tree.isStatic)
        XCTAssertEqual(tree.promptTokens, 3)
        let full = try XCTUnwrap(tree.tree(forDepth: 3))
        XCTAssertEqual(full.nodes.map(\.path), [[0], [1], [0, 0], [0, 1], [0, 0, 0]])
        XCTAssertTrue(full.nodes.allSatisfy { $0.weight == 1 && $0.promptTokens == 3 })
        XCTAssertEqual(tree.tree(forDepth: 5), full)
        XCTAssertEqual(tree.tree(forDepth: 1)?.nodes.map(\.path), [[0], [1]])
        XCTAssertEqual(tree.tree(forDepth: 0)?.nodes, [])
        XCTAssertEqual(try DynamicTree(jsonData: tree.jsonData()), tree)
        // Every node of a static tree carries the full chain, so any accepted node gives guesses
        // at every distance.
        let buffers = try TreeBuffers(tree: full, topK: 2, promptTokens: 3)
        XCTAssertEqual(buffers.count, 1 + 3 + 5 + 5 * 3)
        XCTAssertEqual(buffers.promptSlots.dropFirst().map(\.count), [3, 3, 3, 3, 3])
        XCTAssertEqual(try TreeBuffers(tree: full, topK: 2, promptTokens: 3, rule: .atLeastOne).count, 1 + 3 + 5 + 5 * 3)
        checkInvariants(buffers)
    }

    func testTreeForDepthFallsBackToLargestKeyBelow() throws {
        let tree = try DynamicTree(
            promptTokens: 3, trees: [1: [Node([0], promptTokens: 1)], 3: [Node([0]), Node([0, 0]), Node([0, 0, 0])]])
        XCTAssertEqual(tree.tree(forDepth: 1)?.nodes.count, 1)
        XCTAssertEqual(tree.tree(forDepth: 2)?.nodes.count, 1)
        XCTAssertEqual(tree.tree(forDepth: 3)?.nodes.count, 3)
        XCTAssertNil(tree.tree(forDepth: 0))
    }

    // MARK: - Malformed trees

    func assertThrows(
        _ expression: @autoclosure () throws -> some Any, _ problem: TreeError.Problem, mentions words: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? TreeError else { return XCTFail("not a TreeError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.problem, problem, file: file, line: line)
            for word in words {
                XCTAssertTrue(
                    error.description.contains(word), "\"\(error.description)\" lacks \"\(word)\"", file: file, line: line)
            }
        }
    }

    func testMalformedTreesThrow() {
        assertThrows(
            try TokenTree(nodes: [Node([0, 1])], promptTokens: 3), .missingParent(path: [0, 1], parent: [0]),
            mentions: ["missing parent", "[0, 1]", "[0]"])
        assertThrows(
            try TokenTree(nodes: [Node([0]), Node([0])], promptTokens: 3), .duplicatePath([0]), mentions: ["duplicate", "[0]"])
        assertThrows(
            try TokenTree(nodes: [Node([0]), Node([0, -1])], promptTokens: 3), .negativeRank(path: [0, -1]),
            mentions: ["negative rank", "[0, -1]"])
        assertThrows(
            try TokenTree(nodes: [Node([0]), Node([0, 4])], promptTokens: 3).validate(topK: 4),
            .rankOutOfRange(path: [0, 4], topK: 4), mentions: ["rank out of range", "[0, 4]", "4"])
        assertThrows(
            try TreeBuffers(tree: smallTree(), topK: 1, promptTokens: 2), .rankOutOfRange(path: [1], topK: 1),
            mentions: ["rank out of range"])
        assertThrows(
            try TokenTree(nodes: [Node([0]), Node([0, 0])], promptTokens: 1), .pathTooDeep(path: [0, 0], limit: 1),
            mentions: ["too deep", "[0, 0]"])
        assertThrows(
            try TreeBuffers(tree: smallTree(), topK: 2, promptTokens: 1), .pathTooDeep(path: [0, 0], limit: 1),
            mentions: ["too deep"])
        assertThrows(
            try TokenTree(nodes: [Node([0], promptTokens: -1)], promptTokens: 3),
            .promptTokenCountOutOfRange(path: [0], count: -1, limit: 3), mentions: ["prompt-token count", "-1"])
        assertThrows(
            try TokenTree(nodes: [Node([0], promptTokens: 4)], promptTokens: 3),
            .promptTokenCountOutOfRange(path: [0], count: 4, limit: 3), mentions: ["prompt-token count", "4"])
        assertThrows(try TokenTree(nodes: [Node([])], promptTokens: 3), .emptyPath, mentions: ["empty path"])
        assertThrows(
            try TokenTree(nodes: [Node([0], weight: .nan)], promptTokens: 3), .nonFiniteWeight(path: [0]), mentions: ["weight"])
        assertThrows(
            try TreeBuffers(tree: smallTree(), topK: 2, promptTokens: 2).tokens(root: 1, guesses: [[10, 11]]),
            .missingGuess(distance: 2, rank: 0), mentions: ["missing guess"])
    }

    func testMalformedJSONThrows() {
        func parse(_ text: String) throws -> DynamicTree { try DynamicTree(jsonData: Data(text.utf8), file: "bad.json") }
        let head = #""format": "ppd-tree/1", "prompt_tokens": 2"#
        assertThrows(
            try parse(#"{\#(head), "trees": {}, "extra": 1}"#), .unknownField("extra"),
            mentions: ["bad.json", "unknown field", "extra"])
        assertThrows(
            try parse(#"{"format": "ppd-tree/2", "prompt_tokens": 2, "trees": {}}"#), .wrongFormat("ppd-tree/2"),
            mentions: ["bad.json", "wrong format", "ppd-tree/2"])
        assertThrows(
            try parse(#"{"prompt_tokens": 2, "trees": {}}"#), .missingField("format"), mentions: ["missing field", "format"])
        for key in ["0", "-1", "x", "01", "1.5"] {
            assertThrows(
                try parse(#"{\#(head), "trees": {"\#(key)": []}}"#), .invalidDepthKey(key),
                mentions: ["bad.json", "invalid depth key", key])
        }
        assertThrows(
            try parse(#"{\#(head), "trees": {"1": [[[0], 1, 0], [[0, 0], 1, 0]]}}"#), .treeDeeperThanKey(key: 1, path: [0, 0]),
            mentions: ["bad.json", "tree \"1\"", "deeper", "[0, 0]"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"3": []}}"#), .depthKeyExceedsPromptTokens(key: 3, promptTokens: 2),
            mentions: ["exceeds"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"2": [[[0, 1], 1, 0]]}}"#), .missingParent(path: [0, 1], parent: [0]),
            mentions: ["bad.json", "tree \"2\"", "missing parent"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"2": [[[0], 1, 0], [[0], 1, 0]]}}"#), .duplicatePath([0]), mentions: ["duplicate"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"2": [[[-1], 1, 0]]}}"#), .negativeRank(path: [-1]), mentions: ["negative rank"])
        assertThrows(try parse(#"{\#(head), "trees": {"2": [[[], 1, 0]]}}"#), .emptyPath, mentions: ["tree \"2\"", "empty path"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"2": [[[0], 1, 3]]}}"#), .promptTokenCountOutOfRange(path: [0], count: 3, limit: 2),
            mentions: ["prompt-token count"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"2": [[[0], 1]]}}"#), .malformedJSON(reason: "node 0 must be [path, weight, n]"),
            mentions: ["malformed", "node 0"])
        assertThrows(
            try parse(#"{\#(head), "trees": {"2": [[[0], 1, 0.5]]}}"#),
            .malformedJSON(reason: "the prompt-token count of node 0 must be an integer"), mentions: ["integer"])
        assertThrows(
            try parse(#"{"format": "ppd-tree/1", "prompt_tokens": 0, "trees": {}}"#), .invalidPromptTokenCount(0),
            mentions: ["prompt-token count"])
        assertThrows(try parse("{"), .malformedJSON(reason: "not valid JSON"), mentions: ["bad.json", "malformed JSON"])
        assertThrows(
            try parse("3"), .malformedJSON(reason: "expected an object or a list of paths at the top level"),
            mentions: ["top level"])
        assertThrows(
            try parse("[[0], [0, 1], [1, 1]]"), .missingParent(path: [1, 1], parent: [1]),
            mentions: ["bad.json", "missing parent"])
        assertThrows(try parse("[[0], [0]]"), .duplicatePath([0]), mentions: ["duplicate"])
        assertThrows(try parse("[[0], []]"), .emptyPath, mentions: ["empty path"])
        let missing = URL(fileURLWithPath: "/nonexistent/tree-\(UUID().uuidString).json")
        XCTAssertThrowsError(try DynamicTree(contentsOf: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing.path), "\(error)")
        }
    }

    // MARK: - Embedded data

    /// A small dynamic tree, hand-written: weights include an exponent form.
    static let smallDynamic = #"""
        {"format": "ppd-tree/1", "prompt_tokens": 2,
         "trees": {"2": [[[0], 0.5, 2], [[1], 0.2, 1], [[0, 0], 0.3, 0]], "1": [[[0], 1e-5, 1]]}}
        """#

    /// `dynamic_sparse_trees_60` of the paper's repository (hmarkc/parallel-prompt-decoding,
    /// Apache-2.0, prompt/inference/dynamic_sparse_trees_3_vicuna_7b.py) in `ppd-tree/1` form, as
    /// stored in ../shared/reference/ppd-trees/vicuna-7b-testvector.json (`trees["60"]`).
    static let paperTree60 = #"""
        {"format":"ppd-tree/1","prompt_tokens":3,"trees":{"1":[[[0],0.48335,3],[[1],0.14342,3],[[2],0.0736,3],[[3],0.0454,3],[[4],
        0.03087,3],[[5],0.02155,3],[[6],0.01658,3],[[7],0.01323,3],[[8],0.00932,3],[[9],0.00845,3]],"2":[[[0],0.17027000000000003,
        2],[[1],0.07324,2],[[0,0],0.12691,2],[[2],0.05427,2],[[0,1],0.07038,2],[[3],0.03348,2],[[0,2],0.03922,2],[[1,0],0.03766,
        2],[[4],0.03087,2],[[0,3],0.02784,2],[[5],0.02155,2],[[1,1],0.02088,2],[[0,4],0.0207,2],[[2,0],0.01933,2],[[6],0.01658,
        2],[[0,5],0.01561,2],[[7],0.01323,2],[[0,6],0.01242,2],[[3,0],0.01192,2],[[1,2],0.01164,2]],"3":[[[0],0.17027000000000003,
        2],[[1],0.08488,2],[[0,0],0.09115999999999999,2],[[2],0.05427,2],[[0,1],0.07038,2],[[3],0.0454,2],[[0,2],0.03922,2],[[1,
        0],0.03766,2],[[4],0.03087,2],[[0,3],0.02784,2],[[5],0.02155,2],[[1,1],0.02088,2],[[0,0,0],0.02083,2],[[0,4],0.0207,2],
        [[2,0],0.01933,2],[[6],0.01658,2],[[0,5],0.01561,2],[[0,0,1],0.01492,2],[[7],0.01323,2],[[0,6],0.01242,2]]}}
        """#

    /// `dynamic_sparse_trees_105`, from the same file (`trees["105"]`).
    static let paperTree105 = #"""
        {"format":"ppd-tree/1","prompt_tokens":3,"trees":{"1":[[[0],0.48335,3],[[1],0.14342,3],[[2],0.0736,3],[[3],0.0454,3],[[4],
        0.03087,3],[[5],0.02155,3],[[6],0.01658,3],[[7],0.01323,3],[[8],0.00932,3],[[9],0.00845,3]],"2":[[[0],0.14318000000000003,
        3],[[1],0.05421000000000001,3],[[0,0],0.12691,3],[[2],0.03758,2],[[0,1],0.07038,3],[[3],0.02687,2],[[0,2],0.03922,3],[[1,
        0],0.03766,3],[[4],0.022760000000000002,2],[[0,3],0.02784,2],[[5],0.01589,2],[[1,1],0.02088,2],[[0,4],0.0207,2],[[2,0],
        0.01933,2],[[6],0.01658,2],[[0,5],0.01561,2],[[7],0.01323,2],[[0,6],0.01242,2],[[3,0],0.01192,2],[[1,2],0.01164,2],[[2,
        1],0.01072,2],[[0,7],0.0104,2],[[8],0.00932,2],[[0,8],0.0092,2],[[9],0.00845,2],[[1,3],0.00826,2],[[4,0],0.00811,2],[[0,
        9],0.00749,2],[[3,1],0.00661,2],[[1,4],0.00614,2],[[2,2],0.00597,2],[[5,0],0.00566,2],[[1,5],0.00463,2]],"3":[[[0],0.14318000000000003,
        3],[[1],0.06498,3],[[0,0],0.07354999999999999,3],[[2],0.04355,2],[[0,1],0.05056,2],[[3],0.03348,2],[[0,2],0.03922,2],[[1,
        0],0.03766,2],[[4],0.022760000000000002,2],[[0,3],0.02784,2],[[5],0.02155,2],[[1,1],0.02088,2],[[0,0,0],0.02083,2],[[0,
        4],0.0207,2],[[2,0],0.01933,2],[[6],0.01658,2],[[0,5],0.01561,2],[[0,0,1],0.01492,2],[[7],0.01323,2],[[0,6],0.01242,2],
        [[3,0],0.01192,2],[[1,2],0.01164,2],[[0,1,0],0.01155,2],[[2,1],0.01072,2],[[0,7],0.0104,2],[[0,0,2],0.01027,2],[[8],0.00932,
        2],[[0,8],0.0092,2],[[9],0.00845,2],[[0,1,1],0.00827,2],[[1,3],0.00826,2],[[4,0],0.00811,2],[[0,9],0.00749,2],[[0,0,3],
        0.00734,2]]}}
        """#

    /// The paper's `generate_buffers` (prompt/model/model.py), run on `paperTree60` and
    /// `paperTree105` with num_special_tokens = 3 and TOPK = 10 (numpy standing in for torch),
    /// per tree size and depth key: count; position_ids; each slot's parent, read from attn_mask
    /// as its deepest visible other slot (-1 for the root); tree_indices; normal_token_indices
    /// (our nodeIndex); special_token_indices (our promptSlots); retrieve_indices mapped through
    /// normal_token_indices to batch slots, padding dropped (our retrievePaths).
    static let paperBuffers = #"""
        {"60":{"1":{"count":44,"positions":[0,1,1,1,1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2,2,2,3,3,3,3,3,3,3,3,3,3,3,4,4,4,4,4,4,4,
        4,4,4],"parents":[-1,0,0,0,0,0,0,0,0,0,0,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,24,25,26,27,28,29,
        30,31,32,33],"treeIndices":[0,-3,1,2,3,4,5,6,7,8,9,10,-2,-3,-3,-3,-3,-3,-3,-3,-3,-3,-3,-1,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,
        -1,-1,-1,-1,-1,-1,-1,-1,-1,-1],"nodeIndex":[0,2,3,4,5,6,7,8,9,10,11],"promptSlots":[[1,12,23],[13,24,34],[14,25,35],[15,
        26,36],[16,27,37],[17,28,38],[18,29,39],[19,30,40],[20,31,41],[21,32,42],[22,33,43]],"retrievePaths":[[0,11],[0,10],[0,
        9],[0,8],[0,7],[0,6],[0,5],[0,4],[0,3],[0,2]]},"2":{"count":64,"positions":[0,1,1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2,2,2,
        2,2,2,2,2,2,2,2,2,2,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,4,4,4,4,4,4,4,4,4,4,4,4],"parents":[-1,0,0,0,0,0,0,0,0,0,
        1,2,2,2,2,2,2,2,2,3,3,3,3,4,4,5,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,33,34,35,36,37,
        38,39,41,42,43,45,47],"treeIndices":[0,-3,1,2,3,4,5,6,7,8,-2,-3,11,12,13,14,15,16,17,-3,11,12,13,-3,11,-3,11,-3,-3,-3,
        -3,-1,-2,-3,-3,-3,-3,-3,-3,-3,-2,-3,-3,-3,-2,-3,-2,-3,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2],"nodeIndex":[0,
        2,3,4,5,6,7,8,9,12,13,14,15,16,17,18,20,21,22,24,26],"promptSlots":[[1,10,31],[11,32],[19,40],[23,44],[25,46],[27,48],
        [28,49],[29,50],[30,51],[33,52],[34,53],[35,54],[36,55],[37,56],[38,57],[39,58],[41,59],[42,60],[43,61],[45,62],[47,63]],
        "retrievePaths":[[0,5,26],[0,4,24],[0,3,22],[0,3,21],[0,3,20],[0,2,18],[0,2,17],[0,2,16],[0,2,15],[0,2,14],[0,2,13],[0,
        2,12],[0,9],[0,8],[0,7],[0,6]]},"3":{"count":64,"positions":[0,1,1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
        3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,4,4,4,4,4,4,4,4,4,4,4,4,5,5],"parents":[-1,0,0,0,0,0,0,0,0,0,1,2,2,2,2,2,2,2,
        2,3,3,3,4,4,5,6,7,8,9,10,11,12,12,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,31,32,33,34,35,36,37,38,39,41,42,
        44,51,52],"treeIndices":[0,-3,1,2,3,4,5,6,7,8,-2,-3,11,12,13,14,15,16,17,-3,11,12,-3,11,-3,-3,-3,-3,-3,-1,-2,-3,21,22,
        -3,-3,-3,-3,-3,-3,-2,-3,-3,-2,-3,-2,-2,-2,-2,-2,-2,-3,-3,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2],"nodeIndex":[0,2,3,4,5,6,7,
        8,9,12,13,14,15,16,17,18,20,21,23,32,33],"promptSlots":[[1,10,29],[11,30],[19,40],[22,43],[24,45],[25,46],[26,47],[27,
        48],[28,49],[31,50],[34,53],[35,54],[36,55],[37,56],[38,57],[39,58],[41,59],[42,60],[44,61],[51,62],[52,63]],"retrievePaths":[[0,
        2,12,33],[0,2,12,32],[0,4,23],[0,3,21],[0,3,20],[0,2,18],[0,2,17],[0,2,16],[0,2,15],[0,2,14],[0,2,13],[0,9],[0,8],[0,7],
        [0,6],[0,5]]}},"105":{"1":{"count":44,"positions":[0,1,1,1,1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2,2,2,3,3,3,3,3,3,3,3,3,3,3,
        4,4,4,4,4,4,4,4,4,4],"parents":[-1,0,0,0,0,0,0,0,0,0,0,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,24,25,
        26,27,28,29,30,31,32,33],"treeIndices":[0,-3,1,2,3,4,5,6,7,8,9,10,-2,-3,-3,-3,-3,-3,-3,-3,-3,-3,-3,-1,-2,-2,-2,-2,-2,-2,
        -2,-2,-2,-2,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1],"nodeIndex":[0,2,3,4,5,6,7,8,9,10,11],"promptSlots":[[1,12,23],[13,24,34],[14,
        25,35],[15,26,36],[16,27,37],[17,28,38],[18,29,39],[19,30,40],[20,31,41],[21,32,42],[22,33,43]],"retrievePaths":[[0,11],
        [0,10],[0,9],[0,8],[0,7],[0,6],[0,5],[0,4],[0,3],[0,2]]},"2":{"count":109,"positions":[0,1,1,1,1,1,1,1,1,1,1,1,2,2,2,2,
        2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,
        3,3,3,3,3,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,5,5,5,5],"parents":[-1,0,0,0,0,0,0,0,0,0,0,0,1,2,2,2,2,2,2,
        2,2,2,2,2,3,3,3,3,3,3,3,4,4,4,4,5,5,5,6,6,7,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,
        33,34,35,36,37,38,39,40,41,42,43,44,45,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,66,67,68,70,71,73,75,81,82,
        83,92],"treeIndices":[0,-3,1,2,3,4,5,6,7,8,9,10,-2,-3,11,12,13,14,15,16,17,18,19,20,-3,11,12,13,14,15,16,-3,11,12,13,-3,
        11,12,-3,11,-3,11,-3,-3,-3,-3,-1,-2,-3,-3,-3,-3,-3,-3,-3,-3,-3,-3,-2,-3,-3,-3,-3,-3,-3,-2,-3,-3,-3,-2,-3,-3,-2,-3,-2,-3,
        -2,-2,-2,-2,-1,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-1,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-2,-1,-1,-1,-1],"nodeIndex":[0,2,3,
        4,5,6,7,8,9,10,11,14,15,16,17,18,19,20,21,22,23,25,26,27,28,29,30,32,33,34,36,37,39,41],"promptSlots":[[1,12,46],[13,47,
        80],[24,58,91],[31,65],[35,69],[38,72],[40,74],[42,76],[43,77],[44,78],[45,79],[48,81,105],[49,82,106],[50,83,107],[51,
        84],[52,85],[53,86],[54,87],[55,88],[56,89],[57,90],[59,92,108],[60,93],[61,94],[62,95],[63,96],[64,97],[66,98],[67,99],
        [68,100],[70,101],[71,102],[73,103],[75,104]],"retrievePaths":[[0,7,41],[0,6,39],[0,5,37],[0,5,36],[0,4,34],[0,4,33],[0,
        4,32],[0,3,30],[0,3,29],[0,3,28],[0,3,27],[0,3,26],[0,3,25],[0,2,23],[0,2,22],[0,2,21],[0,2,20],[0,2,19],[0,2,18],[0,2,
        17],[0,2,16],[0,2,15],[0,2,14],[0,11],[0,10],[0,9],[0,8]]},"3":{"count":109,"positions":[0,1,1,1,1,1,1,1,1,1,1,1,2,2,2,
        2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,
        3,3,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,5,5,5,5,5,5,5],"parents":[-1,0,0,0,0,0,0,0,0,0,0,0,1,2,2,2,2,2,
        2,2,2,2,2,2,3,3,3,3,3,4,4,4,5,5,6,6,7,8,9,10,11,12,13,14,14,14,14,14,15,15,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,
        30,31,32,33,34,35,36,37,38,39,40,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,65,66,68,70,77,78,79,
        80,81,83,84],"treeIndices":[0,-3,1,2,3,4,5,6,7,8,9,10,-2,-3,11,12,13,14,15,16,17,18,19,20,-3,11,12,13,14,-3,11,12,-3,11,
        -3,11,-3,-3,-3,-3,-3,-1,-2,-3,21,22,23,24,-3,21,22,-3,-3,-3,-3,-3,-3,-3,-3,-2,-3,-3,-3,-3,-2,-3,-3,-2,-3,-2,-3,-2,-2,-2,
        -2,-2,-1,-2,-3,-3,-3,-3,-2,-3,-3,-2,-2,-2,-2,-2,-2,-2,-2,-1,-2,-2,-2,-2,-2,-2,-2,-2,-1,-2,-2,-2,-2,-2,-2],"nodeIndex":[0,
        2,3,4,5,6,7,8,9,10,11,14,15,16,17,18,19,20,21,22,23,25,26,27,28,30,31,33,35,44,45,46,47,49,50],"promptSlots":[[1,12,41],
        [13,42,76],[24,59,93],[29,64],[32,67],[34,69],[36,71],[37,72],[38,73],[39,74],[40,75],[43,77,102],[48,82],[51,85],[52,
        86],[53,87],[54,88],[55,89],[56,90],[57,91],[58,92],[60,94],[61,95],[62,96],[63,97],[65,98],[66,99],[68,100],[70,101],
        [78,103],[79,104],[80,105],[81,106],[83,107],[84,108]],"retrievePaths":[[0,2,15,50],[0,2,15,49],[0,2,14,47],[0,2,14,46],
        [0,2,14,45],[0,2,14,44],[0,6,35],[0,5,33],[0,4,31],[0,4,30],[0,3,28],[0,3,27],[0,3,26],[0,3,25],[0,2,23],[0,2,22],[0,2,
        21],[0,2,20],[0,2,19],[0,2,18],[0,2,17],[0,2,16],[0,11],[0,10],[0,9],[0,8],[0,7]]}}}
        """#
}
