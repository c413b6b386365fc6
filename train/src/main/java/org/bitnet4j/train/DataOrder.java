package org.bitnet4j.train;

/**
 * Which training windows step s reads, as a pure function of (seed, s): nothing to save for an exact resume.
 *
 * <p>The token stream is cut into windows of {@code seqLen} tokens, each read as the sequence {@code [BOS, w0 ..
 * w(T-2)]} with targets {@code [w0 .. w(T-1)]}. Every epoch shifts the cut by a seeded offset (so window borders move)
 * and visits the windows in a seeded random permutation; sequence g of the run is window perm_e[g mod W] of epoch
 * e = g / W.
 */
final class DataOrder {
    private final int[] stream;
    private final int seqLen, bos;
    private final long seed;
    private final int windows;
    private int cachedEpoch = -1;
    private int[] perm;
    private int shift;

    DataOrder(int[] stream, int seqLen, int bos, long seed) {
        if (stream.length < 2 * seqLen) {
            throw new IllegalArgumentException("the training text has " + stream.length + " tokens; it needs at least "
                    + 2 * seqLen + " (two windows of the context length " + seqLen + ")");
        }
        this.stream = stream;
        this.seqLen = seqLen;
        this.bos = bos;
        this.seed = seed;
        this.windows = (stream.length - (seqLen - 1)) / seqLen;
    }

    int windowsPerEpoch() {
        return windows;
    }

    /** Fills inputs/targets [batch][seqLen] for the given step. */
    void batch(int step, int batch, int[] inputs, int[] targets) {
        for (int b = 0; b < batch; b++) {
            long g = (long) step * batch + b;
            int epoch = (int) (g / windows);
            int index = (int) (g % windows);
            if (epoch != cachedEpoch) {
                permute(epoch);
            }
            int start = shift + perm[index] * seqLen;
            int o = b * seqLen;
            inputs[o] = bos;
            for (int t = 0; t < seqLen; t++) {
                if (t > 0) {
                    inputs[o + t] = stream[start + t - 1];
                }
                targets[o + t] = stream[start + t];
            }
        }
    }

    private void permute(int epoch) {
        Rng rng = new Rng(Rng.derive(seed, 0x0DA7A, epoch));
        shift = epoch == 0 ? 0 : rng.nextInt(seqLen);
        perm = new int[windows];
        for (int i = 0; i < windows; i++) {
            perm[i] = i;
        }
        for (int i = windows - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        cachedEpoch = epoch;
    }
}
