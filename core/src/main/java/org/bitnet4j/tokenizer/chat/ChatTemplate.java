package org.bitnet4j.tokenizer.chat;

import java.util.List;

/**
 * Formats a conversation into the prompt text a chat model was trained on. The text contains the
 * special tokens as text (for example {@code <|eot_id|>}), usually including the BOS token: encode
 * it with {@link ChatTemplates#encodePrompt}, which parses special tokens and adds BOS only if the
 * template did not.
 */
public interface ChatTemplate {
    /**
     * @param addGenerationPrompt end with the opening of an assistant turn, so that generation
     *                            continues as the assistant
     * @throws ChatTemplateException if the template rejects the conversation
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);
}
