package org.bitnet4j.generate;

import org.bitnet4j.model.ActivationMode;

/**
 * @param threads       compute threads (-t)
 * @param contextLength KV cache size in tokens (-c); 0 = the model's context_length
 * @param batchSize     prompt tokens evaluated per forward pass (-b)
 * @param mode          int8 (BitNet's math, default) or float activations
 */
public record SessionOptions(int threads, int contextLength, int batchSize, ActivationMode mode) {
    public static SessionOptions defaults() {
        return new SessionOptions(Runtime.getRuntime().availableProcessors(), 0, 128, ActivationMode.INT8);
    }

    public SessionOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (contextLength < 0) {
            throw new IllegalArgumentException("context length must be >= 0, got " + contextLength);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
    }

    public SessionOptions withThreads(int t) {
        return new SessionOptions(t, contextLength, batchSize, mode);
    }

    public SessionOptions withContext(int c) {
        return new SessionOptions(threads, c, batchSize, mode);
    }

    public SessionOptions withMode(ActivationMode m) {
        return new SessionOptions(threads, contextLength, batchSize, m);
    }

    public SessionOptions withBatch(int b) {
        return new SessionOptions(threads, contextLength, b, mode);
    }
}
