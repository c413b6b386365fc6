package org.bitnet4j.training;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Shape and schedule of a training run. The model is BitNet-b1.58-2B-4T's architecture at small scale.
 *
 * @param lr       peak learning rate of the first stage
 * @param lr2      learning rate the second stage starts from (BitNet's two-stage schedule), decaying to 0
 * @param warmup   linear warm-up steps
 * @param wd       weight decay of the first half (0 in the second half), on the projections only
 * @param clip     global gradient-norm clip
 * @param evalEvery validation every N steps (0: only at the end)
 * @param saveEvery checkpoint every N steps
 */
public record TrainConfig(int vocab, int dim, int layers, int heads, int kvHeads, int ffn, int context, int batch,
                          int steps, float lr, float lr2, int warmup, float wd, float clip, long seed, int evalEvery,
                          int saveEvery, int evalChunks) {

    public int headDim() {
        return dim / heads;
    }

    public int qDim() {
        return heads * headDim();
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    public TrainConfig {
        if (heads <= 0 || kvHeads <= 0 || dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw new IllegalArgumentException("dim must be a multiple of heads, heads of kv-heads, and the head size even");
        }
        if (vocab < 2 || context < 4 || batch < 1 || steps < 1) {
            throw new IllegalArgumentException("vocab >= 2, context >= 4, batch >= 1, steps >= 1");
        }
    }

    public static TrainConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            // seconds on 2 cores: for tests and smoke runs
            case "tiny" -> new TrainConfig(512, 256, 1, 4, 2, 256, 32, 4, 40, 3e-3f, 2e-3f, 5, 0.1f, 1f, 1, 20, 20, 2);
            // the shipped default model: ~4.5 M parameters
            case "default" -> new TrainConfig(4096, 256, 4, 4, 2, 768, 256, 16, 2000, 3e-3f, 2e-3f, 100, 0.1f, 1f, 1234, 200,
                    100, 16);
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (tiny, default)");
        };
    }

    /** Applies key=value overrides (keys as the record's component names). */
    public TrainConfig with(Map<String, String> o) {
        Map<String, String> m = new LinkedHashMap<>(o);
        TrainConfig c = new TrainConfig(i(m, "vocab", vocab), i(m, "dim", dim), i(m, "layers", layers), i(m, "heads", heads),
                i(m, "kvHeads", kvHeads), i(m, "ffn", ffn), i(m, "context", context), i(m, "batch", batch),
                i(m, "steps", steps), f(m, "lr", lr), f(m, "lr2", lr2), i(m, "warmup", warmup), f(m, "wd", wd),
                f(m, "clip", clip), Long.parseLong(m.getOrDefault("seed", Long.toString(seed))), i(m, "evalEvery", evalEvery),
                i(m, "saveEvery", saveEvery), i(m, "evalChunks", evalChunks));
        m.keySet().removeAll(java.util.List.of("vocab", "dim", "layers", "heads", "kvHeads", "ffn", "context", "batch", "steps",
                "lr", "lr2", "warmup", "wd", "clip", "seed", "evalEvery", "saveEvery", "evalChunks"));
        if (!m.isEmpty()) {
            throw new IllegalArgumentException("unknown config keys: " + m.keySet());
        }
        return c;
    }

    private static int i(Map<String, String> m, String k, int d) {
        return m.containsKey(k) ? Integer.parseInt(m.get(k)) : d;
    }

    private static float f(Map<String, String> m, String k, float d) {
        return m.containsKey(k) ? Float.parseFloat(m.get(k)) : d;
    }

    /** BitNet's two-stage schedule: warm-up, stage one at the peak decaying linearly to lr2 at the midpoint... */
    public float learningRate(int step) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        int half = steps / 2;
        if (step < half) {
            // stage one: from the peak down to 80% of it
            return lr * (1f - 0.2f * (step - warmup) / Math.max(1, half - warmup));
        }
        // stage two: from lr2, linearly to zero at the end
        return lr2 * (1f - (float) (step - half) / Math.max(1, steps - half));
    }

    /** Weight decay 0.1 in the first half, 0 in the second (the BitNet recipe). */
    public float weightDecay(int step) {
        return step < steps / 2 ? wd : 0f;
    }
}
