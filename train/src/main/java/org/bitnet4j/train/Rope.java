package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;

/**
 * NEOX rotary position embedding: in every head of size d, pairs (i, i + d/2) rotate by angle p * theta_i with
 * theta_i = base^(-2i/d), p the position in the sequence. The table is computed as the engine computes it (double,
 * rounded once), so rotated values agree bit for bit.
 *
 * <p>Rotation is orthogonal, so backward rotates the gradient by -angle.
 */
final class Rope {
    final int headDim, half, maxPos;
    final float[] cos, sin; // [maxPos][half]

    Rope(int headDim, int maxPos, float theta) {
        this.headDim = headDim;
        this.half = headDim / 2;
        this.maxPos = maxPos;
        cos = new float[maxPos * half];
        sin = new float[maxPos * half];
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(theta, -2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /**
     * Rotates x [n][heads * headDim] in place; row r is at position r % seqLen.
     *
     * @param inverse false: forward rotation; true: by -angle (the backward pass)
     */
    void apply(ThreadPool pool, float[] x, int n, int heads, int seqLen, boolean inverse) {
        int width = heads * headDim;
        BitLinear.forRows(pool, n, width, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = (r % seqLen) * half;
                for (int h = 0; h < heads; h++) {
                    int o = r * width + h * headDim;
                    for (int i = 0; i < half; i++) {
                        float c = cos[base + i], s = inverse ? -sin[base + i] : sin[base + i];
                        float x0 = x[o + i], x1 = x[o + i + half];
                        x[o + i] = x0 * c - x1 * s;
                        x[o + i + half] = x0 * s + x1 * c;
                    }
                }
            }
        });
    }
}
