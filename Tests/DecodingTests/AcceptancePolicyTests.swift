import Decoding
import Foundation
import Models
import TestSupport
import XCTest

/// Acceptance policies on hand-made candidate trees, and lossless sampling on a tiny model.
final class AcceptancePolicyTests: XCTestCase {
    // A tree over a vocabulary of 6: root -> {a: token 1, b: token 2}; a -> {c: token 3};
    // b -> {d: token 1}. Nodes: 0 root, 1 a, 2 b, 3 c, 4 d.
    let tree = CandidateTree(tokens: [0, 1, 2, 3, 1], parents: [nil, 0, 0, 1, 2])
    let logits: [[Float]] = [
        [0.1, 1.2, 0.9, -0.5, 0.3, 0.0],  // root
        [0.2, 0.0, 0.1, 1.5, -1.0, 0.4],  // a
        [0.0, 0.8, 0.3, 0.2, 0.1, -0.3],  // b
        [1.0, 0.2, 0.5, 0.0, 0.7, 0.1],  // c
        [0.3, 0.3, 0.9, 0.0, -0.2, 0.6],  // d
    ]

    func testCandidateTreeFromBuffersListsChildrenInRankOrder() throws {
        let tokenTree = try TokenTree(paths: [[1], [0], [0, 1], [0, 0], [1, 0]], promptTokens: 2)
        let buffers = try TreeBuffers(tree: tokenTree, topK: 2, promptTokens: 2)
        let candidates = try CandidateTree(buffers: buffers, root: 7, guesses: [[10, 11], [20, 21]])
        XCTAssertEqual(candidates.tokens, [7, 10, 11, 20, 21, 20])
        XCTAssertEqual(candidates.children[0], [1, 2])
        XCTAssertEqual(candidates.children[1], [3, 4])
        XCTAssertEqual(candidates.children[2], [5])
    }

    func testGreedyFollowsTheArgmax() {
        var policy = GreedyAcceptance()
        // Root argmax is token 1 (node a); a's argmax is token 3 (node c); c's argmax is 0.
        XCTAssertEqual(policy.accept(tree) { self.logits[$0][...] }, Acceptance(path: [1, 3], next: 0))
        var flat = logits
        flat[0] = [3, 0, 0, 0, 0, 0]
        XCTAssertEqual(policy.accept(tree) { flat[$0][...] }, Acceptance(path: [], next: 0))
        XCTAssertEqual(policy.firstToken(logits[2][...]), 1)
    }

    func testTypicalAcceptsAboveTheThresholdAndPrefersLongerThenLikelier() {
        // A near-one-hot root accepts only its argmax child; a flat one accepts both.
        var policy = TypicalAcceptance(temperature: 1, posteriorThreshold: 0.09, posteriorAlpha: 0.3, seed: 1)
        let result = policy.accept(tree) { self.logits[$0][...] }
        // Root: p(1) ~ 0.33, p(2) ~ 0.25, both above min(0.09, 0.3 e^-H); a: p(3) ~ 0.45 accepted;
        // b: p(1) ~ 0.27 accepted; both paths have length 2; a->c is likelier.
        XCTAssertEqual(result.path, [1, 3])
        var strict = TypicalAcceptance(temperature: 1, posteriorThreshold: 0.5, posteriorAlpha: 10, seed: 1)
        XCTAssertEqual(strict.accept(tree) { self.logits[$0][...] }.path, [])
        var greedyAtZero = TypicalAcceptance(temperature: 0)
        XCTAssertEqual(greedyAtZero.accept(tree) { self.logits[$0][...] }, Acceptance(path: [1, 3], next: 0))
    }

    /// Exact distribution of the tokens emitted by one lossless step: the walk from the root
    /// draws each token from the model at the current node; a token that is a child's moves there.
    func exactStepDistribution(_ sampling: SamplingParameters) -> [[Int32]: Double] {
        var out: [[Int32]: Double] = [:]
        func walk(_ node: Int, prefix: [Int32], mass: Double) {
            for (token, p) in Sampler.distribution(logits[node][...], sampling) {
                if let child = tree.children[node].first(where: { tree.tokens[$0] == token }) {
                    walk(child, prefix: prefix + [token], mass: mass * p)
                } else {
                    out[prefix + [token], default: 0] += mass * p
                }
            }
        }
        walk(0, prefix: [], mass: 1)
        return out
    }

    /// The tokens one step emits: accepted guesses, then the next token.
    func emitted(_ acceptance: Acceptance) -> [Int32] { acceptance.path.map { tree.tokens[$0] } + [acceptance.next] }

    func testRejectionSamplingStepMatchesTheModelDistribution() {
        for sampling in [
            SamplingParameters(temperature: 1, seed: 11), SamplingParameters(temperature: 0.6, topK: 3, seed: 12),
            SamplingParameters(temperature: 1.3, topP: 0.8, seed: 13),
        ] {
            let exact = exactStepDistribution(sampling)
            var policy = RejectionSampling(sampling: sampling)
            var counts: [[Int32]: Int] = [:]
            let draws = 60_000
            for _ in 0..<draws { counts[emitted(policy.accept(tree) { self.logits[$0][...] }), default: 0] += 1 }
            XCTAssertTrue(Set(counts.keys).isSubset(of: Set(exact.keys)), "\(sampling): an impossible outcome was drawn")
            let test = ChiSquare(expected: exact, counts: counts, draws: draws)
            XCTAssertLessThan(test.statistic, test.critical, "\(sampling): \(test)")
        }
    }

    /// The test has power: a classic bug (after rejecting a guess, draw from the full distribution
    /// instead of the residual) is caught.
    func testChiSquareCatchesAResidualBug() {
        let sampling = SamplingParameters(temperature: 1, seed: 5)
        let exact = exactStepDistribution(sampling)
        var random = RandomSource(seed: 5)
        var counts: [[Int32]: Int] = [:]
        let draws = 60_000
        for _ in 0..<draws {
            var node = 0
            var emitted: [Int32] = []
            walk: while true {
                let p = Sampler.distribution(logits[node][...], sampling)
                for child in tree.children[node] {
                    let pc = p.first { $0.token == tree.tokens[child] }?.probability ?? 0
                    if random.nextUnit() < pc {
                        emitted.append(tree.tokens[child])
                        node = child
                        continue walk
                    }
                }
                var u = random.nextUnit()
                let drawn = p.first { u -= $0.probability; return u < 0 }?.token ?? p.last!.token
                emitted.append(drawn)
                break
            }
            counts[emitted, default: 0] += 1
        }
        let test = ChiSquare(expected: exact, counts: counts, draws: draws)
        XCTAssertGreaterThan(test.statistic, test.critical, "the buggy sampler should fail: \(test)")
    }

    /// Whole generations on a tiny model with an 8-token vocabulary: the first three tokens of
    /// lossless PPD sampling are distributed as autoregressive sampling (exact joint computed from
    /// the model), with guesses accepted along the way.
    func testRejectionSamplingOnATinyModelMatchesAutoregressiveSampling() throws {
        try checkRejectionSamplingMatchesAutoregressiveSampling(drafter: nil)
    }

    /// The same with prompt-lookup drafts merged into every step's tree (the prompt repeats
    /// itself, so drafts exist from the first step), drafted tokens accepted along the way.
    func testRejectionSamplingWithAMergedTreeMatchesAutoregressiveSampling() throws {
        try checkRejectionSamplingMatchesAutoregressiveSampling(
            drafter: try PromptLookupDrafter(ngramSizes: 1...2, draftLength: 2, branches: 2))
    }

    func checkRejectionSamplingMatchesAutoregressiveSampling(drafter: PromptLookupDrafter?) throws {
        var spec = TinyModel(.gemma3)
        spec.vocab = 8
        spec.seed = 3
        let model = try ModelLoader.load(path: try spec.write(), threads: 1)
        let prompt: [Int32] = drafter == nil ? [2, 5, 6] : [2, 5, 6, 7, 5, 6, 4, 5, 6]
        let sampling = SamplingParameters(temperature: 1)

        // Exact joint of three tokens from autoregressive probabilities.
        func distribution(_ context: [Int32]) throws -> [(token: Int32, probability: Double)] {
            let logits = try model.forward(tokens: context, cache: model.makeCache(capacity: 16), logitRows: [context.count - 1])
            return Sampler.distribution(logits.last, sampling)
        }
        var exact: [[Int32]: Double] = [:]
        for (a, pa) in try distribution(prompt) {
            for (b, pb) in try distribution(prompt + [a]) {
                for (c, pc) in try distribution(prompt + [a, b]) { exact[[a, b, c]] = pa * pb * pc }
            }
        }

        let tokens = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 9, scale: 1)
        let tree = try DynamicTree(
            promptTokens: 2,
            trees: [
                1: [TokenTree.Node([0], promptTokens: 2), TokenTree.Node([1], promptTokens: 2), TokenTree.Node([2], promptTokens: 2)],
                2: [
                    TokenTree.Node([0], promptTokens: 2), TokenTree.Node([1], promptTokens: 2), TokenTree.Node([0, 0], promptTokens: 2),
                    TokenTree.Node([0, 1], promptTokens: 2),
                ],
            ])
        let decoder = try PromptDecoder(model: model, promptTokens: tokens, tree: tree, drafter: drafter, draftRowLimit: 4)
        var counts: [[Int32]: Int] = [:]
        var accepted = 0
        var acceptedDrafted = 0
        let runs = 4000
        for run in 0..<runs {
            let policy = RejectionSampling(sampling: SamplingParameters(temperature: 1, seed: UInt64(run) &* 7919 &+ 1))
            let result = try decoder.generate(prompt: prompt, options: GenerationOptions(maxTokens: 3), policy: policy)
            counts[result.tokens, default: 0] += 1
            accepted += result.steps.map(\.accepted).reduce(0, +)
            acceptedDrafted += result.steps.map(\.acceptedDrafted).reduce(0, +)
        }
        XCTAssertGreaterThan(accepted, runs / 4, "guesses were rarely accepted; the test would not exercise the tree")
        if drafter != nil {
            XCTAssertGreaterThan(acceptedDrafted, runs / 20, "drafted tokens were rarely accepted; the test would not exercise them")
        }
        let test = ChiSquare(expected: exact, counts: counts, draws: runs)
        XCTAssertLessThan(test.statistic, test.critical, "\(test)")
    }
}

/// Pearson's chi-square goodness-of-fit test at significance 0.001, with outcomes whose expected
/// count is below 5 pooled into one cell. The critical value uses the Wilson-Hilferty
/// approximation of the chi-square quantile.
struct ChiSquare: CustomStringConvertible {
    let statistic: Double
    let degreesOfFreedom: Int
    let critical: Double

    init<Key: Hashable>(expected: [Key: Double], counts: [Key: Int], draws: Int) {
        var statistic = 0.0
        var cells = 0
        var pooledExpected = 0.0
        var pooledObserved = 0.0
        for (key, p) in expected {
            let e = p * Double(draws)
            let o = Double(counts[key] ?? 0)
            if e < 5 {
                pooledExpected += e
                pooledObserved += o
            } else {
                statistic += (o - e) * (o - e) / e
                cells += 1
            }
        }
        if pooledExpected > 0 {
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / max(pooledExpected, 1e-9)
            cells += 1
        }
        self.statistic = statistic
        degreesOfFreedom = max(cells - 1, 1)
        let k = Double(degreesOfFreedom)
        let z = 3.090  // the standard normal quantile at 0.999
        critical = k * pow(1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot(), 3)
    }

    var description: String { "chi-square \(statistic) on \(degreesOfFreedom) degrees of freedom (critical \(critical) at 0.001)" }
}
