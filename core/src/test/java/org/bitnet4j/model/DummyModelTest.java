package org.bitnet4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufWriter;
import org.bitnet4j.tensor.WeightFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DummyModelTest {
    static final GgmlType[] TYPES = {GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.F16, GgmlType.F32};

    @TempDir
    static Path dir;

    static Path file(GgmlType t) {
        return dir.resolve("tiny-" + t + ".gguf");
    }

    @BeforeAll
    static void writeTinyModels() {
        for (GgmlType t : TYPES) {
            DummyModel.write(DummyModel.shape("tiny"), t, GgmlType.F16, null, 7, file(t), false, 2, b -> {});
        }
    }

    static float[] decode(GgufFile f, GgufTensorInfo t) {
        int n = (int) t.elements();
        float[] v = new float[n];
        WeightFormat.of(t.type()).dequantize(f.data(t), n, 0, v, 0, n);
        return v;
    }

    @Test
    void everyTypeHoldsTheSameTernaryWeights() {
        try (GgufFile ref = GgufFile.open(file(GgmlType.F32))) {
            assertEquals(24, ref.tensors().size());
            for (GgmlType type : TYPES) {
                try (GgufFile f = GgufFile.open(file(type))) {
                    for (GgufTensorInfo t : ref.tensors()) {
                        GgufTensorInfo o = f.tensor(t.name());
                        assertArrayEquals(decode(ref, t), decode(f, o), type + " " + t.name());
                        if (t.name().endsWith("attn_q.weight")) {
                            assertEquals(type, o.type());
                            Set<Float> values = new HashSet<>();
                            for (float v : decode(ref, t)) {
                                values.add(v);
                            }
                            assertEquals(3, values.size(), "beta * {-1, 0, +1}");
                            assertTrue(values.contains(0f));
                        }
                    }
                }
            }
        }
    }

    @Test
    void ternaryTypesGiveBitIdenticalLogitsAndTheModelRuns() {
        int[] prompt = {510, 72, 101, 108, 108, 111};
        float[] first = null;
        for (GgmlType t : new GgmlType[] {GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0}) {
            try (Model m = Model.load(file(t)); Session s = new Session(m, new SessionOptions(2, 32, 8, ActivationMode.INT8))) {
                float[] l = s.append(prompt, null).clone();
                for (float v : l) {
                    assertTrue(Float.isFinite(v));
                }
                if (first == null) {
                    first = l;
                } else {
                    assertArrayEquals(first, l, t.toString());
                }
            }
        }
    }

    @Test
    void sameSeedSameFileDifferentSeedDifferentWeights() throws Exception {
        Path again = dir.resolve("again.gguf"), other = dir.resolve("other.gguf");
        DummyModel.write(DummyModel.shape("tiny"), GgmlType.I2_S, GgmlType.F16, null, 7, again, false, 1, b -> {});
        DummyModel.write(DummyModel.shape("tiny"), GgmlType.I2_S, GgmlType.F16, null, 8, other, false, 1, b -> {});
        byte[] a = java.nio.file.Files.readAllBytes(file(GgmlType.I2_S));
        byte[] b = java.nio.file.Files.readAllBytes(again);
        // written with one thread instead of two: the same bytes
        assertArrayEquals(a, b);
        assertTrue(!java.util.Arrays.equals(a, java.nio.file.Files.readAllBytes(other)));
    }

    /** The 2B4T shape's data size from BitNet-b1.58-2B-4T's published dimensions. */
    @Test
    void the2B4TShapeHasTheOfficialDimensions() {
        DummyModel.Shape s = DummyModel.shape("2b4t");
        long ternary = 30L * (2560 * 2560 + 2 * 2560 * 640 + 2560 * 2560 + 3L * 2560 * 6912);
        assertEquals(2_084_044_800L, ternary);
        assertEquals(ternary, s.ternaryParameters());
        long i2s = ternary / 4 + 210 * 32;                  // 2 bits per weight + one 32-byte scale tail per tensor
        long embd = 128256L * 2560 * 2;                     // tied F16 embedding
        long norms = 4L * (2560 + 30 * (3 * 2560 + 6912));  // output_norm; attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm
        long alignment = 0;                                  // every tensor size above is a multiple of 32
        assertEquals(i2s + embd + norms + alignment, DummyModel.dataBytes(s, 128256, GgmlType.I2_S, GgmlType.F16));
    }

    /** Tensor names, types and metadata keys follow the fixtures (llama.cpp's and bitnet.cpp's own layout). */
    @Test
    void namesAndKeysFollowTheFixtures() {
        Path fixture = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures/bitnet-b1.58-relu2-tq2_0.gguf");
        try (GgufFile ours = GgufFile.open(file(GgmlType.TQ2_0)); GgufFile theirs = GgufFile.open(fixture)) {
            Set<String> a = new HashSet<>(), b = new HashSet<>();
            ours.tensors().forEach(t -> a.add(t.name() + " " + t.type() + " " + t.shape()));
            theirs.tensors().forEach(t -> b.add(t.name() + " " + t.type() + " " + t.shape()));
            assertEquals(b, a);
            Set<String> keys = new HashSet<>(theirs.metadata().keys());
            keys.removeAll(ours.metadata().keys());
            assertEquals(Set.of(), keys, "fixture keys our dummy lacks");
        }
    }

    @Test
    void llama3VocabularyIsCopiedFromAGguf() {
        Path vocab = Path.of(System.getProperty("bitnet4j.shared", "../shared"))
                .resolve("data/tokenizers/llamacpp-vocab-tests/ggml-vocab-llama-bpe.gguf");
        Path out = dir.resolve("tiny-llama3.gguf");
        DummyModel.write(DummyModel.shape("tiny"), GgmlType.I2_S, GgmlType.Q8_0, vocab, 1, out, false, 2, b -> {});
        try (Model m = Model.load(out)) {
            assertEquals(128256, m.config.vocab());
            assertArrayEquals(new int[] {128000, 9906, 1917}, m.tokenizer.encode("Hello world", true, false));
            try (Session s = new Session(m, new SessionOptions(2, 16, 4, ActivationMode.INT8))) {
                for (float v : s.append(new int[] {128000, 9906}, null)) {
                    assertTrue(Float.isFinite(v));
                }
            }
        }
    }

    @Test
    void unknownArchitectureAndMissingTensorsAreClearErrors() {
        Path foo = dir.resolve("foo.gguf");
        try (GgufWriter w = GgufWriter.create(foo, true)) {
            w.put("general.architecture", GgufValue.of("mamba"));
            w.finish();
        }
        ModelException e = assertThrows(ModelException.class, () -> Model.load(foo));
        assertEquals(foo + ": architecture 'mamba' is not supported; bitnet4j runs bitnet-b1.58 (and its older name "
                + "bitnet-25), bitnet and llama", e.getMessage());

        Path partial = dir.resolve("partial.gguf");
        try (GgufFile src = GgufFile.open(file(GgmlType.I2_S)); GgufWriter w = GgufWriter.create(partial, true)) {
            w.putAll(src.metadata().asMap());
            for (GgufTensorInfo t : src.tensors()) {
                if (!t.name().equals("blk.1.ffn_down.weight") && !t.name().equals("output_norm.weight")) {
                    w.addTensor(t.name(), t.dims(), t.type());
                }
            }
            for (GgufTensorInfo t : src.tensors()) {
                if (!t.name().equals("blk.1.ffn_down.weight") && !t.name().equals("output_norm.weight")) {
                    w.writeTensor(t.name(), seg -> seg.copyFrom(src.data(t)));
                }
            }
            w.finish();
        }
        e = assertThrows(ModelException.class, () -> Model.load(partial));
        assertEquals(partial + ": missing 2 tensor(s) required by architecture bitnet-b1.58: output_norm.weight [256], "
                + "blk.1.ffn_down.weight [768, 256]", e.getMessage());
    }
}
