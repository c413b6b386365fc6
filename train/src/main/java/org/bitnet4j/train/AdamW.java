package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;

/**
 * AdamW with decoupled weight decay on the matrices (embedding and projections; norms are not decayed) and clipping
 * by the global gradient norm. The norm is summed in double over fixed chunks and the chunk sums added in order, so it
 * is the same number for any thread count.
 */
final class AdamW {
    private static final int CHUNK = 1 << 14;

    final float[] m, v;
    private final ParamLayout layout;
    private final byte[] decay; // per parameter: 1 = decayed

    AdamW(ParamLayout layout) {
        this.layout = layout;
        this.m = new float[layout.size()];
        this.v = new float[layout.size()];
        this.decay = new byte[layout.size()];
        for (ParamLayout.Tensor t : layout.tensors()) {
            if (t.kind() != ParamLayout.Kind.NORM) {
                java.util.Arrays.fill(decay, t.offset(), t.offset() + t.size(), (byte) 1);
            }
        }
    }

    /** sqrt(sum g^2) */
    static double globalNorm(ThreadPool pool, float[] g) {
        int chunks = (g.length + CHUNK - 1) / CHUNK;
        double[] partial = new double[chunks];
        pool.run(chunks, (c, t) -> {
            int from = c * CHUNK, to = Math.min(g.length, from + CHUNK);
            double s = 0;
            for (int i = from; i < to; i++) {
                s += (double) g[i] * g[i];
            }
            partial[c] = s;
        });
        double sum = 0;
        for (double p : partial) {
            sum += p;
        }
        return Math.sqrt(sum);
    }

    /**
     * One update of w from g (clipped to norm clip; g itself is not modified).
     *
     * @param step 1-based step number for bias correction
     * @return the gradient norm before clipping
     */
    double step(ThreadPool pool, float[] w, float[] g, int step, float lr, float weightDecay, float clip) {
        double norm = globalNorm(pool, g);
        float gs = norm > clip ? (float) (clip / norm) : 1f;
        final float b1 = TrainConfig.BETA1, b2 = TrainConfig.BETA2, eps = TrainConfig.ADAM_EPS;
        final float c1 = (float) (1 - Math.pow(b1, step));
        final float c2 = (float) (1 - Math.pow(b2, step));
        final float decayFactor = 1f - lr * weightDecay;
        int chunks = (w.length + CHUNK - 1) / CHUNK;
        pool.run(chunks, (c, t) -> {
            int from = c * CHUNK, to = Math.min(w.length, from + CHUNK);
            for (int i = from; i < to; i++) {
                float gi = g[i] * gs;
                float mi = b1 * m[i] + (1 - b1) * gi;
                float vi = b2 * v[i] + (1 - b2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                float update = (mi / c1) / ((float) Math.sqrt(vi / c2) + eps);
                float wi = decay[i] != 0 ? w[i] * decayFactor : w[i];
                w[i] = wi - lr * update;
            }
        });
        return norm;
    }

    ParamLayout layout() {
        return layout;
    }
}
