package org.bitnet4j.generate;

/** Receives generated text as it becomes final (complete UTF-8, never part of a stop string). */
@FunctionalInterface
public interface TokenListener {
    /** @return false to stop generating (e.g. the client went away) */
    boolean onText(String text);

    TokenListener NONE = t -> true;
}
