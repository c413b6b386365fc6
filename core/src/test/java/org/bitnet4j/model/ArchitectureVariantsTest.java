package org.bitnet4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The `bitnet` arch's optional .scale tensors, the older `bitnet-25` name, and `llama` files. */
class ArchitectureVariantsTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int[] TOKENS = {510, 72, 294, 292, 345, 44, 352, 319};

    @TempDir
    Path dir;

    static float[] logits(Path p, ActivationMode mode) {
        try (Model m = Model.load(p); Session s = new Session(m, new SessionOptions(2, 32, 8, mode))) {
            float[] all = new float[TOKENS.length * m.config.vocab()];
            s.append(TOKENS, (l, off, pos) -> System.arraycopy(l, off, all, pos * m.config.vocab(), m.config.vocab()));
            return all;
        }
    }

    /**
     * Halving every attn_q / ffn_up weight and adding a .scale tensor of 2 leaves the model unchanged: powers of
     * two are exact in float, so the logits are bit-identical in both activation modes.
     */
    @Test
    void perProjectionScaleTensorsMultiplyTheOutput() {
        Path src = FIX.resolve("bitnet-silu-f32.gguf");
        Path scaled = dir.resolve("scaled.gguf");
        try (GgufFile in = GgufFile.open(src); GgufWriter w = GgufWriter.create(scaled, false)) {
            w.putAll(in.metadata().asMap());
            for (GgufTensorInfo t : in.tensors()) {
                w.addTensor(t.name(), t.dims(), t.type());
                if (halved(t.name())) {
                    w.addTensor(t.name().replace(".weight", ".scale"), new long[] {1}, GgmlType.F32);
                }
            }
            for (GgufTensorInfo t : in.tensors()) {
                MemorySegment d = in.data(t);
                w.writeTensor(t.name(), seg -> {
                    for (long i = 0; i < d.byteSize(); i += 4) {
                        float v = d.get(F, i);
                        seg.set(F, i, halved(t.name()) ? v / 2 : v);
                    }
                });
                if (halved(t.name())) {
                    w.writeTensor(t.name().replace(".weight", ".scale"), seg -> seg.set(F, 0, 2f));
                }
            }
            w.finish();
        }
        for (ActivationMode mode : ActivationMode.values()) {
            assertArrayEquals(logits(src, mode), logits(scaled, mode), mode.toString());
        }
    }

    static boolean halved(String name) {
        return name.endsWith("attn_q.weight") || name.endsWith("ffn_up.weight");
    }

    /** Same file under the first name of the 2B-4T architecture runs identically. */
    @Test
    void bitnet25IsTheSameArchitectureAsBitnetB158() {
        Path src = FIX.resolve("bitnet-b1.58-relu2-i2_s.gguf");
        Path renamed = dir.resolve("bitnet25.gguf");
        rewrite(src, renamed, "bitnet-b1.58", "bitnet-25", false);
        assertArrayEquals(logits(src, ActivationMode.INT8), logits(renamed, ActivationMode.INT8));
    }

    /**
     * A llama file (no sub-norms, separate output matrix): full-precision F16/F32 weights are not quantised, so
     * the int8 mode gives exactly the float result; ternary TQ2_0 weights are, so it differs.
     */
    @Test
    void llamaQuantisesActivationsOnlyForTernaryWeights() {
        Path f32 = dir.resolve("llama-f32.gguf");
        Path tq2 = dir.resolve("llama-tq2.gguf");
        rewrite(FIX.resolve("bitnet-silu-f32.gguf"), f32, "bitnet", "llama", true);
        rewrite(FIX.resolve("bitnet-silu-tq2_0.gguf"), tq2, "bitnet", "llama", true);
        try (Model m = Model.load(f32)) {
            assertEquals(Architecture.LLAMA, m.config.arch());
        }
        float[] a = logits(f32, ActivationMode.FLOAT), b = logits(f32, ActivationMode.INT8);
        assertArrayEquals(a, b);
        for (float v : a) {
            assertTrue(Float.isFinite(v));
        }
        assertFalse(Arrays.equals(logits(tq2, ActivationMode.FLOAT), logits(tq2, ActivationMode.INT8)));
    }

    /** Copies a file under another architecture name; for llama, drops the sub-norms and adds output.weight. */
    static void rewrite(Path src, Path out, String from, String to, boolean llama) {
        try (GgufFile in = GgufFile.open(src); GgufWriter w = GgufWriter.create(out, false)) {
            in.metadata().asMap().forEach((k, v) -> {
                String key = k.startsWith(from + ".") ? to + k.substring(from.length()) : k;
                w.put(key, k.equals("general.architecture") ? GgufValue.of(to) : v);
            });
            GgufTensorInfo embd = in.tensor("token_embd.weight");
            for (GgufTensorInfo t : in.tensors()) {
                if (!(llama && t.name().contains("sub_norm"))) {
                    w.addTensor(t.name(), t.dims(), t.type());
                }
            }
            if (llama) {
                w.addTensor("output.weight", embd.dims(), embd.type());
            }
            for (GgufTensorInfo t : in.tensors()) {
                if (!(llama && t.name().contains("sub_norm"))) {
                    w.writeTensor(t.name(), seg -> seg.copyFrom(in.data(t)));
                }
            }
            if (llama) {
                w.writeTensor("output.weight", seg -> seg.copyFrom(in.data(embd)));
            }
            w.finish();
        }
    }
}
