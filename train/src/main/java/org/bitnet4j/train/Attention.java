package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;

/**
 * Causal grouped-query attention over a batch of sequences: query head h reads key/value head h / (heads / kvHeads),
 * scores scaled by 1/sqrt(headDim), softmax over positions 0..i.
 *
 * <p>One parallel task per (sequence, kv head), which also owns the gradients of that kv head: the heads of a group
 * add into it in a fixed order, so nothing depends on the thread count. Products run on {@link Gemm} in row blocks of
 * {@link #RB} so that the causal mask costs at most one block of wasted work per row block.
 *
 * <pre>
 * forward:  S = scale Q_h K^T (masked), P = softmax(S), O_h = P V
 * backward: dP = dO_h V^T, dS = P (dP - rowsum(P dP)) scale, dQ_h = dS K, dK += dS^T Q_h, dV += P^T dO_h
 * </pre>
 */
final class Attention {
    static final int RB = 32;

    final int batch, seqLen, heads, kvHeads, headDim;
    final float scale;
    private final float[][] bufA, bufB, kvT; // per thread: [T][T], [T][T], [headDim][T]

    Attention(int batch, int seqLen, int heads, int kvHeads, int headDim, int threads) {
        this.batch = batch;
        this.seqLen = seqLen;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        bufA = new float[threads][seqLen * seqLen];
        bufB = new float[threads][seqLen * seqLen];
        kvT = new float[threads][headDim * seqLen];
    }

    int qDim() {
        return heads * headDim;
    }

    int kvDim() {
        return kvHeads * headDim;
    }

    /**
     * @param q   [B*T][qDim] (after RoPE)
     * @param k   [B*T][kvDim] (after RoPE)
     * @param v   [B*T][kvDim]
     * @param p   [B][heads][T][T] receives the probabilities (zero above the diagonal)
     * @param out [B*T][qDim]
     */
    void forward(ThreadPool pool, float[] q, float[] k, float[] v, float[] p, float[] out) {
        final int T = seqLen, hd = headDim, qd = qDim(), kvd = kvDim(), group = heads / kvHeads;
        run(pool, (b, kvh, thread) -> {
            float[] kT = kvT[thread];
            Gemm.transpose(k, b * T * kvd + kvh * hd, T, hd, kvd, kT, 0, T);   // kT [hd][T]
            for (int g = 0; g < group; g++) {
                int h = kvh * group + g;
                int pOff = (b * heads + h) * T * T;
                for (int i0 = 0; i0 < T; i0 += RB) {
                    int i1 = Math.min(T, i0 + RB);
                    // S[i0..i1][0..i1) = scale * Q_h K^T
                    Gemm.gemm(i1 - i0, i1, hd, scale, q, (b * T + i0) * qd + h * hd, qd, kT, 0, T, p, pOff + i0 * T, T,
                            false);
                    for (int i = i0; i < i1; i++) {
                        softmaxRow(p, pOff + i * T, i + 1, T);
                    }
                    // O_h[i0..i1) = P[i0..i1][0..i1) V[0..i1)
                    Gemm.gemm(i1 - i0, hd, i1, 1f, p, pOff + i0 * T, T, v, b * T * kvd + kvh * hd, kvd, out,
                            (b * T + i0) * qd + h * hd, qd, false);
                }
            }
        });
    }

    /** Softmax over the first len entries of a row; the rest of the row becomes 0. */
    static void softmaxRow(float[] s, int off, int len, int width) {
        float max = FastExp.max(s, off, len);
        float inv = (float) (1.0 / FastExp.expInPlace(s, off, len, max, true));
        for (int j = 0; j < len; j++) {
            s[off + j] = s[off + j] * inv;
        }
        java.util.Arrays.fill(s, off + len, off + width, 0f);
    }

    /**
     * @param dOut [B*T][qDim] gradient of the output
     * @param dq   [B*T][qDim] set to the query gradient
     * @param dk   [B*T][kvDim] set to the key gradient
     * @param dv   [B*T][kvDim] set to the value gradient
     */
    void backward(ThreadPool pool, float[] q, float[] k, float[] v, float[] p, float[] dOut, float[] dq, float[] dk,
                  float[] dv) {
        final int T = seqLen, hd = headDim, qd = qDim(), kvd = kvDim(), group = heads / kvHeads;
        run(pool, (b, kvh, thread) -> {
            float[] dP = bufA[thread], tr = bufB[thread], vT = kvT[thread];
            int kvOff = b * T * kvd + kvh * hd;
            for (int t = 0; t < T; t++) {
                java.util.Arrays.fill(dk, kvOff + t * kvd, kvOff + t * kvd + hd, 0f);
                java.util.Arrays.fill(dv, kvOff + t * kvd, kvOff + t * kvd + hd, 0f);
            }
            Gemm.transpose(v, kvOff, T, hd, kvd, vT, 0, T);                   // vT [hd][T]
            for (int g = 0; g < group; g++) {
                int h = kvh * group + g;
                int pOff = (b * heads + h) * T * T;
                int qOff = b * T * qd + h * hd;
                for (int i0 = 0; i0 < T; i0 += RB) {
                    int i1 = Math.min(T, i0 + RB);
                    // dP[i0..i1][0..i1) = dO_h V^T
                    Gemm.gemm(i1 - i0, i1, hd, 1f, dOut, qOff + i0 * qd, qd, vT, 0, T, dP, i0 * T, T, false);
                    for (int i = i0; i < i1; i++) {
                        int r = i * T;
                        double d = 0;
                        for (int j = 0; j <= i; j++) {
                            d += (double) p[pOff + r + j] * dP[r + j];
                        }
                        float dd = (float) d;
                        for (int j = 0; j <= i; j++) {
                            dP[r + j] = p[pOff + r + j] * (dP[r + j] - dd) * scale;
                        }
                        java.util.Arrays.fill(dP, r + i + 1, r + T, 0f);
                    }
                    // dQ_h[i0..i1) = dS[i0..i1][0..i1) K[0..i1)
                    Gemm.gemm(i1 - i0, hd, i1, 1f, dP, i0 * T, T, k, kvOff, kvd, dq, qOff + i0 * qd, qd, false);
                }
                // dK += dS^T Q_h and dV += P^T dO_h; row j of a transpose is nonzero from column j on
                Gemm.transpose(dP, 0, T, T, T, tr, 0, T);
                for (int j0 = 0; j0 < T; j0 += RB) {
                    int j1 = Math.min(T, j0 + RB);
                    Gemm.gemm(j1 - j0, hd, T - j0, 1f, tr, j0 * T + j0, T, q, qOff + j0 * qd, qd, dk, kvOff + j0 * kvd,
                            kvd, true);
                }
                Gemm.transpose(p, pOff, T, T, T, tr, 0, T);
                for (int j0 = 0; j0 < T; j0 += RB) {
                    int j1 = Math.min(T, j0 + RB);
                    Gemm.gemm(j1 - j0, hd, T - j0, 1f, tr, j0 * T + j0, T, dOut, qOff + j0 * qd, qd, dv,
                            kvOff + j0 * kvd, kvd, true);
                }
            }
        });
    }

    @FunctionalInterface
    private interface Task {
        void run(int b, int kvh, int thread);
    }

    private void run(ThreadPool pool, Task task) {
        int n = batch * kvHeads;
        if (pool == null) {
            for (int i = 0; i < n; i++) {
                task.run(i / kvHeads, i % kvHeads, 0);
            }
            return;
        }
        pool.run(n, (i, thread) -> task.run(i / kvHeads, i % kvHeads, thread));
    }
}
