package org.bitnet4j.trainer;

/**
 * Everything that defines a training run. Shapes follow BitNet-b1.58-2B-4T's layout (sub-norms, relu^2 FFN,
 * GQA, NEOX RoPE, tied embedding) at a small size.
 *
 * @param vocab     BPE vocabulary size including 256 byte tokens and 3 specials
 * @param context   tokens per training sequence (and the exported context_length)
 * @param batch     sequences per optimiser step
 * @param lr        peak learning rate of stage 1; lr2 is where stage 2 starts (BitNet's two-stage schedule)
 * @param wd        weight decay of the ternary matrices in stage 1 (0 in stage 2; never on norms or embedding)
 * @param clip      global gradient-norm clip (0 = off)
 * @param evalEvery validation every N steps; evalChunks = at most that many context-sized validation chunks
 */
public record TrainConfig(int vocab, int dim, int layers, int heads, int kvHeads, int ffn, int context,
                          int batch, int steps, double lr, double lr2, int warmup, double wd, double clip,
                          long seed, int evalEvery, int evalChunks, int saveEvery) {

    public static final double ROPE_THETA = 500000.0;
    public static final float RMS_EPS = 1e-5f;

    public TrainConfig {
        if (dim % heads != 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("dim must divide into heads and heads into kvHeads: dim " + dim
                    + ", heads " + heads + ", kvHeads " + kvHeads);
        }
        if (dim % 128 != 0 || ffn % 128 != 0) {
            throw new IllegalArgumentException("dim and ffn must be multiples of 128 (I2_S rows), got " + dim + ", " + ffn);
        }
        if (vocab < 256 + BpeTrainer.SPECIALS || context < 4 || batch < 1 || steps < 1 || (dim / heads) % 2 != 0) {
            throw new IllegalArgumentException("bad config " + this);
        }
    }

    public int headDim() {
        return dim / heads;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    /** tiny: seconds per step, for tests and smoke runs. */
    public static TrainConfig tiny() {
        return new TrainConfig(512, 128, 2, 4, 2, 256, 64, 8, 200, 3e-3, 2e-3, 20, 0.1, 1.0, 1, 50, 8, 100);
    }

    /** default: the shipped model (about 3.1 M ternary weights + 1 M embedding). */
    public static TrainConfig defaults() {
        return new TrainConfig(4096, 256, 4, 4, 2, 768, 256, 16, 1000, 2.4e-3, 1.6e-3, 50, 0.1, 1.0, 1, 100, 24, 50);
    }

    public static TrainConfig preset(String name) {
        return switch (name) {
            case "tiny" -> tiny();
            case "default" -> defaults();
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (tiny, default)");
        };
    }

    public TrainConfig withSteps(int s) {
        return new TrainConfig(vocab, dim, layers, heads, kvHeads, ffn, context, batch, s, lr, lr2, warmup, wd, clip, seed, evalEvery, evalChunks, saveEvery);
    }

    public TrainConfig withBatch(int b) {
        return new TrainConfig(vocab, dim, layers, heads, kvHeads, ffn, context, b, steps, lr, lr2, warmup, wd, clip, seed, evalEvery, evalChunks, saveEvery);
    }

    public TrainConfig withContext(int c) {
        return new TrainConfig(vocab, dim, layers, heads, kvHeads, ffn, c, batch, steps, lr, lr2, warmup, wd, clip, seed, evalEvery, evalChunks, saveEvery);
    }

    /** Sets the peak rate; stage 2 keeps BitNet's 2:3 ratio. */
    public TrainConfig withLr(double x) {
        return new TrainConfig(vocab, dim, layers, heads, kvHeads, ffn, context, batch, steps, x, x * 2 / 3, warmup, wd, clip, seed, evalEvery, evalChunks, saveEvery);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(vocab, dim, layers, heads, kvHeads, ffn, context, batch, steps, lr, lr2, warmup, wd, clip, s, evalEvery, evalChunks, saveEvery);
    }

    public TrainConfig withVocab(int v) {
        return new TrainConfig(v, dim, layers, heads, kvHeads, ffn, context, batch, steps, lr, lr2, warmup, wd, clip, seed, evalEvery, evalChunks, saveEvery);
    }

    public TrainConfig withSchedule(int warmupSteps, int evalEveryN, int evalChunksN, int saveEveryN) {
        return new TrainConfig(vocab, dim, layers, heads, kvHeads, ffn, context, batch, steps, lr, lr2, warmupSteps, wd, clip, seed, evalEveryN, evalChunksN, saveEveryN);
    }

    /**
     * Learning rate at step (0-based): linear warm-up to lr, hold lr until the midpoint, then drop to lr2 and
     * decay linearly to 0 at the last step.
     */
    public double lrAt(int step) {
        int mid = steps / 2;
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        if (step < mid) {
            return lr;
        }
        return lr2 * (1.0 - (double) (step - mid) / (steps - mid));
    }

    /** Weight decay at step: BitNet uses it in the first half only. */
    public double wdAt(int step) {
        return step < steps / 2 ? wd : 0.0;
    }
}
