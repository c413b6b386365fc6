package org.bitnet4j.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Shape of the model (BitNet-b1.58-2B-4T's architecture at small scale) and the schedule of one training run.
 * Everything that influences the numbers is here, so a checkpoint that stores this record can be resumed exactly.
 *
 * @param layers      transformer blocks
 * @param hidden      embedding width (a multiple of 128 for I2_S export, of 256 for TQ2_0)
 * @param heads       query heads; head size = hidden / heads, even (NEOX RoPE rotates pairs (i, i + size/2))
 * @param kvHeads     key/value heads (grouped-query attention), dividing heads
 * @param ffn         feed-forward width (a multiple of 128, of 256 for TQ2_0)
 * @param vocab       BPE vocabulary size including the 256 byte tokens and the special tokens
 * @param context     tokens per training sequence (and the exported context length)
 * @param batch       sequences per step
 * @param steps       optimiser steps of the whole run (the schedule depends on it)
 * @param lr          peak learning rate of stage one
 * @param lr2         learning rate stage two starts from, after the drop at the midpoint
 * @param warmup      linear warm-up steps
 * @param weightDecay decoupled weight decay of stage one (stage two uses none), on matrices only
 * @param clip        maximum global gradient norm
 * @param evalEvery   validation every this many steps (0: only at the end)
 * @param valChunks   validation sequences used at intervals (the final validation uses all)
 * @param saveEvery   checkpoint every this many steps
 * @param seed        initial weights and data order
 * @param ternary     true: BitNet b1.58 (ternary weights, int8 activations, straight-through backward);
 *                    false: the same architecture in float (the full-precision baseline)
 */
public record TrainConfig(int layers, int hidden, int heads, int kvHeads, int ffn, int vocab, int context, int batch,
                          int steps, float lr, float lr2, int warmup, float weightDecay, float clip, int evalEvery,
                          int valChunks, int saveEvery, long seed, boolean ternary) {

    /** Adam's moment decays and epsilon (BitNet: betas 0.9, 0.95) */
    public static final float BETA1 = 0.9f, BETA2 = 0.95f, ADAM_EPS = 1e-8f;
    /** RMSNorm epsilon and RoPE base of BitNet-b1.58-2B-4T */
    public static final float RMS_EPS = 1e-5f, ROPE_THETA = 500000f;

    public TrainConfig {
        require(layers >= 1, "layers must be >= 1");
        require(hidden >= 2 && heads >= 1 && hidden % heads == 0, "hidden must be a multiple of heads");
        require((hidden / heads) % 2 == 0, "the head size hidden/heads must be even (RoPE rotates pairs)");
        require(kvHeads >= 1 && heads % kvHeads == 0, "heads must be a multiple of kv-heads");
        require(ffn >= 1, "ffn must be >= 1");
        require(vocab >= 256 + Bpe.SPECIALS.size() + 1, "vocab must hold the 256 bytes, the special tokens and one merge ("
                + (256 + Bpe.SPECIALS.size() + 1) + " or more)");
        require(context >= 2, "context must be >= 2");
        require(batch >= 1 && steps >= 1, "batch and steps must be >= 1");
        require(lr > 0 && lr2 > 0, "lr and lr2 must be > 0");
        require(warmup >= 0 && warmup < steps, "warmup must be in [0, steps)");
        require(weightDecay >= 0 && clip > 0, "weight-decay must be >= 0 and clip > 0");
        require(evalEvery >= 0 && valChunks >= 1 && saveEvery >= 1, "eval-every >= 0, val-chunks >= 1, save-every >= 1");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public int headDim() {
        return hidden / heads;
    }

    public int qDim() {
        return hidden;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    /** Presets: tiny (tests, seconds), small (smoke runs, minutes), default (the shipped model). */
    public static TrainConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> new TrainConfig(1, 256, 4, 2, 256, 512, 64, 4, 60, 4e-3f, 2e-3f, 5, 0.1f, 1f, 0, 4, 20, 1, true);
            case "small" -> new TrainConfig(2, 256, 4, 2, 512, 2048, 128, 8, 300, 3e-3f, 1.5e-3f, 30, 0.1f, 1f, 50, 16, 50,
                    1, true);
            case "default" -> new TrainConfig(4, 256, 4, 2, 768, 4096, 256, 16, 600, 3e-3f, 1.5e-3f, 40, 0.1f, 1f, 100, 32,
                    25, 1, true);
            default -> throw new IllegalArgumentException("unknown config '" + name + "' (tiny, small, default)");
        };
    }

    /** Keys accepted by {@link #with}, in record order. */
    public static final List<String> KEYS = List.of("layers", "hidden", "heads", "kv-heads", "ffn", "vocab", "context",
            "batch", "steps", "lr", "lr2", "warmup", "weight-decay", "clip", "eval-every", "val-chunks", "save-every",
            "seed", "ternary");

    /** This config with key=value overrides ({@link #KEYS}); unknown keys and bad numbers are errors naming the key. */
    public TrainConfig with(Map<String, String> overrides) {
        Map<String, String> o = new LinkedHashMap<>(overrides);
        for (String k : o.keySet()) {
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException("unknown config key '" + k + "' (known: " + String.join(", ", KEYS) + ")");
            }
        }
        return new TrainConfig(i(o, "layers", layers), i(o, "hidden", hidden), i(o, "heads", heads),
                i(o, "kv-heads", kvHeads), i(o, "ffn", ffn), i(o, "vocab", vocab), i(o, "context", context),
                i(o, "batch", batch), i(o, "steps", steps), f(o, "lr", lr), f(o, "lr2", lr2), i(o, "warmup", warmup),
                f(o, "weight-decay", weightDecay), f(o, "clip", clip), i(o, "eval-every", evalEvery),
                i(o, "val-chunks", valChunks), i(o, "save-every", saveEvery), l(o, "seed", seed), b(o, "ternary", ternary));
    }

    /** key=value lines in {@link #KEYS} order; {@code preset("default").with(parse(toText()))} gives this config back. */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("layers", Integer.toString(layers));
        m.put("hidden", Integer.toString(hidden));
        m.put("heads", Integer.toString(heads));
        m.put("kv-heads", Integer.toString(kvHeads));
        m.put("ffn", Integer.toString(ffn));
        m.put("vocab", Integer.toString(vocab));
        m.put("context", Integer.toString(context));
        m.put("batch", Integer.toString(batch));
        m.put("steps", Integer.toString(steps));
        m.put("lr", Float.toString(lr));
        m.put("lr2", Float.toString(lr2));
        m.put("warmup", Integer.toString(warmup));
        m.put("weight-decay", Float.toString(weightDecay));
        m.put("clip", Float.toString(clip));
        m.put("eval-every", Integer.toString(evalEvery));
        m.put("val-chunks", Integer.toString(valChunks));
        m.put("save-every", Integer.toString(saveEvery));
        m.put("seed", Long.toString(seed));
        m.put("ternary", Boolean.toString(ternary));
        return m;
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        toMap().forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString();
    }

    public static TrainConfig fromText(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return preset("default").with(m);
    }

    /**
     * BitNet's two-stage learning rate: linear warm-up to {@code lr}; stage one decays linearly from lr to 0.8 lr
     * until the midpoint, where the rate drops to {@code lr2}; stage two follows a cosine from lr2 down to 0.1 lr2 at
     * the last step.
     */
    public float learningRate(int step) {
        int mid = steps / 2;
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        if (step < mid) {
            double p = (double) (step - warmup) / Math.max(1, mid - warmup);
            return (float) (lr * (1 - 0.2 * p));
        }
        double p = (double) (step - mid) / Math.max(1, steps - 1 - mid);
        return (float) (lr2 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p))));
    }

    /** Weight decay in the first half, none in the second (BitNet's recipe). */
    public float weightDecay(int step) {
        return step < steps / 2 ? weightDecay : 0f;
    }

    private static int i(Map<String, String> m, String k, int d) {
        try {
            return m.containsKey(k) ? Integer.parseInt(m.get(k).trim()) : d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config key '" + k + "': '" + m.get(k) + "' is not an integer");
        }
    }

    private static long l(Map<String, String> m, String k, long d) {
        try {
            return m.containsKey(k) ? Long.parseLong(m.get(k).trim()) : d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config key '" + k + "': '" + m.get(k) + "' is not an integer");
        }
    }

    private static float f(Map<String, String> m, String k, float d) {
        try {
            return m.containsKey(k) ? Float.parseFloat(m.get(k).trim()) : d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config key '" + k + "': '" + m.get(k) + "' is not a number");
        }
    }

    private static boolean b(Map<String, String> m, String k, boolean d) {
        if (!m.containsKey(k)) {
            return d;
        }
        String v = m.get(k).trim().toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("config key '" + k + "': '" + m.get(k) + "' is not true or false");
        }
        return Boolean.parseBoolean(v);
    }
}
