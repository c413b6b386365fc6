package org.bitnet4j.generate;

/**
 * @param text             generated text (stop strings excluded)
 * @param promptTokens     tokens of the prompt
 * @param cachedTokens     prompt tokens reused from the KV cache (not evaluated again)
 * @param generatedTokens  tokens sampled
 * @param promptNanos      time spent evaluating the (non-cached) prompt
 * @param generationNanos  time spent generating
 */
public record GenerationResult(String text, FinishReason finishReason, int promptTokens, int cachedTokens,
                               int generatedTokens, long promptNanos, long generationNanos) {
    public double promptTokensPerSecond() {
        int evaluated = promptTokens - cachedTokens;
        return promptNanos == 0 ? 0 : evaluated * 1e9 / promptNanos;
    }

    public double generationTokensPerSecond() {
        return generationNanos == 0 ? 0 : generatedTokens * 1e9 / generationNanos;
    }
}
