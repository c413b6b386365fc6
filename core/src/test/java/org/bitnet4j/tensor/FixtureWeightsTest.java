package org.bitnet4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shared fixtures: every quantised file of a model holds exactly the weights of its F32 file, so our
 * decoders must reproduce the F32 values bit for bit, our encoders must reproduce llama.cpp's and
 * bitnet.cpp's bytes, and the three ternary matrices must give bit-identical int8 products.
 */
class FixtureWeightsTest {
    static final String[] QUANTISED = {"tq1_0", "tq2_0", "i2_s"};

    static Path fixtures() {
        String shared = System.getProperty("bitnet4j.shared");
        assertNotNull(shared, "surefire sets bitnet4j.shared");
        Path dir = Path.of(shared, "fixtures");
        assertTrue(Files.isDirectory(dir), dir + " missing");
        return dir;
    }

    static float[] decode(GgufFile f, GgufTensorInfo t) {
        int n = Math.toIntExact(t.elements());
        float[] v = new float[n];
        WeightFormat.of(t.type()).dequantize(f.data(t), n, 0, v, 0, n);
        return v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"bitnet-silu", "bitnet-b1.58-relu2"})
    void quantisedFilesDecodeToTheF32Weights(String model) {
        Path dir = fixtures();
        try (GgufFile f32 = GgufFile.open(dir.resolve(model + "-f32.gguf"))) {
            assertEquals(24, f32.tensors().size());
            for (String q : QUANTISED) {
                try (GgufFile qf = GgufFile.open(dir.resolve(model + "-" + q + ".gguf"))) {
                    int ternary = 0;
                    for (GgufTensorInfo ref : f32.tensors()) {
                        GgufTensorInfo t = qf.tensor(ref.name());
                        assertNotNull(t, q + " lacks " + ref.name());
                        assertEquals(ref.shape(), t.shape(), ref.name());
                        float[] expected = decode(f32, ref);
                        float[] got = decode(qf, t);
                        MatrixTest.assertBitsEqual(expected, got, model + "-" + q + " " + ref.name());
                        if (t.type().isTernary()) {
                            ternary++;
                            reencodesToTheSameBytes(expected, t.type(), qf.data(t), model + "-" + q + " " + ref.name());
                        } else if (ref.name().equals("token_embd.weight")) {
                            assertEquals(GgmlType.F16, t.type());
                        }
                    }
                    assertEquals(14, ternary, q);
                }
            }
        }
    }

    /**
     * beta is the tensor's max |W| (every nonzero weight is +-beta). I2_S: only the codes and the scale are
     * compared, the 28 padding bytes after the scale are whatever memory bitnet.cpp's writer left there
     * (the fixtures hold nonzero garbage; we write zeros).
     */
    static void reencodesToTheSameBytes(float[] w, GgmlType type, MemorySegment expected, String what) {
        float beta = 0f;
        for (float v : w) {
            beta = Math.max(beta, Math.abs(v));
        }
        for (float v : w) {
            assertTrue(v == 0f || Math.abs(v) == beta, what + ": not ternary");
        }
        MemorySegment mine = Arena.ofAuto().allocate(type.byteSize(w.length), 32);
        WeightFormat.of(type).quantize(w, 0, w.length, mine, w.length, 0, beta);
        long compare = type == GgmlType.I2_S ? w.length / 4 + 4 : expected.byteSize();
        assertEquals(expected.byteSize(), mine.byteSize(), what);
        long at = MemorySegment.mismatch(mine, 0, compare, expected, 0, compare);
        assertEquals(-1L, at, what + ": first differing byte");
    }

    /** The 14 ternary tensors as matrices: I2_S, TQ2_0, TQ1_0, scalar and vector, all bit-identical. */
    @ParameterizedTest
    @ValueSource(strings = {"bitnet-silu", "bitnet-b1.58-relu2"})
    void ternaryMatricesAgreeAcrossFormatsAndKernels(String model) {
        Path dir = fixtures();
        Random rnd = new Random(31);
        GgufFile[] files = new GgufFile[QUANTISED.length];
        try (GgufFile f32 = GgufFile.open(dir.resolve(model + "-f32.gguf"))) {
            for (int i = 0; i < files.length; i++) {
                files[i] = GgufFile.open(dir.resolve(model + "-" + QUANTISED[i] + ".gguf"));
            }
            for (GgufTensorInfo ref : f32.tensors()) {
                if (!files[0].tensor(ref.name()).type().isTernary()) {
                    continue;
                }
                int rows = Math.toIntExact(ref.rows()), cols = Math.toIntExact(ref.cols());
                float[] w = decode(f32, ref);
                float beta = 0f;
                for (float v : w) {
                    beta = Math.max(beta, Math.abs(v));
                }
                int nTok = 3;
                float[] x = new float[nTok * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                QuantizedActivations qx = new QuantizedActivations(cols, nTok).quantize(x, nTok);
                float[] expected = new float[nTok * rows];
                for (int t = 0; t < nTok; t++) {
                    for (int r = 0; r < rows; r++) {
                        int isum = 0;
                        for (int c = 0; c < cols; c++) {
                            isum += Math.round(w[r * cols + c] / beta) * qx.q[t * cols + c];
                        }
                        expected[t * rows + r] = (float) isum * (beta / qx.scale[t]);
                    }
                }
                Matrix f32Matrix = Matrices.of(GgmlType.F32, f32.data(ref), rows, cols, Matrices.Kernel.SCALAR);
                float[] floatRef = MatrixTest.run(f32Matrix, x, nTok, rnd);
                for (GgufFile qf : files) {
                    GgufTensorInfo t = qf.tensor(ref.name());
                    for (Matrices.Kernel k : Matrices.Kernel.values()) {
                        Matrix m = Matrices.of(t.type(), qf.data(t), rows, cols, k);
                        String what = ref.name() + " " + m;
                        assertTrue(((TernaryMatrix) m).uniformScale(), what);
                        MatrixTest.assertBitsEqual(expected, MatrixTest.run(m, qx, nTok, rnd), what);
                        float[] got = MatrixTest.run(m, x, nTok, rnd);
                        for (int i = 0; i < got.length; i++) {
                            assertEquals(floatRef[i], got[i], 1e-5f * (1 + Math.abs(floatRef[i])), what + " float " + i);
                        }
                    }
                }
            }
        } finally {
            for (GgufFile f : files) {
                if (f != null) {
                    f.close();
                }
            }
        }
    }
}
