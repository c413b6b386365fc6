package org.bitnet4j.tokenizer;

/**
 * A tokenizer file (Hugging Face tokenizer.json and friends) that cannot be used as it is. The
 * message names the file and the field at fault so that it can be shown to a user alone. Problems
 * in GGUF metadata are reported as {@link org.bitnet4j.gguf.GgufFormatException} instead.
 */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
