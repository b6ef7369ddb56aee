import Foundation
import XCTest

@testable import Decoding
@testable import Trees

final class TreeBuilderTests: XCTestCase {
    /// The test vector: Vicuna-7B's accuracies and the paper builder's trees for L = 60 and 105.
    private func testVector() throws -> (accuracies: GuessAccuracies, trees: [Int: DynamicTree]) {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/vicuna-7b-testvector", withExtension: "json"))
        let accuracies = try GuessAccuracies(contentsOf: url)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let trees = try XCTUnwrap(object["trees"] as? [String: Any])
        var parsed: [Int: DynamicTree] = [:]
        for (key, value) in trees {
            let data = try JSONSerialization.data(withJSONObject: value)
            parsed[try XCTUnwrap(Int(key))] = try DynamicTree(jsonData: data)
        }
        return (accuracies, parsed)
    }

    func testPaperVariantReproducesThePapersTrees() throws {
        let (accuracies, expected) = try testVector()
        XCTAssertEqual(Set(expected.keys), [60, 105])
        let builder = TreeBuilder(accuracies: accuracies, variant: .paper)
        for (limit, want) in expected.sorted(by: { $0.key < $1.key }) {
            let built = try builder.dynamicTree(inputLimit: limit)
            XCTAssertEqual(built.tree.promptTokens, 3)
            XCTAssertEqual(Set(built.tree.trees.keys), Set(want.trees.keys), "L = \(limit)")
            for (key, wantTree) in want.trees {
                let got = try XCTUnwrap(built.tree.trees[key])
                XCTAssertEqual(got.nodes.map(\.path), wantTree.nodes.map(\.path), "paths, L = \(limit), depth \(key)")
                XCTAssertEqual(got.nodes.map(\.promptTokens), wantTree.nodes.map(\.promptTokens), "n, L = \(limit), depth \(key)")
                // The test vector's accuracies were recovered from the paper's tree file to 5-6
                // digits, so the weights (differences of products rounded to 5 decimals) agree
                // to a few units of the 5th decimal; paths, counts and order agree exactly.
                for (g, w) in zip(got.nodes, wantTree.nodes) {
                    XCTAssertEqual(g.weight, w.weight, accuracy: 3e-5, "weight of \(g.path), L = \(limit), depth \(key)")
                }
                XCTAssertLessThanOrEqual(built.inputLengths[key - 1], limit)
            }
        }
        XCTAssertEqual(try builder.dynamicTree(inputLimit: 105).nodeCounts, [10, 33, 34])
    }

    func testPaperVariantFailsWhereThePapersBuilderFails() throws {
        let (accuracies, _) = try testVector()
        let builder = TreeBuilder(accuracies: accuracies, variant: .paper)
        // With 10 depth-1 nodes fixed, 10 nodes + 10 prompt tokens need L >= 20... and below that
        // the paper's scan runs into a node with 0 prompt tokens.
        XCTAssertThrowsError(try builder.dynamicTree(inputLimit: 12)) { error in
            XCTAssertEqual((error as? TreeBuilderError)?.problem, .paperBuilderFails(inputLimit: 12))
        }
        XCTAssertThrowsError(try builder.dynamicTree(inputLimit: 1))
    }

    func testCorrectedTreesFitTheirLimitAtEverySize() throws {
        let (accuracies, _) = try testVector()
        let builder = TreeBuilder(accuracies: accuracies)
        var previous = 1.0
        for limit in [2, 3, 5, 8, 13, 21, 34, 60] {
            let built = try builder.dynamicTree(inputLimit: limit)
            for (d, tree) in built.tree.trees {
                let length = tree.nodes.reduce(0) { $0 + 1 + $1.promptTokens }
                XCTAssertLessThanOrEqual(length, limit, "L = \(limit), depth \(d)")
                XCTAssertTrue(tree.nodes.allSatisfy { $0.path.count <= d })
            }
            XCTAssertEqual(built.depthShares.reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertGreaterThan(built.expectedTokensPerStep, previous - 1e-9, "L = \(limit)")
            previous = built.expectedTokensPerStep
        }
        // The smallest tree: one node with one prompt token, accepted with the top-1 accuracy.
        let smallest = try builder.dynamicTree(inputLimit: 2)
        XCTAssertEqual(smallest.tree.trees[1]?.nodes.map(\.path), [[0]])
    }

    /// The depth chain's prediction equals a simulation of the acceptance it models: at each step
    /// the model's greedy token has rank r_j among distance j's guesses with probability
    /// accuracies[j][r_j] (independently), the longest tree path matching (r_1, r_2, ...) is
    /// accepted, and its last node's prompt-token count is the next step's depth.
    func testExpectedTokensPerStepMatchesASimulation() throws {
        let (accuracies, _) = try testVector()
        for variant in TreeBuilder.Variant.allCases {
            let built = try TreeBuilder(accuracies: accuracies, variant: variant).dynamicTree(inputLimit: 60)
            var random = RandomSource(seed: 7)
            var depth = 3
            var tokens = 0
            let steps = 200_000
            for _ in 0..<steps {
                var accepted: [Int] = []
                var nextDepth = 3
                if depth > 0, let tree = built.tree.tree(forDepth: depth) {
                    let counts = Dictionary(uniqueKeysWithValues: tree.nodes.map { ($0.path, $0.promptTokens) })
                    for j in 0..<depth {
                        var u = random.nextUnit()
                        var rank = -1
                        for (k, p) in accuracies.perRank[j].enumerated() {
                            if u < p { rank = k; break }
                            u -= p
                        }
                        guard rank >= 0, let n = counts[accepted + [rank]] else { break }
                        accepted.append(rank)
                        nextDepth = n
                    }
                }
                tokens += 1 + accepted.count
                depth = nextDepth
            }
            XCTAssertEqual(Double(tokens) / Double(steps), built.expectedTokensPerStep, accuracy: 0.01, "\(variant)")
        }
    }

    /// Fig. 8a's naive tree: L/(N+1) best paths per depth key, all N prompt tokens on every node,
    /// a choice the corrected search also weighs, so the pruned tree never predicts less.
    func testNaiveTreesCarryEveryPromptTokenAndNeverBeatThePrunedTree() throws {
        let (accuracies, _) = try testVector()
        let builder = TreeBuilder(accuracies: accuracies)
        let n = builder.promptTokens
        for limit in [n + 1, 8, 13, 21, 34, 60] {
            let naive = try builder.naiveTree(inputLimit: limit)
            for d in 1...n {
                let nodes = try XCTUnwrap(naive.tree.trees[d]).nodes
                XCTAssertEqual(nodes.map(\.path), builder.rankedPaths(maxDepth: d, limit: limit / (n + 1)).map(\.path), "L = \(limit)")
                XCTAssertTrue(nodes.allSatisfy { $0.promptTokens == n })
                XCTAssertLessThanOrEqual(nodes.count * (n + 1), limit)
            }
            XCTAssertEqual(naive.depthShares.reduce(0, +), 1, accuracy: 1e-12)
            let pruned = try builder.dynamicTree(inputLimit: limit)
            XCTAssertGreaterThanOrEqual(pruned.expectedTokensPerStep, naive.expectedTokensPerStep - 1e-12, "L = \(limit)")
        }
        // Every node keeps all N prompt tokens, so every step runs at depth N: tau is 1 + the
        // depth-N tree's path probabilities.
        let naive = try builder.naiveTree(inputLimit: 60)
        XCTAssertEqual(naive.depthShares[n], 1, accuracy: 1e-12)
        let paths = builder.rankedPaths(maxDepth: n, limit: 60 / (n + 1))
        XCTAssertEqual(naive.expectedTokensPerStep, 1 + paths.reduce(0) { $0 + $1.probability }, accuracy: 1e-12)
        XCTAssertThrowsError(try builder.naiveTree(inputLimit: n)) { XCTAssertTrue("\($0)".contains("at least \(n + 1)"), "\($0)") }
    }

    func testStaticTreeTakesTheMostProbablePaths() throws {
        let accuracies = try GuessAccuracies(perRank: [[0.5, 0.25, 0.1], [0.4, 0.3, 0.1]])
        let builder = TreeBuilder(accuracies: accuracies)
        // Path probabilities: [0] .5, [1] .25, [0,0] .2, [0,1] .15, [1,0] .1, [2] .1, ...
        let tree = try builder.staticTree(nodes: 4)
        XCTAssertTrue(tree.isStatic)
        XCTAssertEqual(tree.trees.values.first?.nodes.map(\.path), [[0], [1], [0, 0], [0, 1]])
        XCTAssertEqual(builder.expectedTokensPerStep(staticNodes: 4), 1 + 0.5 + 0.25 + 0.2 + 0.15, accuracy: 1e-12)
        // Ties keep the depth-first order: [0, 0] (.2) before [1] (.2) when both score the same.
        let tied = TreeBuilder(accuracies: try GuessAccuracies(perRank: [[0.5, 0.2], [0.4, 0.3]]))
        XCTAssertEqual(tied.rankedPaths(maxDepth: 2, limit: 3).map(\.path), [[0], [0, 0], [1]])
    }

    func testDepthChainStationaryDistribution() {
        // 0 -> 2; 1 -> 1 (0.5) or 2 (0.5); 2 -> 0 (0.2), 1 (0.3), 2 (0.5).
        let chain = DepthChain(transitions: [[0, 0, 1], [0, 0.5, 0.5], [0.2, 0.3, 0.5]])
        let pi = chain.stationary()
        // Balance: pi0 = 0.2 pi2; pi1 = 0.5 pi1 + 0.3 pi2 -> pi1 = 0.6 pi2; sum = 1.8 pi2.
        XCTAssertEqual(pi[2], 1 / 1.8, accuracy: 1e-12)
        XCTAssertEqual(pi[0], 0.2 / 1.8, accuracy: 1e-12)
        XCTAssertEqual(pi[1], 0.6 / 1.8, accuracy: 1e-12)
    }

    func testAccuracyTableErrorsNameTheProblem() throws {
        XCTAssertThrowsError(try GuessAccuracies(perRank: [[0.6, 0.7]])) { error in
            XCTAssertTrue("\(error)".contains("not cumulative"), "\(error)")
        }
        XCTAssertThrowsError(try GuessAccuracies(perRank: [[0.1, 0.2], [0.1]]))
        XCTAssertThrowsError(try GuessAccuracies(perRank: []))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("no-accuracies-\(UUID()).json")
        try Data(#"{"format": "x"}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try GuessAccuracies(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
        // A rank that was never right is written as the integer 0: read as 0.0.
        try Data(#"{"accuracies": [[0.5, 0, 0.25], [0.25, 0.125, 0]]}"#.utf8).write(to: url)
        XCTAssertEqual(try GuessAccuracies(contentsOf: url).perRank, [[0.5, 0, 0.25], [0.25, 0.125, 0]])
        try Data(#"{"accuracies": [[0.5, "x"]]}"#.utf8).write(to: url)
        XCTAssertThrowsError(try GuessAccuracies(contentsOf: url)) { XCTAssertTrue("\($0)".contains("not a number"), "\($0)") }
    }
}

final class RandomTreeTests: XCTestCase {
    func testRandomTreesAreValidFitTheirLimitAndRepeatForASeed() throws {
        for limit in [2, 5, 12, 40] {
            var a = RandomSource(seed: 3), b = RandomSource(seed: 3)
            let tree = try DynamicTree.random(promptTokens: 3, inputLimit: limit, using: &a)
            XCTAssertEqual(tree, try DynamicTree.random(promptTokens: 3, inputLimit: limit, using: &b))
            for (depth, t) in tree.trees {
                XCTAssertLessThanOrEqual(t.nodes.reduce(0) { $0 + 1 + $1.promptTokens }, limit)
                // Small limits are filled (up to one slot that a node would not fit in); large ones
                // may run out of distinct depth-1 paths (10 ranks).
                if limit <= 12 { XCTAssertGreaterThanOrEqual(t.nodes.reduce(0) { $0 + 1 + $1.promptTokens }, limit - 1) }
                XCTAssertTrue(t.nodes.allSatisfy { $0.path.count <= depth && $0.promptTokens >= 1 })
            }
        }
    }
}
