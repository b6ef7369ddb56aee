import Tokenizer

/// How chat messages become the prompt text, with the stop sequences that end the assistant's
/// turn when the template's end marker is not a stop token.
public struct ChatPrompt: Sendable, Equatable {
    public let template: PromptTemplate

    public init(template: PromptTemplate) { self.template = template }

    /// The template a model's GGUF chat template (`tokenizer.chat_template`) points to: Gemma's
    /// turn markers when it uses them, Vicuna's for its `USER:`/`ASSISTANT:` form, else the plain
    /// template (which suits base models such as the default one, which has no chat template).
    public static func template(forChatTemplate text: String?) -> PromptTemplate {
        guard let text else { return .plain }
        if text.contains("<start_of_turn>") { return .gemma }
        if text.contains("ASSISTANT:") { return .vicuna }
        return .plain
    }

    /// The prompt text for `messages`: system messages replace the template's preamble, user and
    /// assistant turns are wrapped in its markers, and the text ends where the reply begins.
    public func text(for messages: [ChatMessage]) -> String {
        let system = messages.filter { $0.role == "system" }.map(\.content)
        var text = system.isEmpty ? template.preamble : system.joined(separator: "\n") + "\n"
        for message in messages where message.role != "system" {
            if message.role == "user" {
                text += template.userPrefix + message.content + template.userSuffix
            } else {
                text += template.assistantPrefix + template.replyLead + message.content + template.assistantSuffix
            }
        }
        return text + template.assistantPrefix
    }

    /// Stop sequences that end the reply: the start of the next user turn for templates whose
    /// turns end in plain text (a base model goes on to write the user's next line).
    public var stopSequences: [String] {
        switch template.name {
        case PromptTemplate.plain.name: return ["\n" + template.userPrefix.trimmingTrailingSpaces()]
        case PromptTemplate.vicuna.name: return [template.userPrefix.trimmingTrailingSpaces()]
        default: return []
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
