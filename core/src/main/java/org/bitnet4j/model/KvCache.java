package org.bitnet4j.model;

/**
 * Keys and values of one sequence, per layer: [contextLength][kvDim] each, float32 (keys after RoPE).
 * Kept in float so the float reference path matches a float64 forward pass; 2B4T at 4096 tokens is 630 MB.
 */
public final class KvCache {
    public final int contextLength;
    public final int kvDim;
    final float[][] keys;
    final float[][] values;

    public KvCache(ModelConfig c, int contextLength) {
        if (contextLength <= 0 || contextLength > c.contextLength()) {
            throw new ModelException("context length " + contextLength + " is outside 1.." + c.contextLength()
                    + " (the model's context_length)");
        }
        this.contextLength = contextLength;
        this.kvDim = c.kvDim();
        long bytes = 2L * c.layers() * contextLength * kvDim * Float.BYTES;
        long free = Runtime.getRuntime().maxMemory() - (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
        if (bytes > free) {
            throw new ModelException("a KV cache of " + contextLength + " tokens needs " + (bytes >> 20)
                    + " MiB but only " + (free >> 20) + " MiB of heap is free: use a smaller context (-c)");
        }
        keys = new float[c.layers()][Math.multiplyExact(contextLength, kvDim)];
        values = new float[c.layers()][Math.multiplyExact(contextLength, kvDim)];
    }
}
