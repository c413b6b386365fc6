package org.bitnet4j.gguf;

/**
 * A GGUF file that cannot be read as it is. The message is meant for a user: it names the file and
 * the key, tensor or byte offset that is wrong, so the CLI can print it alone.
 */
public class GgufFormatException extends RuntimeException {
    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
