package org.bitnet4j.cli;

import static org.bitnet4j.cli.CommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.bitnet4j.cli.CommandsTest.Result;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.tensor.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DummyCommandTest {
    static final Path FIX = CommandsTest.FIX;
    static final String[] TYPES = {"i2_s", "tq1_0", "tq2_0", "f16", "f32"};

    @TempDir
    Path dir;

    static float[] decode(GgufFile f, GgufTensorInfo t) {
        int n = Math.toIntExact(t.elements());
        float[] v = new float[n];
        WeightFormat.of(t.type()).dequantize(f.data(t), n, 0, v, 0, n);
        return v;
    }

    Path dummy(String... args) {
        Path out = dir.resolve(String.join("-", args).replace("/", "_") + ".gguf");
        List<String> a = new java.util.ArrayList<>(List.of("dummy"));
        a.addAll(List.of(args));
        a.addAll(List.of("-o", out.toString()));
        Result r = run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().startsWith("wrote " + out + ": "), r.err());
        return out;
    }

    /** One seed, every --type: the ternary tensors decode to the same beta * {-1, 0, +1} values in all of them. */
    @Test
    void everyTypeFromOneSeedHoldsTheSameWeights() {
        Map<String, Path> files = new LinkedHashMap<>();
        for (String t : TYPES) {
            files.put(t, dummy("--shape", "tiny", "--type", t, "--seed", "11"));
        }
        try (GgufFile ref = GgufFile.open(files.get("f32"))) {
            int ternaryTensors = 0;
            for (GgufTensorInfo t : ref.tensors()) {
                float[] want = decode(ref, t);
                boolean linear = t.dims().length == 2 && !t.name().equals("token_embd.weight");
                if (linear) {
                    ternaryTensors++;
                    Set<Float> values = new TreeSet<>();
                    int zeros = 0;
                    for (float v : want) {
                        values.add(v);
                        zeros += v == 0f ? 1 : 0;
                    }
                    assertEquals(3, values.size(), t.name() + ": beta * {-1, 0, +1}");
                    float beta = values.toArray(new Float[0])[2];
                    assertTrue(values.contains(-beta) && values.contains(0f), t.name());
                    assertEquals(beta, Float.float16ToFloat(Float.floatToFloat16(beta)), "beta is fp16-exact");
                    double zeroShare = zeros / (double) want.length;
                    assertTrue(Math.abs(zeroShare - 0.31) < 0.01, t.name() + " zero share " + zeroShare);
                }
                for (String type : TYPES) {
                    try (GgufFile f = GgufFile.open(files.get(type))) {
                        GgufTensorInfo o = f.tensor(t.name());
                        assertArrayEquals(t.dims(), o.dims(), type + " " + t.name());
                        GgmlType expectedType = linear ? GgmlType.valueOf(type.toUpperCase(java.util.Locale.ROOT))
                                : t.name().equals("token_embd.weight") ? GgmlType.F16 : GgmlType.F32;
                        assertEquals(expectedType, o.type(), type + " " + t.name());
                        assertArrayEquals(want, decode(f, o), type + " " + t.name());
                    }
                }
            }
            assertEquals(14, ternaryTensors);
        }
        try (GgufFile a = GgufFile.open(files.get("i2_s"))) {
            assertEquals(40, a.metadata().getInt("general.file_type"));
        }
    }

    @Test
    void embeddingTypesAndSeeds() {
        Path f16 = dummy("--shape", "tiny", "--type", "tq2_0", "--seed", "3");
        Path q8 = dummy("--shape", "tiny", "--type", "tq2_0", "--seed", "3", "--embedding", "q8_0");
        Path q6 = dummy("--shape", "tiny", "--type", "tq2_0", "--seed", "3", "--embedding", "q6_k");
        Path other = dummy("--shape", "tiny", "--type", "tq2_0", "--seed", "4");
        try (GgufFile a = GgufFile.open(f16); GgufFile b = GgufFile.open(q8); GgufFile c = GgufFile.open(q6);
             GgufFile d = GgufFile.open(other)) {
            float[] exact = decode(a, a.tensor("token_embd.weight"));
            assertEquals(GgmlType.Q8_0, b.tensor("token_embd.weight").type());
            assertEquals(GgmlType.Q6_K, c.tensor("token_embd.weight").type());
            // N(0, 0.125^2) values: Q8_0 keeps them to about 1/254 of a block's range, Q6_K to about 1/64
            assertTrue(maxDiff(exact, decode(b, b.tensor("token_embd.weight"))) < 0.01);
            assertTrue(maxDiff(exact, decode(c, c.tensor("token_embd.weight"))) < 0.04);
            double rms = 0;
            for (float v : exact) {
                rms += v * v;
            }
            rms = Math.sqrt(rms / exact.length);
            assertTrue(Math.abs(rms - 0.125) < 0.005, "embedding rms " + rms);
            GgufTensorInfo q = a.tensor("blk.0.attn_q.weight");
            assertArrayEquals(decode(a, q), decode(b, b.tensor(q.name())), "the embedding type leaves the weights alone");
            assertNotEquals(java.util.Arrays.hashCode(decode(a, q)), java.util.Arrays.hashCode(decode(d, d.tensor(q.name()))),
                    "another seed, other weights");
        }
    }

    /** bitnet.cpp's `bitnet` dummies: silu architecture, as many KV heads as heads, sub-norms, keys of its fixture. */
    @Test
    void bitnetArchitectureShapesFollowTheSiluFixture() {
        Path ours = dummy("--shape", "tiny-bitnet", "--type", "i2_s");
        try (GgufFile a = GgufFile.open(ours); GgufFile fix = GgufFile.open(FIX.resolve("bitnet-silu-i2_s.gguf"))) {
            assertEquals("bitnet", a.metadata().getString("general.architecture"));
            Set<String> mine = new HashSet<>(), theirs = new HashSet<>();
            a.tensors().forEach(t -> mine.add(t.name() + " " + t.type()));
            fix.tensors().forEach(t -> theirs.add(t.name() + " " + t.type()));
            assertEquals(theirs, mine);
            Set<String> missing = new TreeSet<>(fix.metadata().keys());
            missing.removeAll(a.metadata().keys());
            assertEquals(Set.of(), missing, "fixture keys the dummy lacks");
            assertEquals(4, a.metadata().getInt("bitnet.attention.head_count_kv"));
            assertEquals("linear", a.metadata().getString("bitnet.rope.scaling.type"));
        }
    }

    @Test
    void vocabularyIsCopiedFromAGguf() throws IOException {
        Path vocab = Path.of(System.getProperty("bitnet4j.shared", "../shared"))
                .resolve("data/tokenizers/llamacpp-vocab-tests/ggml-vocab-llama-spm.gguf");
        Path out = dummy("--shape", "tiny", "--type", "i2_s", "--vocab", vocab.toString());
        try (GgufFile v = GgufFile.open(vocab); GgufFile m = GgufFile.open(out)) {
            int tokens = v.metadata().getStringArray("tokenizer.ggml.tokens").size();
            assertEquals(32000, tokens);
            assertArrayEquals(new long[] {256, tokens}, m.tensor("token_embd.weight").dims());
            assertEquals(tokens, m.metadata().getInt("bitnet-b1.58.vocab_size"));
            int copied = 0;
            for (String k : v.metadata().keys()) {
                if (k.startsWith("tokenizer.")) {
                    assertEquals(v.metadata().get(k).type(), m.metadata().get(k).type(), k);
                    String a = InspectCommand.summary(v.metadata().get(k)), b = InspectCommand.summary(m.metadata().get(k));
                    assertEquals(a, b, k);
                    copied++;
                }
            }
            assertTrue(copied >= 5, "copied " + copied + " tokenizer keys");
            assertEquals(v.metadata().getStringArray("tokenizer.ggml.tokens"), m.metadata().getStringArray("tokenizer.ggml.tokens"));
        }
    }

    @Test
    void anExistingOutputIsKeptUnlessForced() throws IOException {
        Path out = dir.resolve("keep.gguf");
        Files.writeString(out, "precious");
        Result r = run("dummy", "--shape", "tiny", "--type", "i2_s", "-o", out.toString());
        assertEquals(1, r.code());
        assertEquals("error: " + out + " exists; pass --force to overwrite it\n", r.err());
        assertEquals("precious", Files.readString(out));
        r = run("dummy", "--shape", "tiny", "--type", "i2_s", "--force", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(24, f.tensors().size());
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(out), files.toList(), "no temporary file left");
        }
    }

    @Test
    void badOptionsAreOneLineErrors() {
        Path out = dir.resolve("x.gguf");
        Result r = run("dummy", "--shape", "tiny", "--type", "q4_0", "-o", out.toString());
        assertEquals("error: --type q4_0 is not supported (use i2_s, tq1_0, tq2_0, f16, f32)\n", r.err());
        r = run("dummy", "--shape", "tiny", "--type", "i2_s", "--embedding", "tq2_0", "-o", out.toString());
        assertEquals("error: --embedding tq2_0 is not supported (use f16, q6_k, q8_0, f32)\n", r.err());
        r = run("dummy", "--shape", "tiny", "--type", "i2_s", "--vocab", dir.resolve("none.gguf").toString(), "-o", out.toString());
        assertEquals("error: vocabulary file not found: " + dir.resolve("none.gguf") + "\n", r.err());
        assertTrue(!Files.exists(out));
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
