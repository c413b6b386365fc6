package org.bitnet4j.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits, in llama.cpp's order: penalties, top-k, top-p, min-p, temperature, draw.
 * Seeded and reproducible: the same seed, logits and history give the same token. Reuses its buffers.
 */
public final class Sampler {
    private final SamplerParams p;
    private final SplittableRandom random;
    private final int vocab;
    private final float[] work;
    private final int[] idx;
    private final int[] counts;
    private final double[] prob;

    public Sampler(SamplerParams p, int vocab) {
        this.p = p;
        this.vocab = vocab;
        long seed = p.seed() < 0 ? System.nanoTime() : p.seed();
        this.random = new SplittableRandom(seed);
        this.work = new float[vocab];
        this.idx = new int[vocab];
        this.counts = new int[vocab];
        this.prob = new double[vocab];
    }

    /**
     * @param logits  [vocab], not modified
     * @param history tokens so far (prompt and generated) for the penalties; only [0, historyLen) is read
     */
    public int sample(float[] logits, int logitsOff, int[] history, int historyLen) {
        float[] l = work;
        System.arraycopy(logits, logitsOff, l, 0, vocab);
        applyPenalties(l, history, historyLen);
        if (p.temperature() <= 0f) {
            return argmax(l, 0, vocab);
        }
        // candidates sorted by logit, descending, truncated by top-k
        int n = vocab;
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        int k = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        sortTop(l, k);
        n = k;
        // softmax over the candidates (at temperature 1, as llama.cpp's top-p / min-p see them)
        float max = l[idx[0]];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            prob[i] = Math.exp(l[idx[i]] - max);
            sum += prob[i];
        }
        if (p.topP() < 1f) {
            double cum = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cum += prob[i] / sum;
                if (cum >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (p.minP() > 0f) {
            double threshold = p.minP() * prob[0];
            int keep = 1;
            while (keep < n && prob[keep] >= threshold) {
                keep++;
            }
            n = keep;
        }
        // temperature, then draw
        double total = 0;
        for (int i = 0; i < n; i++) {
            prob[i] = Math.exp((l[idx[i]] - max) / p.temperature());
            total += prob[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < n; i++) {
            r -= prob[i];
            if (r < 0) {
                return idx[i];
            }
        }
        return idx[n - 1];
    }

    private void applyPenalties(float[] l, int[] history, int historyLen) {
        boolean repeat = p.repeatPenalty() != 1f;
        boolean presence = p.presencePenalty() != 0f || p.frequencyPenalty() != 0f;
        if ((!repeat && !presence) || p.repeatLastN() == 0 || historyLen == 0) {
            return;
        }
        int from = p.repeatLastN() < 0 ? 0 : Math.max(0, historyLen - p.repeatLastN());
        for (int i = from; i < historyLen; i++) {
            counts[history[i]]++;
        }
        for (int i = from; i < historyLen; i++) {
            int t = history[i];
            int cnt = counts[t];
            if (cnt == 0) {
                continue; // already handled
            }
            if (repeat) {
                l[t] = l[t] > 0 ? l[t] / p.repeatPenalty() : l[t] * p.repeatPenalty();
            }
            l[t] -= cnt * p.frequencyPenalty() + p.presencePenalty();
            counts[t] = 0;
        }
    }

    /** Partially sorts idx so its first k entries are the k largest logits, descending (ties: lower id first). */
    private void sortTop(float[] l, int k) {
        if (k < vocab / 8) {
            // selection via a small insertion buffer: O(vocab * k) worst case but k is small
            int filled = 0;
            for (int i = 0; i < vocab; i++) {
                float v = l[i];
                if (filled == k && v <= l[idx[k - 1]]) {
                    continue;
                }
                int j = filled < k ? filled++ : k - 1;
                while (j > 0 && l[idx[j - 1]] < v) {
                    idx[j] = idx[j - 1];
                    j--;
                }
                idx[j] = i;
            }
            return;
        }
        Integer[] boxed = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            boxed[i] = i;
        }
        Arrays.sort(boxed, (a, b) -> l[a] != l[b] ? Float.compare(l[b], l[a]) : Integer.compare(a, b));
        for (int i = 0; i < vocab; i++) {
            idx[i] = boxed[i];
        }
    }

    public static int argmax(float[] l, int off, int n) {
        int best = 0;
        float bv = l[off];
        for (int i = 1; i < n; i++) {
            if (l[off + i] > bv) {
                bv = l[off + i];
                best = i;
            }
        }
        return best;
    }
}
