import Decoding
import Foundation
import Kernels
import Models
import TestSupport
import XCTest

@testable import Training

/// The training objective and its gradients on tiny models, and a short training run that must
/// lower the loss and raise guess accuracy on held-out cuts.
final class TrainingTests: XCTestCase {
    func testLossGradientMatchesFiniteDifferences() {
        var random = SplitMix(state: 3)
        let n = 3, v = 2, vocab = 7
        let student = (0..<n * v * vocab).map { _ in random.normal() * 2 }
        let teacher = (0..<n * vocab).map { _ in random.normal() * 2 }
        for kind in DistillationLoss.Kind.allCases {
            let loss = DistillationLoss(kind: kind)
            let (value, gradient) = loss.evaluate(student: student, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab)
            XCTAssertGreaterThan(value, 0)
            for i in 0..<student.count {
                var plus = student, minus = student
                plus[i] += 1e-3
                minus[i] -= 1e-3
                let numeric =
                    (loss.evaluate(student: plus, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab).loss
                        - loss.evaluate(student: minus, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab).loss) / 2e-3
                XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 1e-3, "\(kind) logit \(i)")
            }
        }
        // A student equal to the teacher (every virtual row) has zero distillation loss.
        var copy: [Float] = []
        for k in 0..<n { for _ in 0..<v { copy += teacher[(k * vocab)..<((k + 1) * vocab)] } }
        XCTAssertEqual(DistillationLoss().evaluate(student: copy, teacher: teacher, promptTokens: n, virtualTokens: v, vocab: vocab).loss, 0, accuracy: 1e-9)
    }

    func tinyModel(_ architecture: TinyModel.Architecture, seed: UInt64) throws -> Transformer {
        var spec = TinyModel(architecture)
        spec.seed = seed
        spec.vocab = 24
        return try ModelLoader.load(path: try spec.write(), threads: 2)
    }

    /// The largest gap between `gradient` and central differences (step 1e-2) of `loss` at
    /// `samples` random coordinates of `prompt`, relative to the gradient's largest entry
    /// (which must be positive).
    func worstFiniteDifferenceGap(
        _ loss: (PromptTokens) throws -> Double, gradient: [Float], at prompt: PromptTokens, samples: Int, random: inout SplitMix
    ) throws -> Double {
        let scale = gradient.map { abs(Double($0)) }.max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        var worst = 0.0
        for _ in 0..<samples {
            let i = random.int(prompt.embeddings.count)
            func moved(_ delta: Float) -> PromptTokens {
                var tokens = prompt
                tokens.withMutableEmbeddings { $0[i] += delta }
                return tokens
            }
            let numeric = (try loss(moved(1e-2)) - loss(moved(-1e-2))) / 2e-2
            worst = max(worst, abs(numeric - Double(gradient[i])) / scale)
        }
        return worst
    }

    /// The gradient of the whole objective (prompt rows over the cached prefix, virtual-token
    /// masks, mean of virtual logits, KL) against central differences, for every attention type.
    func testObjectiveGradientMatchesFiniteDifferences() throws {
        for (architecture, attention) in [(TinyModel.Architecture.gemma3, PromptTokens.Attention.ensemble), (.llama, .decoder), (.gemma3, .encoder)] {
            let model = try tinyModel(architecture, seed: 2)
            var random = SplitMix(state: 9)
            let tokens: [Int32] = [2] + (0..<20).map { _ in Int32(4 + random.int(20)) }
            let sequence = try TrainingSequence(model: model, tokens: tokens, cuts: [6, 13], promptTokens: 2, virtualTokens: 2)
            var prompt = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 4, scale: 1)
            prompt.attention = attention
            let objective = PromptTokenObjective(model: model)
            let evaluation = try objective.evaluate(sequence, cut: 13, promptTokens: prompt)
            let worst = try worstFiniteDifferenceGap(
                { try objective.evaluate(sequence, cut: 13, promptTokens: $0, backward: false).loss }, gradient: evaluation.gradient,
                at: prompt, samples: 16, random: &random)
            XCTAssertLessThan(worst, 5e-3, "\(architecture) \(attention)")
            // A cut the sequence was not prepared for is an error, not a crash.
            XCTAssertThrowsError(try objective.evaluate(sequence, cut: 9, promptTokens: prompt)) {
                XCTAssertTrue("\($0)".contains("cut 9"), "\($0)")
            }
            // The sequence's cache is left as it was: evaluating again gives the same loss.
            XCTAssertEqual(try objective.evaluate(sequence, cut: 13, promptTokens: prompt, backward: false).loss, evaluation.loss)
        }
    }

    /// All cuts of a sequence run as one batch (each over its own prefix) give every cut's loss
    /// and ranks bitwise as running it alone, and the sum of the single-cut gradients; also when
    /// a short context splits the cuts into several batches.
    func testBatchedCutsEqualCutsRunAlone() throws {
        for (architecture, attention, context) in [
            (TinyModel.Architecture.gemma3, PromptTokens.Attention.ensemble, 256), (.llama, .decoder, 256), (.gemma3, .encoder, 30),
        ] {
            var spec = TinyModel(architecture)
            spec.seed = 7
            spec.vocab = 24
            spec.context = context
            let model = try ModelLoader.load(path: try spec.write(), threads: 2)
            var random = SplitMix(state: 11)
            let tokens: [Int32] = [2] + (0..<21).map { _ in Int32(4 + random.int(20)) }
            let cuts = [3, 6, 10, 13, 17]
            let sequence = try TrainingSequence(model: model, tokens: tokens, cuts: cuts, promptTokens: 2, virtualTokens: 2)
            var prompt = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 5, scale: 1)
            prompt.attention = attention
            let objective = PromptTokenObjective(model: model)
            let batch = try objective.evaluate(sequence, cuts: cuts, promptTokens: prompt)
            var summed = [Float](repeating: 0, count: prompt.embeddings.count)
            for (j, cut) in cuts.enumerated() {
                let alone = try objective.evaluate(sequence, cut: cut, promptTokens: prompt)
                XCTAssertEqual(batch.losses[j], alone.loss, "\(architecture) cut \(cut)")
                XCTAssertEqual(batch.ranks[j], alone.ranks, "\(architecture) cut \(cut)")
                for i in 0..<summed.count { summed[i] += alone.gradient[i] }
            }
            let gap = zip(batch.gradient, summed).map { abs($0 - $1) }.max() ?? 0
            XCTAssertEqual(gap, 0, "\(architecture) \(attention) context \(context): largest difference \(gap) of \(summed.map { abs($0) }.max() ?? 0)")
            XCTAssertEqual(try objective.evaluate(sequence, cuts: [], promptTokens: prompt).losses, [])
        }
    }

    /// Prompt rows over a guess head: compact logits bitwise the full layer's at the head's
    /// tokens; the loss is the full objective's formula on those tokens (teacher renormalised
    /// over them); its gradient matches central differences; ranks count among the head, and a
    /// greedy token outside it is a miss; batched cuts equal cuts run alone.
    func testGuessHeadObjective() throws {
        for architecture in TinyModel.Architecture.allCases {
            let model = try tinyModel(architecture, seed: 3)
            var random = SplitMix(state: 21)
            let tokens: [Int32] = [2] + (0..<20).map { _ in Int32(4 + random.int(20)) }
            let cuts = [5, 9, 14]
            let sequence = try TrainingSequence(model: model, tokens: tokens, cuts: cuts, promptTokens: 2, virtualTokens: 2)
            let prompt = try PromptTokens.random(count: 2, virtualTokens: 2, hiddenSize: model.config.hiddenSize, seed: 8, scale: 1)
            let headTokens = (0..<24).filter { $0 % 3 != 1 }.map(Int32.init)  // 16 of 24, gaps between them
            let head = try model.makeGuessHead(tokens: headTokens)
            let full = PromptTokenObjective(model: model), restricted = PromptTokenObjective(model: model, head: head)
            let vocab = model.config.vocabSize, k = headTokens.count, n = 2, v = 2

            // Compact logits are the full layer's at the head's tokens.
            let embeddings = prompt.embeddings
            let mask = try VerificationLayout.prefillMask(inputCount: 0, promptTokens: n, virtualTokens: v, attention: prompt.attention)
            let positions = (0..<(n * v)).map { Int32(tokens.count + $0 / v) }
            let cache = model.makeCache(capacity: 64)
            _ = try model.forward(tokens: tokens, cache: cache)
            let fullLogits = try model.forward(
                embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, recordingInto: ForwardTape())
            try cache.truncate(to: tokens.count)
            let compact = try model.forward(
                embeddings: embeddings, positions: positions, mask: mask, cache: cache, logitRows: nil, head: head, recordingInto: ForwardTape())
            XCTAssertEqual(compact.vocabSize, k)
            for r in 0..<(n * v) {
                XCTAssertEqual(Array(compact.row(r)), headTokens.map { fullLogits.row(r)[fullLogits.row(r).startIndex + Int($0)] })
            }

            // The loss is the formula on the head's tokens; the gradient matches central differences.
            let cut = 9
            let e = try restricted.evaluate(sequence, cut: cut, promptTokens: prompt)
            var teacher: [Float] = []
            for t in 0..<n { teacher += try sequence.teacher(cut: cut, promptToken: t) }
            let compactTeacher = (0..<n).flatMap { t in headTokens.map { teacher[t * vocab + Int($0)] } }
            var cutMask = mask
            cutMask.cacheSlotLimits = [Int](repeating: cut, count: n * v)
            let student = try model.forward(
                embeddings: embeddings, positions: (0..<(n * v)).map { Int32(cut + $0 / v) }, mask: cutMask, cache: sequence.cache,
                logitRows: nil, head: head, recordingInto: ForwardTape())
            try sequence.cache.truncate(to: tokens.count)
            XCTAssertEqual(
                e.loss, DistillationLoss().evaluate(student: student.values, teacher: compactTeacher, promptTokens: n, virtualTokens: v, vocab: k).loss)
            XCTAssertGreaterThan(e.loss, 0)
            let worst = try worstFiniteDifferenceGap(
                { try restricted.evaluate(sequence, cut: cut, promptTokens: $0, backward: false).loss }, gradient: e.gradient, at: prompt,
                samples: 12, random: &random)
            XCTAssertLessThan(worst, 5e-3, "\(architecture)")

            // Batched cuts equal cuts run alone; ranks count among the head.
            let batch = try restricted.evaluate(sequence, cuts: cuts, promptTokens: prompt)
            let fullBatch = try full.evaluate(sequence, cuts: cuts, promptTokens: prompt, backward: false)
            XCTAssertNotEqual(batch.losses, fullBatch.losses)
            for (j, c) in cuts.enumerated() {
                let alone = try restricted.evaluate(sequence, cut: c, promptTokens: prompt)
                XCTAssertEqual(batch.losses[j], alone.loss)
                XCTAssertEqual(batch.ranks[j], alone.ranks)
                // The same ranks as the full objective ranking among the head's tokens.
                let flags = (0..<vocab).map { headTokens.contains(Int32($0)) }
                XCTAssertEqual(alone.ranks, try full.evaluate(sequence, cut: c, promptTokens: prompt, backward: false, rankedAmong: flags).ranks)
            }
            // Ranking among a head and among flagged tokens at once is an error.
            XCTAssertThrowsError(try restricted.evaluate(sequence, cut: cut, promptTokens: prompt, rankedAmong: [Bool](repeating: true, count: vocab)))
        }
    }

    /// A sequence prepared by the int8 model (replies, teacher rows, prefix keys and values, as
    /// `ppd train` does by default) under a float32 objective: the teacher rows are the int8
    /// model's logits, and the gradient still matches central differences (the prefix is a
    /// constant of the prompt rows' function).
    func testInt8TeacherUnderFloatObjective() throws {
        try XCTSkipUnless(MatrixArithmetic.isInt8Available, "this CPU has no int8 kernel (AVX2 or AVX-512 VNNI)")
        let path = try TinyModel.int8Ready(.gemma3, seed: 4, vocab: 32).write()
        let teacherModel = try ModelLoader.load(path: path, threads: 2, arithmetic: .int8)
        let model = try ModelLoader.load(path: path, threads: 2, arithmetic: .float32)
        var random = SplitMix(state: 5)
        let tokens: [Int32] = [2] + (0..<20).map { _ in Int32(4 + random.int(28)) }
        let sequence = try TrainingSequence(model: teacherModel, tokens: tokens, cuts: [7, 12], promptTokens: 2, virtualTokens: 1)
        let int8Logits = try teacherModel.forward(tokens: tokens, cache: teacherModel.makeCache(capacity: 32))
        let floatLogits = try model.forward(tokens: tokens, cache: model.makeCache(capacity: 32))
        XCTAssertEqual(Array(try sequence.teacher(cut: 12, promptToken: 1)), Array(int8Logits.row(13)))
        XCTAssertNotEqual(Array(try sequence.teacher(cut: 12, promptToken: 1)), Array(floatLogits.row(13)))
        let prompt = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 6, scale: 1)
        let objective = PromptTokenObjective(model: model)
        let e = try objective.evaluate(sequence, cuts: [7, 12], promptTokens: prompt)
        let worst = try worstFiniteDifferenceGap(
            { try objective.evaluate(sequence, cuts: [7, 12], promptTokens: $0, backward: false).losses.reduce(0, +) },
            gradient: e.gradient, at: prompt, samples: 12, random: &random)
        XCTAssertLessThan(worst, 5e-3)
        // A guess head made on the int8 model (its rows repacked for int8) cannot serve the float
        // objective's tape.
        let int8Head = try teacherModel.makeGuessHead(tokens: (0..<16).map(Int32.init))
        XCTAssertThrowsError(try PromptTokenObjective(model: model, head: int8Head).evaluate(sequence, cut: 7, promptTokens: prompt)) {
            XCTAssertTrue("\($0)".contains("guess head"), "\($0)")
        }
        // The int8 model itself cannot run the objective's backward.
        XCTAssertThrowsError(try PromptTokenObjective(model: teacherModel).evaluate(sequence, cut: 7, promptTokens: prompt)) {
            XCTAssertTrue("\($0)".contains("float32"), "\($0)")
        }
    }

    /// AdamW on a tiny model's own greedy continuations (self-distillation) lowers the held-out
    /// loss and raises the top-1 guess accuracy.
    func testTrainingLowersLossAndRaisesAccuracy() throws {
        let model = try tinyModel(.gemma3, seed: 5)
        let generator = AutoregressiveGenerator(model: model)
        var sequences: [TrainingSequence] = []
        for start in 0..<30 {
            let prompt: [Int32] = [2, Int32(4 + start % 20), Int32(4 + (start * 7) % 20), Int32(4 + (start * 3) % 19)]
            let continuation = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 30)).tokens
            let tokens = prompt + continuation
            sequences.append(try TrainingSequence(model: model, tokens: tokens, cuts: [5, 11, 17, 23], promptTokens: 2, virtualTokens: 1))
        }
        let training = Array(sequences.prefix(24)), heldOut = Array(sequences.suffix(6))
        var prompt = try PromptTokens.random(count: 2, virtualTokens: 1, hiddenSize: model.config.hiddenSize, seed: 1, scale: 1)
        let objective = PromptTokenObjective(model: model)

        /// Mean loss, top-3 accuracy and mean rank of the teacher's greedy token over held-out cuts.
        func heldOutScore() throws -> (loss: Double, top3: Double, meanRank: Double) {
            var loss = 0.0, hits = 0, rankSum = 0, count = 0, cuts = 0
            for sequence in heldOut {
                for cut in sequence.cuts {
                    let e = try objective.evaluate(sequence, cut: cut, promptTokens: prompt, backward: false)
                    loss += e.loss
                    cuts += 1
                    hits += e.ranks.filter { $0 < 3 }.count
                    rankSum += e.ranks.reduce(0, +)
                    count += e.ranks.count
                }
            }
            return (loss / Double(cuts), Double(hits) / Double(count), Double(rankSum) / Double(count))
        }
        let before = try heldOutScore()
        var optimizer = AdamW(count: prompt.embeddings.count)
        let epochs = 3
        let schedule = CosineSchedule(peak: 2e-2, totalSteps: epochs * training.count * 4)
        var step = 0
        for _ in 0..<epochs {
            for sequence in training {
                for cut in sequence.cuts {
                    let e = try objective.evaluate(sequence, cut: cut, promptTokens: prompt)
                    prompt.withMutableEmbeddings { optimizer.update(&$0, gradient: e.gradient, rate: schedule.rate(at: step)) }
                    step += 1
                }
            }
        }
        let after = try heldOutScore()
        let report = "held-out loss \(before.loss) -> \(after.loss), top-3 \(before.top3) -> \(after.top3), mean rank \(before.meanRank) -> \(after.meanRank)"
        print(report)
        XCTAssertLessThan(after.loss, before.loss * 0.95, report)
        XCTAssertLessThan(after.meanRank, before.meanRank, report)
        XCTAssertGreaterThan(after.top3, before.top3, report)
    }

    func testAdamWAndCosineSchedule() {
        let schedule = CosineSchedule(peak: 0.01, totalSteps: 100)
        XCTAssertEqual(schedule.rate(at: 0), 0.01)
        XCTAssertEqual(schedule.rate(at: 50), 0.005, accuracy: 1e-12)
        XCTAssertEqual(schedule.rate(at: 100), 0, accuracy: 1e-12)
        // The first AdamW step moves each parameter by the learning rate against its gradient's sign.
        var optimizer = AdamW(count: 3)
        var values: [Float] = [1, 2, 3]
        values.withUnsafeMutableBufferPointer { optimizer.update(&$0, gradient: [0.5, -2, 0], rate: 0.1) }
        XCTAssertEqual(values[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(values[1], 2.1, accuracy: 1e-6)
        XCTAssertEqual(values[2], 3, accuracy: 1e-6)
    }
}
