package org.bitnet4j.tokenizer.chat;

/** A chat template that cannot be compiled, or that rejected a conversation (Jinja's raise_exception). */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
