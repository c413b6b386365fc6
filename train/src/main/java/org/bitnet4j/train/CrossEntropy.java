package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;

/**
 * Softmax cross-entropy per row of logits.
 *
 * <p>Evaluation ({@link #nll}) computes the log-softmax in double exactly as the engine's perplexity does
 * ({@code org.bitnet4j.generate.Perplexity.logSoftmax}: max in float, sum of exp((double) l - max), log in double), so
 * trainer and engine losses are comparable to float rounding of the logits. Training ({@link #forwardBackward}) uses
 * {@link FastExp} in float, which is several times cheaper and equally deterministic.
 */
final class CrossEntropy {
    private CrossEntropy() {}

    /** nll[nllOff + r] = -log softmax(logits[r])[target]; rows with a negative target get 0. */
    static void nll(ThreadPool pool, int n, int vocab, float[] logits, int[] targets, int tOff, double[] nll, int nllOff) {
        BitLinear.forRows(pool, n, vocab, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * vocab;
                int target = targets[tOff + r];
                if (target < 0) {
                    nll[nllOff + r] = 0;
                    continue;
                }
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < vocab; i++) {
                    max = Math.max(max, logits[o + i]);
                }
                double sum = 0;
                for (int i = 0; i < vocab; i++) {
                    sum += Math.exp((double) logits[o + i] - max);
                }
                nll[nllOff + r] = -((double) logits[o + target] - max - Math.log(sum));
            }
        });
    }

    /**
     * Loss and gradient: nll as {@link #nll} (float exp), and logits replaced in place by
     * {@code gradScale * (softmax - onehot(target))} (zero for rows with a negative target).
     */
    static void forwardBackward(ThreadPool pool, int n, int vocab, float[] logits, int[] targets, int tOff, double[] nll,
                                int nllOff, float gradScale) {
        BitLinear.forRows(pool, n, vocab, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * vocab;
                int target = targets[tOff + r];
                if (target < 0) {
                    nll[nllOff + r] = 0;
                    java.util.Arrays.fill(logits, o, o + vocab, 0f);
                    continue;
                }
                float max = FastExp.max(logits, o, vocab);
                float lt = logits[o + target];
                double sum = FastExp.expInPlace(logits, o, vocab, max, true);
                nll[nllOff + r] = -((double) lt - max - Math.log(sum));
                float k = (float) (gradScale / sum);
                for (int i = o, e = o + vocab; i < e; i++) {
                    logits[i] = logits[i] * k;
                }
                logits[o + target] -= gradScale;
            }
        });
    }
}
