package org.bitnet4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The forward pass against ../shared/fixtures: independent float64 references (float and int8-activation
 * paths) and llama.cpp / bitnet.cpp logits, with the tolerances the fixtures' README documents.
 */
class FixtureConformanceTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");
    static final int[] SEQ1 = {510, 72, 294, 292, 345, 44, 352, 319, 257, 301, 302, 359, 342, 115, 46};
    static final int[] SEQ2 = {510, 211, 363, 377, 210, 229, 485, 461, 265, 330, 251, 111, 363, 307, 232, 264, 316, 339,
            119, 406, 101, 26, 149, 27};
    static final String[] MODELS = {"bitnet-silu", "bitnet-b1.58-relu2"};
    static final String[] FORMATS = {"f32", "tq1_0", "tq2_0", "i2_s"};
    static final int VOCAB = 512;

    static Stream<Arguments> modelFormatSeq() {
        List<Arguments> a = new ArrayList<>();
        for (String m : MODELS) {
            for (String f : FORMATS) {
                a.add(Arguments.of(m, f, "seq1"));
                a.add(Arguments.of(m, f, "seq2"));
            }
        }
        return a.stream();
    }

    static Stream<Arguments> modelSeq() {
        List<Arguments> a = new ArrayList<>();
        for (String m : MODELS) {
            a.add(Arguments.of(m, "seq1"));
            a.add(Arguments.of(m, "seq2"));
        }
        return a.stream();
    }

    static int[] seq(String name) {
        return name.equals("seq1") ? SEQ1 : SEQ2;
    }

    static float[] ref(String file) throws IOException {
        byte[] b = Files.readAllBytes(FIX.resolve("refs").resolve(file));
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    static float[] run(String model, String format, int[] tokens, ActivationMode mode) {
        try (Model m = Model.load(FIX.resolve(model + "-" + format + ".gguf"));
             Session s = new Session(m, new SessionOptions(2, 64, 16, mode))) {
            float[] all = new float[tokens.length * VOCAB];
            s.append(tokens, (l, off, pos) -> System.arraycopy(l, off, all, pos * VOCAB, VOCAB));
            return all;
        }
    }

    @ParameterizedTest(name = "{0}-{1} {2}")
    @MethodSource("modelFormatSeq")
    void floatActivationsMatchFloat64Reference(String model, String format, String seq) throws IOException {
        float[] want = ref(model + "-f32.f64-exact." + seq + ".logits.f32");
        float[] got = run(model, format, seq(seq), ActivationMode.FLOAT);
        assertEquals(want.length, got.length);
        double max = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i] - got[i]));
        }
        // the README asks for 1e-3; a float32 engine with double-accumulated norms lands near 1e-5
        assertTrue(max <= 1e-4, "max |diff| " + max + " > 1e-4");
    }

    @ParameterizedTest(name = "{0}-{1} {2}")
    @MethodSource("modelFormatSeq")
    void int8ActivationsMatchBitNetReference(String model, String format, String seq) throws IOException {
        float[] want = ref(model + "-f32.f64-int8-per-token." + seq + ".logits.f32");
        float[] got = run(model, format, seq(seq), ActivationMode.INT8);
        double max = 0, sum = 0;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            max = Math.max(max, d);
            sum += d;
        }
        double mean = sum / want.length;
        // the README allows mean 2e-3 / max 0.1 for rare int8 rounding flips at .5 boundaries; we see none
        assertTrue(mean <= 2e-5, "mean |diff| " + mean + " > 2e-5");
        assertTrue(max <= 1e-3, "max |diff| " + max + " > 1e-3");
        for (int p = 0; p < want.length / VOCAB; p++) {
            if (margin(want, p * VOCAB) > 0.02) {
                assertEquals(argmax(want, p * VOCAB), argmax(got, p * VOCAB), "argmax at position " + p);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("modelSeq")
    void allTernaryFormatsGiveBitIdenticalInt8Logits(String model, String seq) {
        float[] i2s = run(model, "i2_s", seq(seq), ActivationMode.INT8);
        assertArrayEquals(i2s, run(model, "tq2_0", seq(seq), ActivationMode.INT8));
        assertArrayEquals(i2s, run(model, "tq1_0", seq(seq), ActivationMode.INT8));
    }

    /** llama.cpp (TQ, Q8_K activations) and bitnet.cpp (I2_S) logits: the README's statistical bounds. */
    @ParameterizedTest(name = "{0}-{1} {2}")
    @MethodSource("modelFormatSeq")
    void int8ActivationsAreCloseToPeerEngines(String model, String format, String seq) throws IOException {
        if (format.equals("f32")) {
            return; // the peers' F32 runs are float paths, covered by the float test
        }
        boolean relu2 = model.contains("relu2");
        String engine = format.equals("i2_s") ? (relu2 ? "fork_relu2" : "fork") : (relu2 ? "mainline_relu2" : "mainline");
        float[] want = ref(model + "-" + format + "." + engine + "." + seq + ".logits.f32");
        float[] got = run(model, format, seq(seq), ActivationMode.INT8);
        double max = 0, sum = 0;
        int agree = 0, positions = want.length / VOCAB;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            max = Math.max(max, d);
            sum += d;
        }
        for (int p = 0; p < positions; p++) {
            agree += argmax(want, p * VOCAB) == argmax(got, p * VOCAB) ? 1 : 0;
        }
        assertTrue(max <= 0.5, "max |diff| " + max);
        assertTrue(sum / want.length <= 0.08, "mean |diff| " + sum / want.length);
        assertTrue(agree >= 0.8 * positions, "argmax agrees at " + agree + "/" + positions);
    }

    /**
     * Greedy continuation in float mode equals llama.cpp's (F32 file, 8 decode steps with the KV cache kept) at
     * every step whose reference top-2 margin exceeds 0.02; once ids differ the continuations are not comparable.
     */
    @ParameterizedTest(name = "{0}-{1} {2}")
    @MethodSource("modelFormatSeq")
    void greedyContinuationMatchesLlamaCpp(String model, String format, String seq) throws IOException {
        String engine = model.contains("relu2") ? "mainline_relu2" : "mainline";
        float[] batch = ref(model + "-f32." + engine + "." + seq + ".logits.f32");
        float[] steps = ref(model + "-f32." + engine + "." + seq + ".greedy.logits.f32");
        int[] tokens = seq(seq);
        int n = tokens.length;
        try (Model m = Model.load(FIX.resolve(model + "-" + format + ".gguf"));
             Session s = new Session(m, new SessionOptions(2, 64, 16, ActivationMode.FLOAT))) {
            float[] l = s.append(tokens, null);
            float[] wantRow = batch;
            int wantOff = (n - 1) * VOCAB;
            for (int k = 0; k < 8; k++) {
                int want = argmax(wantRow, wantOff);
                int got = argmax(l, 0);
                if (margin(wantRow, wantOff) <= 0.02) {
                    break; // a near tie: llama.cpp's F16 roundings may legitimately pick the other token
                }
                assertEquals(want, got, "greedy step " + (k + 1));
                l = s.append(new int[] {got}, null);
                wantRow = steps;
                wantOff = k * VOCAB;
            }
        }
    }

    static int argmax(float[] a, int off) {
        int best = 0;
        for (int i = 1; i < VOCAB; i++) {
            if (a[off + i] > a[off + best]) {
                best = i;
            }
        }
        return best;
    }

    static double margin(float[] a, int off) {
        float top = Float.NEGATIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < VOCAB; i++) {
            float v = a[off + i];
            if (v > top) {
                second = top;
                top = v;
            } else if (v > second) {
                second = v;
            }
        }
        return top - second;
    }
}
