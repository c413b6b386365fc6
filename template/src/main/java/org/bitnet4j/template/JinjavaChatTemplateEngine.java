package org.bitnet4j.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplateEngine;
import org.bitnet4j.tokenizer.chat.ChatTemplateException;

/**
 * Jinja chat templates rendered by jinjava, configured like transformers' apply_chat_template:
 * trim_blocks and lstrip_blocks on, no re-interpretation of rendered text (message content that
 * contains "{{" stays text), unknown names are empty, and {@code raise_exception(msg)} aborts
 * rendering with a {@link ChatTemplateException} carrying msg. Found by core through
 * {@link java.util.ServiceLoader}.
 */
public final class JinjavaChatTemplateEngine implements ChatTemplateEngine {
    /** A runaway template (a loop over its own output) stops here instead of filling the heap. */
    private static final long MAX_OUTPUT_CHARS = 16L << 20;

    private final Jinjava jinjava;

    public JinjavaChatTemplateEngine() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .build();
        jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjavaChatTemplateEngine.class, "raiseException", String.class));
    }

    /** Jinja's raise_exception as the HF templates use it; public because jinjava calls it reflectively. */
    public static String raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** Thrown inside jinjava by raise_exception; recognised again when rendering fails. */
    static final class RaisedByTemplate extends RuntimeException {
        RaisedByTemplate(String message) {
            super(message);
        }
    }

    @Override
    public ChatTemplate compile(String source, String bosToken, String eosToken) {
        if (source == null || source.isBlank()) throw new ChatTemplateException("the chat template is empty");
        return new JinjavaChatTemplate(jinjava, source, bosToken == null ? "" : bosToken, eosToken == null ? "" : eosToken);
    }
}
