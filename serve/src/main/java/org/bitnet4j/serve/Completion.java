package org.bitnet4j.serve;

import org.bitnet4j.generate.FinishReason;

/**
 * The outcome of one request.
 *
 * @param text             all text generated (stop strings excluded)
 * @param promptTokens     tokens of the prompt
 * @param cachedTokens     prompt tokens found in the slot's cache (left by an earlier request), not evaluated again
 * @param completionTokens tokens sampled (the end-of-generation token included, as OpenAI counts)
 */
public record Completion(String text, FinishReason finishReason, int promptTokens, int cachedTokens,
                         int completionTokens) {
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
