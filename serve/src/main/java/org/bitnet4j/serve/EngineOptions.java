package org.bitnet4j.serve;

import org.bitnet4j.model.ActivationMode;

/**
 * How the batching engine is sized.
 *
 * @param slots         sequences generated at once, each with its own KV cache (-np)
 * @param contextLength KV cache size of one slot in tokens (-c); prompt plus completion must fit
 * @param threads       compute threads of the forward pass (-t)
 * @param batchSize     rows (tokens) one forward call evaluates at most: decode rows first, prefill fills the rest (-b)
 * @param queueCapacity requests that may wait for a free slot; one more is refused (HTTP 503)
 * @param mode          int8 activations (BitNet's math) or float
 */
public record EngineOptions(int slots, int contextLength, int threads, int batchSize, int queueCapacity,
                            ActivationMode mode) {
    public EngineOptions {
        if (slots < 1) {
            throw new IllegalArgumentException("slots (-np) must be >= 1, got " + slots);
        }
        if (contextLength < 2) {
            throw new IllegalArgumentException("context (-c) must be >= 2 tokens, got " + contextLength);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads (-t) must be >= 1, got " + threads);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size (-b) must be >= 1, got " + batchSize);
        }
        if (queueCapacity < 0) {
            throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
        }
        if (mode == null) {
            mode = ActivationMode.INT8;
        }
    }

    /** Rows per forward call: at least one decode row per slot must always fit. */
    int rowsPerStep() {
        return Math.max(batchSize, slots);
    }
}
