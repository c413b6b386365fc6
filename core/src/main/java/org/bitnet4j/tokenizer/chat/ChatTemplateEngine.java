package org.bitnet4j.tokenizer.chat;

/**
 * Renders Jinja chat templates (GGUF {@code tokenizer.chat_template}, Hugging Face
 * {@code chat_template}). Core has no Jinja implementation; the {@code bitnet4j-template} module
 * provides one through {@link java.util.ServiceLoader}, and {@link ChatTemplates} uses it when it is
 * on the class path.
 */
public interface ChatTemplateEngine {
    /**
     * Prepares a template. Rendering sees {@code messages} (a list of maps with "role" and
     * "content"), {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} and
     * {@code raise_exception(message)}, with trim_blocks and lstrip_blocks on as in transformers.
     *
     * @throws ChatTemplateException if the source is not a usable template
     */
    ChatTemplate compile(String source, String bosToken, String eosToken);
}
