package org.bitnet4j.model;

import org.bitnet4j.tensor.Matrix;

/**
 * The weights of one transformer block. Matrices are [rows][cols] = [out][in].
 * Sub-norms are null for architectures without them; scales are 1 unless the file has {@code .scale} tensors.
 */
public record Layer(
        float[] attnNorm,     // [dim]
        Matrix wq,            // [qDim][dim]
        Matrix wk,            // [kvDim][dim]
        Matrix wv,            // [kvDim][dim]
        float[] attnSubNorm,  // [qDim] or null
        Matrix wo,            // [dim][qDim]
        float[] ffnNorm,      // [dim]
        Matrix wGate,         // [ffn][dim]
        Matrix wUp,           // [ffn][dim]
        float[] ffnSubNorm,   // [ffn] or null
        Matrix wDown,         // [dim][ffn]
        float[] scales        // q, k, v, o, gate, up, down multipliers
) {
    public static final int Q = 0, K = 1, V = 2, O = 3, GATE = 4, UP = 5, DOWN = 6;
}
