import Decoding
import Foundation
import Models
import Tokenizer

/// Turns conversations into training token sequences and cuts, as the paper prepares its data:
/// the context is the first user turn in the prompt template; the reply is either the model's own
/// greedy continuation (self-distillation, the paper's recipe: the prompt tokens then learn on
/// text like the text they will see at inference) or the dataset's assistant reply; cuts fall
/// uniformly at random inside the reply, leaving at least N + 1 tokens after each.
public struct TrainingExamples {
    /// Where the reply comes from.
    public enum Reply: Sendable, Equatable {
        /// The model's greedy continuation of this many tokens.
        case selfDistilled(tokens: Int)
        /// The dataset's assistant reply (cut to the sequence length).
        case dataset
    }

    public var template: PromptTemplate
    public var reply: Reply
    /// Longest sequence (context + reply) in tokens; longer contexts are skipped.
    public var maxLength: Int
    /// Cuts per sequence (fewer when the reply is short).
    public var cutsPerSequence: Int
    public var promptTokens: Int
    public var seed: UInt64

    public init(
        template: PromptTemplate = .plain, reply: Reply = .selfDistilled(tokens: 64), maxLength: Int = 256,
        cutsPerSequence: Int = 8, promptTokens: Int = 3, seed: UInt64 = 0
    ) {
        self.template = template
        self.reply = reply
        self.maxLength = maxLength
        self.cutsPerSequence = cutsPerSequence
        self.promptTokens = promptTokens
        self.seed = seed
    }

    /// One prepared example: token ids, where the reply starts, and the cuts.
    public struct Example: Sendable, Codable, Equatable {
        public var id: String
        public var tokens: [Int32]
        public var replyStart: Int
        public var cuts: [Int]
    }

    /// The example of `conversation`, or nil when it has no user turn, its context is too long,
    /// or its reply leaves no room for a cut.
    public func example(
        _ conversation: Conversation, model: LanguageModel, tokenizer: SentencePieceTokenizer, random: inout RandomSource
    ) throws -> Example? {
        guard let context = context(of: conversation, tokenizer: tokenizer) else { return nil }
        var reply: [Int32]? = nil
        if case .selfDistilled = self.reply {
            reply = try AutoregressiveGenerator(model: model).generate(prompt: context, options: replyOptions(context)).tokens
        }
        return example(conversation, context: context, distilled: reply, tokenizer: tokenizer, random: &random)
    }

    /// The tokens of the conversation's first user turn in the template, or nil when it has none or
    /// it leaves no room for a reply.
    func context(of conversation: Conversation, tokenizer: SentencePieceTokenizer) -> [Int32]? {
        guard let userIndex = conversation.turns.firstIndex(where: { $0.role == .user }) else { return nil }
        let context = tokenizer.encode(template.prompt(conversation.turns[userIndex].text))
        guard context.count + promptTokens + 2 <= maxLength else { return nil }
        return context
    }

    /// How a self-distilled reply to `context` is generated: greedy, up to the sequence length.
    func replyOptions(_ context: [Int32]) -> GenerationOptions {
        guard case .selfDistilled(let length) = reply else { return GenerationOptions(maxTokens: 0) }
        return GenerationOptions(maxTokens: min(length, maxLength - context.count))
    }

    /// The example from a context and, for self-distillation, the model's reply to it; cuts drawn
    /// from `random`.
    func example(
        _ conversation: Conversation, context: [Int32], distilled: [Int32]?, tokenizer: SentencePieceTokenizer,
        random: inout RandomSource
    ) -> Example? {
        var reply: [Int32]
        switch self.reply {
        case .selfDistilled:
            reply = distilled ?? []
        case .dataset:
            guard let userIndex = conversation.turns.firstIndex(where: { $0.role == .user }),
                  let answer = conversation.turns[(userIndex + 1)...].first(where: { $0.role == .assistant })
            else { return nil }
            reply = Array(tokenizer.encode(template.replyLead + answer.text, addSpecial: false).prefix(maxLength - context.count))
        }
        let tokens = context + reply
        guard let cuts = cuts(tokens: tokens, replyStart: context.count, random: &random) else { return nil }
        return Example(id: conversation.id, tokens: tokens, replyStart: context.count, cuts: cuts)
    }

    /// `cutsPerSequence` distinct cuts (fewer when the reply is short), ascending, drawn
    /// uniformly from [replyStart, tokens.count - promptTokens - 1]: the context ends inside the
    /// reply (replyStart cuts right after the template's assistant prefix) and promptTokens + 1
    /// tokens follow. Nil when the reply leaves no room for a cut.
    public func cuts(tokens: [Int32], replyStart low: Int, random: inout RandomSource) -> [Int]? {
        let high = tokens.count - promptTokens - 1
        guard high >= low else { return nil }
        var cuts = Set<Int>()
        let wanted = min(cutsPerSequence, high - low + 1)
        while cuts.count < wanted { cuts.insert(low + Int(random.next() % UInt64(high - low + 1))) }
        return cuts.sorted()
    }

    /// Examples from `pool`, in its order, until there are `wanted`: `existing` first (as many
    /// as wanted), then one per further conversation that gives one, skipping conversations
    /// `existing` already holds (by id). `checkpoint` receives all examples so far after every
    /// `checkpointEvery` new ones and once at the end when any were added, so that an
    /// interrupted preparation resumes from the saved ones; `progress` gets the count after each
    /// new example. Self-distilled replies are generated `batchSize` conversations at a time in
    /// shared forward passes (`BatchGenerator`); the examples are the same for every batch size
    /// (each reply is what the model gives alone, and cuts are drawn in pool order).
    public func prepare(
        pool: [Conversation], wanted: Int, existing: [Example], model: LanguageModel, tokenizer: SentencePieceTokenizer,
        random: inout RandomSource, batchSize: Int = 1, checkpointEvery: Int = 50, checkpoint: ([Example]) throws -> Void = { _ in },
        progress: (Int) -> Void = { _ in }
    ) throws -> [Example] {
        var prepared = Array(existing.prefix(wanted))
        let held = Set(prepared.map(\.id))
        var added = 0
        let candidates = pool.filter { !held.contains($0.id) }
        var next = 0
        while prepared.count < wanted && next < candidates.count {
            // The next conversations with a usable context, as many as the examples still wanted
            // (at most one batch), and their replies in one batched generation.
            var window: [(conversation: Conversation, context: [Int32])] = []
            while next < candidates.count && window.count < min(max(batchSize, 1), wanted - prepared.count) {
                if let context = context(of: candidates[next], tokenizer: tokenizer) { window.append((candidates[next], context)) }
                next += 1
            }
            var replies = [[Int32]?](repeating: nil, count: window.count)
            if case .selfDistilled = reply, !window.isEmpty {
                let results = try BatchGenerator(model: model).generate(
                    prompts: window.map(\.context), options: window.map { replyOptions($0.context) }, batchSize: max(batchSize, 1))
                replies = results.map(\.tokens)
            }
            for (k, item) in window.enumerated() where prepared.count < wanted {
                guard let example = example(item.conversation, context: item.context, distilled: replies[k], tokenizer: tokenizer, random: &random)
                else { continue }
                prepared.append(example)
                added += 1
                progress(prepared.count)
                if added % max(checkpointEvery, 1) == 0 { try checkpoint(prepared) }
            }
        }
        if added > 0 && added % max(checkpointEvery, 1) != 0 { try checkpoint(prepared) }
        return prepared
    }

    /// A file of prepared examples (self-distilled replies take most of the preparation time):
    /// JSON `{"format": "ppd-examples/1", "model_sha256", "description", "examples": [...]}`.
    public struct File: Codable, Equatable {
        public var format = "ppd-examples/1"
        public var modelSHA256: String
        /// How the examples were made (template, reply, lengths, cuts, seed).
        public var description: String
        public var examples: [Example]

        public init(modelSHA256: String, description: String, examples: [Example]) {
            self.modelSHA256 = modelSHA256
            self.description = description
            self.examples = examples
        }

        enum CodingKeys: String, CodingKey {
            case format, modelSHA256 = "model_sha256", description, examples
        }

        /// Reads a file; throws naming the file when it cannot be read, is not an examples file,
        /// or was made with another model.
        public static func load(from url: URL, modelSHA256: String) throws -> File {
            let file: File
            do {
                file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
            } catch {
                throw TrainingError("\(url.path): not a readable examples file: \(error.localizedDescription)")
            }
            guard file.format == "ppd-examples/1" else { throw TrainingError("\(url.path): unknown format \(file.format)") }
            guard file.modelSHA256 == modelSHA256 else {
                throw TrainingError("\(url.path): examples were made with model \(file.modelSHA256), not \(modelSHA256)")
            }
            return file
        }

        /// Writes the file atomically.
        public func save(to url: URL) throws {
            try JSONEncoder().encode(self).write(to: url, options: .atomic)
        }
    }
}
