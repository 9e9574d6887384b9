/// One message of a conversation, for ``Tokenizer/applyChatTemplate(_:addGenerationPrompt:)``.
public struct ChatMessage: Sendable, Equatable {
    /// The speaker: `system`, `user`, `assistant`, … (the template decides what is valid).
    public var role: String
    /// The text of the message.
    public var content: String

    /// Creates a message.
    ///
    /// - Parameters:
    ///   - role: the speaker.
    ///   - content: the text.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

extension Tokenizer {
    /// Renders a conversation with `tokenizer_config.json`'s `chat_template`, as transformers'
    /// `apply_chat_template(messages, tokenize=False, add_generation_prompt:)` renders it.
    ///
    /// Encode the result with `addSpecialTokens: false` (the template writes its own special
    /// tokens), as transformers does. The template language is a subset of Jinja (the subset
    /// ChatML-style templates use: `for`, `if`/`elif`/`else`, `set`, output of expressions with
    /// `+`, `~`, comparisons, `and`/`or`/`not`, `in`, subscripts and attributes, `loop.*`, the
    /// filters `trim`, `length`, `upper`, `lower`, the tests `defined`, `none`, `string`, and
    /// `raise_exception`; blocks trimmed as transformers' `trim_blocks` and `lstrip_blocks` do).
    ///
    /// - Parameters:
    ///   - messages: the conversation.
    ///   - addGenerationPrompt: whether to end with the prompt for the assistant's answer.
    /// - Returns: the rendered text.
    /// - Throws: ``TokenizerError/chatTemplate(reason:)`` when there is no template, it uses a
    ///   construct outside the subset, or it raises an exception.
    public func applyChatTemplate(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws(TokenizerError)
        -> String
    {
        guard let source = configuration.chatTemplate else {
            throw .chatTemplate(reason: "tokenizer_config.json has no chat_template")
        }
        let template: ChatTemplate
        do { template = try ChatTemplate(source) } catch { throw .chatTemplate(reason: error.reason) }
        let c = configuration
        func name(_ s: String?) -> TemplateValue { s.map { .string($0) } ?? .none }
        let variables: [String: TemplateValue] = [
            "messages": .list(
                messages.map { .dictionary(["role": .string($0.role), "content": .string($0.content)]) }),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": name(c.bosToken), "eos_token": name(c.eosToken), "unk_token": name(c.unknownToken),
            "pad_token": name(c.padToken),
        ]
        do { return try template.render(variables) } catch { throw .chatTemplate(reason: error.reason) }
    }
}
