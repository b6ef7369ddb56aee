@testable import Decoding
@testable import Trees
import Foundation
import Models
import TestSupport
import XCTest

/// Drafters and the merged candidate tree: prompt-lookup drafts checked by hand, the merge's
/// de-duplication, rows, positions and mask, and greedy decoding with drafts equal to plain
/// greedy decoding on tiny models.
final class DrafterTests: XCTestCase {
    typealias Node = TokenTree.Node

    func testPromptLookupFindsTheMostRecentLongestMatch() throws {
        let drafter = try PromptLookupDrafter(ngramSizes: 1...3, draftLength: 4)
        // "7 8 9" occurs at 1..3 (followed by 1 2) and at 6..8 (followed by 5); the tail is 7 8 9.
        let tokens: [Int32] = [0, 7, 8, 9, 1, 2, 7, 8, 9, 5, 6, 7, 8, 9]
        XCTAssertEqual(drafter.draft(after: tokens, limit: 10), [[5, 6, 7, 8]], "the most recent 3-gram match")
        XCTAssertEqual(drafter.draft(after: tokens, limit: 2), [[5, 6]], "the limit cuts the draft")
        // Only a 1-gram match: the tail 4 occurs once before, followed by 3.
        XCTAssertEqual(drafter.draft(after: [1, 4, 3, 2, 4], limit: 8), [[3, 2, 4]])
        // No match at all, and a sequence too short to match.
        XCTAssertEqual(drafter.draft(after: [1, 2, 3, 4], limit: 8), [])
        XCTAssertEqual(drafter.draft(after: [1], limit: 8), [])
        // A run of one token repeats itself (the continuation may reach the tail).
        XCTAssertEqual(drafter.draft(after: [3, 3, 3], limit: 8), [[3]])
        let bigrams = try PromptLookupDrafter(ngramSizes: 2...2, draftLength: 3)
        XCTAssertEqual(bigrams.draft(after: [1, 4, 3, 2, 4], limit: 8), [], "no 2-gram match; 1-grams are not tried")
    }

    func testPromptLookupBranchesHaveDistinctFirstTokensAndShareTheLimit() throws {
        let drafter = try PromptLookupDrafter(ngramSizes: 1...2, draftLength: 3, branches: 3)
        // The tail 5 6 follows... 5 6 at 0 (then 1), at 3 (then 1 again: same first token, skipped),
        // and at 6 (then 2); 1-grams of 6 add nothing new beyond the first tokens seen.
        let tokens: [Int32] = [5, 6, 1, 5, 6, 1, 5, 6, 2, 9, 5, 6]
        XCTAssertEqual(drafter.draft(after: tokens, limit: 9), [[2, 9, 5], [1, 5, 6]])
        XCTAssertEqual(drafter.draft(after: tokens, limit: 4), [[2, 9, 5], [1]], "the second draft gets what is left")
        XCTAssertThrowsError(try PromptLookupDrafter(ngramSizes: 0...2)) { XCTAssertTrue("\($0)".contains("at least 1"), "\($0)") }
        XCTAssertThrowsError(try PromptLookupDrafter(draftLength: 0))
    }

    /// A tree over distance 1 (ranks 0, 1) and 2 ([0, 0]) with one prompt token per node; drafts
    /// that agree with its guesses follow them, the rest become appended rows.
    func testMergeFollowsMatchingGuessesAndAppendsTheRest() throws {
        let tree = try TokenTree(nodes: [Node([0], promptTokens: 1), Node([1], promptTokens: 1), Node([0, 0])], promptTokens: 2)
        let buffers = try TreeBuffers(tree: tree, topK: 2, promptTokens: 2)
        let layout = try VerificationLayout(buffers: buffers, virtualTokens: 1, attention: .ensemble)
        // Guesses: distance 1 ranks 0, 1 = tokens 10, 11; distance 2 rank 0 = token 20.
        let candidates = try CandidateTree(buffers: buffers, root: 1, guesses: [[10, 11], [20, 21]])
        XCTAssertEqual(candidates.tokens, [1, 10, 11, 20])
        let merge = try DraftMerge(layout: layout, candidates: candidates, drafts: [[10, 20, 30, 31], [12]], rowLimit: 8)
        // 10 and 20 are already the tree's nodes 1 and 3; 30, 31 hang under node 3; 12 under the root.
        XCTAssertEqual(merge.candidates.tokens, [1, 10, 11, 20, 30, 31, 12])
        XCTAssertEqual(merge.candidates.parents, [nil, 0, 0, 1, 3, 4, 0])
        XCTAssertEqual(merge.candidates.children[0], [1, 2, 6], "drafted children come after the ranked guesses")
        XCTAssertEqual(merge.layoutNodes, 4)
        XCTAssertEqual(merge.draftTokens, [30, 31, 12])
        XCTAssertEqual(merge.draftPositions, [3, 4, 1])
        let n = layout.count
        XCTAssertEqual(merge.nodeRows.suffix(3), [n, n + 1, n + 2])
        XCTAssertEqual(Array(merge.nodeRows.prefix(4)), buffers.nodeIndex.map { layout.slotRows[$0][0] })
        // The mask: the layout's rows unchanged and blind to the new rows; a new row sees its
        // token ancestors (root, 10, 20, and 30 for 31) and itself, and no prompt row.
        let mask = merge.mask
        XCTAssertEqual(mask.batchSize, n + 3)
        for i in 0..<n { for j in 0..<n { XCTAssertEqual(mask.sees(i, j), layout.mask.sees(i, j)) } }
        for i in 0..<n { for j in n..<n + 3 { XCTAssertFalse(mask.sees(i, j)) } }
        let rows = merge.nodeRows
        func seen(_ row: Int) -> Set<Int> { Set((0..<n + 3).filter { mask.sees(row, $0) }) }
        XCTAssertEqual(seen(n), [rows[0], rows[1], rows[3], n])
        XCTAssertEqual(seen(n + 1), [rows[0], rows[1], rows[3], n, n + 1])
        XCTAssertEqual(seen(n + 2), [rows[0], n + 2])
        // The row limit keeps the first drafted rows only.
        let limited = try DraftMerge(layout: layout, candidates: candidates, drafts: [[10, 20, 30, 31], [12]], rowLimit: 1)
        XCTAssertEqual(limited.draftTokens, [30])
        XCTAssertEqual(limited.candidates.count, 5)
        let none = try DraftMerge(layout: layout, candidates: candidates, drafts: [[10, 20]], rowLimit: 8)
        XCTAssertEqual(none.draftRows, 0)
        XCTAssertEqual(none.mask, layout.mask)
    }

    /// The prompt chain on the first draft's last new node: 2 prompt tokens x 2 virtual tokens
    /// after the drafted rows, one position below the node and each other, seeing the node's
    /// ancestors, the node, and the chain rows the attention type allows; none of the other rows
    /// sees them.
    func testTheFirstDraftsLastNodeCarriesThePromptChain() throws {
        let tree = try TokenTree(nodes: [Node([0], promptTokens: 1), Node([1], promptTokens: 1), Node([0, 0])], promptTokens: 2)
        let buffers = try TreeBuffers(tree: tree, topK: 2, promptTokens: 2)
        let layout = try VerificationLayout(buffers: buffers, virtualTokens: 1, attention: .ensemble)
        let candidates = try CandidateTree(buffers: buffers, root: 1, guesses: [[10, 11], [20, 21]])
        for attention in [PromptTokens.Attention.ensemble, .decoder, .encoder] {
            let chain = DraftMerge.PromptChain(promptTokens: 2, virtualTokens: 2, attention: attention)
            let merge = try DraftMerge(
                layout: layout, candidates: candidates, drafts: [[10, 20, 30, 31], [12]], rowLimit: 8, promptChain: chain)
            let n = layout.count
            XCTAssertEqual(merge.draftTokens, [30, 31, 12], "the chain changes no drafted row")
            XCTAssertEqual(merge.chainNode, 5, "31, the first draft's last new node")
            XCTAssertEqual(merge.chainRows, [[n + 3, n + 4], [n + 5, n + 6]])
            XCTAssertEqual(merge.chainPositions, [5, 6], "31 sits at 4")
            XCTAssertEqual(merge.appendedPositions, [3, 4, 1, 5, 5, 6, 6])
            XCTAssertEqual(
                merge.appendedRoles.suffix(4),
                [.promptToken(index: 0, virtual: 0), .promptToken(index: 0, virtual: 1),
                 .promptToken(index: 1, virtual: 0), .promptToken(index: 1, virtual: 1)])
            let mask = merge.mask
            XCTAssertEqual(mask.batchSize, n + 7)
            let rows = merge.nodeRows
            func seen(_ row: Int) -> Set<Int> { Set((0..<n + 7).filter { mask.sees(row, $0) }) }
            let node: Set<Int> = [rows[0], rows[1], rows[3], n, n + 1]
            for i in 0..<n + 3 { for j in n + 3..<n + 7 { XCTAssertFalse(mask.sees(i, j), "\(attention) \(i) sees chain row \(j)") } }
            switch attention {
            case .ensemble:
                XCTAssertEqual(seen(n + 3), node.union([n + 3]))
                XCTAssertEqual(seen(n + 4), node.union([n + 4]))
                XCTAssertEqual(seen(n + 5), node.union([n + 3, n + 5]))
                XCTAssertEqual(seen(n + 6), node.union([n + 4, n + 6]))
            case .decoder:
                XCTAssertEqual(seen(n + 3), node.union([n + 3]))
                XCTAssertEqual(seen(n + 4), node.union([n + 3, n + 4]))
                XCTAssertEqual(seen(n + 5), node.union([n + 3, n + 4, n + 5]))
                XCTAssertEqual(seen(n + 6), node.union([n + 3, n + 4, n + 5, n + 6]))
            case .encoder:
                XCTAssertEqual(seen(n + 3), node.union([n + 3, n + 4]))
                XCTAssertEqual(seen(n + 6), node.union([n + 5, n + 6]))
            }
        }
        // No new node in the first draft (all of it already in the tree): no chain.
        let chain = DraftMerge.PromptChain(promptTokens: 2, virtualTokens: 1, attention: .ensemble)
        let shared = try DraftMerge(layout: layout, candidates: candidates, drafts: [[10, 20], [12]], rowLimit: 8, promptChain: chain)
        XCTAssertNil(shared.chainNode)
        XCTAssertEqual(shared.chainRowCount, 0)
        XCTAssertEqual(shared.draftTokens, [12])
        // A chain without virtual tokens is a named error, not rows without a guess.
        let empty = DraftMerge.PromptChain(promptTokens: 2, virtualTokens: 0, attention: .ensemble)
        XCTAssertThrowsError(try DraftMerge(layout: layout, candidates: candidates, drafts: [[10, 20, 30]], rowLimit: 8, promptChain: empty)) {
            XCTAssertTrue("\($0)".contains("virtual tokens"), "\($0)")
        }
    }

    /// Drafts the true continuation (read from a reference run) with one token corrupted, plus a
    /// random second branch: drafts are then often accepted deep, often cut short, and often
    /// duplicate the prompt tokens' guesses.
    struct OracleDrafter: TokenDrafter {
        let promptLength: Int
        let continuation: [Int32]
        let vocab: Int
        var random: SplitMix
        var name: String { "oracle" }

        mutating func draft(after tokens: [Int32], limit: Int) -> [[Int32]] {
            let done = tokens.count - promptLength
            guard done < continuation.count else { return [] }
            var truth = Array(continuation[done..<min(continuation.count, done + 4)])
            let corrupt = random.int(6)
            if corrupt < truth.count { truth[corrupt] = Int32(random.int(vocab)) }
            let other = (0..<3).map { _ in Int32(random.int(vocab)) }
            return [truth, other]
        }
    }

    func testGreedyDecodingWithDraftsEqualsAutoregressiveGreedy() throws {
        var acceptedDrafted = 0
        var draftRows = 0
        var stepsWithChainGuesses = 0
        for architecture in TinyModel.Architecture.allCases {
            for seed in [UInt64(1), 2] {
                var spec = TinyModel(architecture)
                spec.seed = seed
                spec.vocab = 20
                spec.context = 192
                let model = try ModelLoader.load(path: try spec.write(), threads: Int(seed % 2) + 1)
                var random = SplitMix(state: seed &* 31)
                let prompt = [Int32(2)] + (0..<(4 + random.int(10))).map { _ in Int32(4 + random.int(16)) }
                let options = GenerationOptions(maxTokens: 40)
                let expected = try AutoregressiveGenerator(model: model).generate(prompt: prompt, options: options).tokens
                let oracle = OracleDrafter(
                    promptLength: prompt.count, continuation: expected, vocab: 20, random: SplitMix(state: seed))
                let drafters: [(any TokenDrafter, Int)] = [
                    (try PromptLookupDrafter(ngramSizes: 1...3, draftLength: 5), 5),
                    (try PromptLookupDrafter(ngramSizes: 1...2, draftLength: 3, branches: 2), 4),
                    (oracle, 6),
                ]
                let tokens = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: seed, scale: 1)
                let trees: [DynamicTree] = [
                    .rootOnly, try DynamicTree.chain(promptTokens: 2),
                    try DynamicTree(promptTokens: 2, trees: [1: [Node([0], promptTokens: 2), Node([1], promptTokens: 1)], 2: [Node([0], promptTokens: 2), Node([0, 0], promptTokens: 0)]]),
                ]
                let sizing = DraftSizing { exact, guess in 1 + 0.1 * Double(exact + guess - 1) }
                for (drafter, rows) in drafters {
                    for (tree, sized) in trees.flatMap({ tree in [(tree, false), (tree, true)] }) {
                        for carries in [true, false] {
                            let decoder = try PromptDecoder(
                                model: model, promptTokens: tokens, tree: tree, drafter: drafter, draftRowLimit: rows,
                                draftSizing: sized ? sizing : nil, draftCarriesPromptTokens: carries)
                            let result = try decoder.generate(prompt: prompt, options: options, policy: GreedyAcceptance())
                            let what = "\(architecture) seed \(seed) \(drafter.name) rows \(rows) tree \(tree.promptTokens) \(tree.trees.keys.sorted()) sized \(sized) chain \(carries)"
                            XCTAssertEqual(result.tokens, expected, what)
                            for step in result.steps.dropFirst() {
                                XCTAssertLessThanOrEqual(step.draftRows, rows, what)
                                XCTAssertLessThanOrEqual(step.acceptedDrafted, step.accepted, what)
                            }
                            // After a step that ended on a drafted node, only the prompt chain the
                            // draft carries can give the next step guesses (a depth above 0).
                            let afterDrafted = zip(result.steps.dropFirst(), result.steps.dropFirst(2))
                                .filter { $0.0.acceptedDrafted > 0 }.map(\.1.depth)
                            if !carries || tree.promptTokens == 0 {
                                XCTAssertTrue(afterDrafted.allSatisfy { $0 == 0 }, what)
                            } else {
                                stepsWithChainGuesses += afterDrafted.filter { $0 > 0 }.count
                            }
                            acceptedDrafted += result.steps.map(\.acceptedDrafted).reduce(0, +)
                            draftRows += result.steps.map(\.draftRows).reduce(0, +)
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(acceptedDrafted, 100, "drafted tokens were rarely accepted: the test would not exercise them")
        XCTAssertGreaterThan(stepsWithChainGuesses, 20, "steps after an accepted draft rarely had the chain's guesses")
        XCTAssertGreaterThan(draftRows, 300)
    }

    /// The sizing model by hand: with no observations every probability is 1/2; a tree of depth
    /// 2 and a draft of 3 give 1 + 3/4 + 3/4 + 1/2 merged and 1 + 3 x 1/2 alone; the option with the most tokens per cost
    /// wins; observations move the rates as Beta(1, 1) posteriors.
    func testDraftSizingPredictsTokensAndChoosesByTokensPerCost() {
        let sizing = DraftSizing { exact, guess in Double(exact + guess) }
        var statistics = DraftSizing.Statistics()
        let fresh = sizing.expectedTokens(depth: 2, draftLength: 3, statistics: statistics)
        XCTAssertEqual(fresh.merged, 3.0, accuracy: 1e-12)
        XCTAssertEqual(fresh.alone, 2.5, accuracy: 1e-12)
        // Rows at full price: merged 3 tokens over 4 + 3 rows, alone 2.5 over 1 + 3 rows.
        XCTAssertFalse(sizing.keepsTree(exactRows: 4, guessRows: 0, depth: 2, shared: 0, draftLength: 3, statistics: statistics))
        // Tokens the tree already holds cost nothing merged: with all 3 shared, 3/4 beats 2.5/4.
        XCTAssertTrue(sizing.keepsTree(exactRows: 4, guessRows: 0, depth: 2, shared: 3, draftLength: 3, statistics: statistics))
        // Cheap rows (0.1 each): merged 3/1.6 against alone 2.5/1.3 still goes to the draft alone;
        // a tree known to be right at both distances (a(1), a(2) near 1) keeps the tree.
        let cheap = DraftSizing { exact, guess in 1 + 0.1 * Double(exact + guess - 1) }
        XCTAssertFalse(cheap.keepsTree(exactRows: 4, guessRows: 0, depth: 2, shared: 0, draftLength: 3, statistics: statistics))
        var sure = DraftSizing.Statistics()
        for _ in 0..<50 { sure.record(tree: 2, of: 2) }
        XCTAssertTrue(cheap.keepsTree(exactRows: 4, guessRows: 0, depth: 2, shared: 0, draftLength: 3, statistics: sure))
        // Observations: a draft accepted 2 of 3 tokens, twice; one accepted nothing of 2.
        statistics.record(draft: 2, of: 3)
        statistics.record(draft: 2, of: 3)
        statistics.record(draft: 0, of: 2)
        XCTAssertEqual(statistics.draft(1), 3.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(statistics.draft(2), 3.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(statistics.draft(3), 1.0 / 4.0, accuracy: 1e-12)
        XCTAssertEqual(statistics.draft(4), 0.5, accuracy: 1e-12, "never verified: the prior")
        statistics.record(tree: 1, of: 2)
        XCTAssertEqual(statistics.tree(1), 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(statistics.tree(2), 1.0 / 3.0, accuracy: 1e-12)
    }

    /// Without a drafter, or with one that drafts nothing, a step is the layout's alone.
    func testADrafterWithNoDraftsChangesNothing() throws {
        var spec = TinyModel(.llama)
        spec.vocab = 20
        let model = try ModelLoader.load(path: try spec.write())
        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 4, scale: 1)
        let tree = try DynamicTree.chain(promptTokens: 2)
        let prompt: [Int32] = [2, 5, 6, 7, 8]
        let plain = try PromptDecoder(model: model, promptTokens: tokens, tree: tree)
            .generate(prompt: prompt, options: GenerationOptions(maxTokens: 20), policy: GreedyAcceptance())
        // 9-grams never match in a 20-token text.
        let silent = try PromptDecoder(
            model: model, promptTokens: tokens, tree: tree, drafter: try PromptLookupDrafter(ngramSizes: 9...9), draftRowLimit: 6
        ).generate(prompt: prompt, options: GenerationOptions(maxTokens: 20), policy: GreedyAcceptance())
        XCTAssertEqual(silent.tokens, plain.tokens)
        XCTAssertEqual(silent.steps.map(\.inputRows), plain.steps.map(\.inputRows))
        XCTAssertEqual(silent.steps.map(\.draftRows).reduce(0, +), 0)
        XCTAssertThrowsError(try PromptDecoder(model: model, promptTokens: tokens, tree: tree, draftRowLimit: -1)) {
            XCTAssertTrue("\($0)".contains("-1"), "\($0)")
        }
    }
}
