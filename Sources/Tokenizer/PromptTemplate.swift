/// How a conversation becomes model input text. Templates are data: a base model needs a plain
/// template, an instruction-tuned model the turn markers it was tuned with. Training and
/// evaluation must use the same template, and every reported number names it.
public struct PromptTemplate: Sendable, Equatable {
    /// The template's name (`plain`, `gemma`, `vicuna`).
    public let name: String
    /// Text before everything (a system prompt), may be empty.
    public let preamble: String
    public let userPrefix: String
    public let userSuffix: String
    /// Text that opens the assistant's turn; generation starts right after it.
    public let assistantPrefix: String
    public let assistantSuffix: String
    /// Put before an assistant reply's text (e.g. the space after "Assistant:").
    public let replyLead: String

    public init(
        name: String, preamble: String = "", userPrefix: String, userSuffix: String, assistantPrefix: String,
        assistantSuffix: String, replyLead: String = ""
    ) {
        self.name = name
        self.preamble = preamble
        self.userPrefix = userPrefix
        self.userSuffix = userSuffix
        self.assistantPrefix = assistantPrefix
        self.assistantSuffix = assistantSuffix
        self.replyLead = replyLead
    }

    /// `User: ...\nAssistant:` for base models (the default model is one).
    public static let plain = PromptTemplate(
        name: "plain", userPrefix: "User: ", userSuffix: "\n", assistantPrefix: "Assistant:", assistantSuffix: "\n",
        replyLead: " ")
    /// Gemma's turn markers, for instruction-tuned Gemma.
    public static let gemma = PromptTemplate(
        name: "gemma", userPrefix: "<start_of_turn>user\n", userSuffix: "<end_of_turn>\n",
        assistantPrefix: "<start_of_turn>model\n", assistantSuffix: "<end_of_turn>\n")
    /// Vicuna v1.1's template.
    public static let vicuna = PromptTemplate(
        name: "vicuna",
        preamble:
            "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. ",
        userPrefix: "USER: ", userSuffix: " ", assistantPrefix: "ASSISTANT:", assistantSuffix: "</s>", replyLead: " ")

    /// The templates by name.
    public static let all: [PromptTemplate] = [.plain, .gemma, .vicuna]

    /// The template called `name`, or nil.
    public static func named(_ name: String) -> PromptTemplate? { all.first { $0.name == name } }

    /// The input for one question, ending where the assistant's reply begins.
    public func prompt(_ question: String) -> String { preamble + userPrefix + question + userSuffix + assistantPrefix }
}
