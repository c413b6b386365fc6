package org.bitnet4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFormatException;
import org.bitnet4j.tensor.Matrices.Kernel;
import org.junit.jupiter.api.Test;

class MatrixTest {
    static final GgmlType[] TERNARY = {GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.TQ1_0};

    /** random ternary weights, [rows][cols] */
    static int[] ternary(Random rnd, int rows, int cols) {
        int[] t = new int[rows * cols];
        for (int i = 0; i < t.length; i++) {
            int u = rnd.nextInt(10);
            t[i] = u < 3 ? 0 : u < 6 ? -1 : 1; // ~30% zeros, like BitNet
        }
        return t;
    }

    static MemorySegment encode(GgmlType type, int[] t, float beta) {
        float[] x = new float[t.length];
        for (int i = 0; i < t.length; i++) {
            x[i] = t[i] * beta;
        }
        return encode(type, x, beta);
    }

    static MemorySegment encode(GgmlType type, float[] x, float beta) {
        MemorySegment data = Arena.ofAuto().allocate(type.byteSize(x.length), 32);
        WeightFormat.of(type).quantize(x, 0, x.length, data, x.length, 0, beta);
        return data;
    }

    static QuantizedActivations activations(Random rnd, int cols, int nTok) {
        float[] x = new float[nTok * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * (1 + i % 7);
        }
        return new QuantizedActivations(cols, nTok + 1).quantize(x, nTok);
    }

    /** runs matmul in a few row ranges, like threads splitting the rows */
    static float[] run(Matrix m, QuantizedActivations x, int nTok, Random rnd) {
        float[] out = new float[nTok * m.rows()];
        Arrays.fill(out, Float.NaN);
        int split = rnd.nextInt(m.rows() + 1);
        m.matmul(x, nTok, out, 0, split);
        m.matmul(x, nTok, out, split, m.rows());
        return out;
    }

    static float[] run(Matrix m, float[] x, int nTok, Random rnd) {
        float[] out = new float[nTok * m.rows()];
        Arrays.fill(out, Float.NaN);
        int split = rnd.nextInt(m.rows() + 1);
        m.matmul(x, nTok, out, 0, split);
        m.matmul(x, nTok, out, split, m.rows());
        return out;
    }

    static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                throw new AssertionError(what + " index " + i + ": expected " + expected[i] + " got " + actual[i]);
            }
        }
    }

    /** int8 path: scalar, vector and an independent integer computation agree bit for bit, in every format */
    @Test
    void ternaryInt8PathsAreExactAndIdenticalAcrossFormats() {
        Random rnd = new Random(11);
        int[][] shapes = {{1, 256}, {3, 512}, {17, 256}, {40, 768}, {5, 5120}, {64, 1024}};
        for (int[] shape : shapes) {
            int rows = shape[0], cols = shape[1];
            int[] t = ternary(rnd, rows, cols);
            float beta = Float.float16ToFloat(Float.floatToFloat16(0.02f + rnd.nextFloat() * 0.1f));
            int nTok = 1 + rnd.nextInt(3);
            QuantizedActivations x = activations(rnd, cols, nTok);
            float[] expected = new float[nTok * rows];
            for (int r = 0; r < rows; r++) {
                for (int tok = 0; tok < nTok; tok++) {
                    long isum = 0;
                    for (int c = 0; c < cols; c++) {
                        isum += (long) t[r * cols + c] * x.q[tok * cols + c];
                    }
                    expected[tok * rows + r] = (float) isum * (beta / x.scale[tok]);
                }
            }
            for (GgmlType type : TERNARY) {
                MemorySegment data = encode(type, t, beta);
                for (Kernel k : Kernel.values()) {
                    Matrix m = Matrices.of(type, data, rows, cols, k);
                    assertTrue(m.isTernary());
                    assertTrue(((TernaryMatrix) m).uniformScale());
                    assertBitsEqual(expected, run(m, x, nTok, rnd), m + " " + rows + "x" + cols);
                }
            }
        }
    }

    /** worst case for the short accumulators: every product is +128 */
    @Test
    void ternaryAccumulatorsDoNotOverflow() {
        int rows = 2, cols = 256 * 40;
        int[] t = new int[rows * cols];
        Arrays.fill(t, -1);
        QuantizedActivations x = new QuantizedActivations(cols, 1);
        Arrays.fill(x.q, (byte) -128);
        x.scale[0] = 1f;
        for (GgmlType type : TERNARY) {
            MemorySegment data = encode(type, t, 1f);
            for (Kernel k : Kernel.values()) {
                float[] out = new float[rows];
                Matrices.of(type, data, rows, cols, k).matmul(x, 1, out, 0, rows);
                assertEquals(128f * cols, out[0], type + " " + k);
                assertEquals(128f * cols, out[1], type + " " + k);
            }
        }
    }

    /** TQ blocks with their own scales: sum_b d_b * isum_b / s, scalar and vector bit-identical */
    @Test
    void tqPerBlockScalesFallBack() {
        Random rnd = new Random(12);
        int rows = 7, cols = 768;
        int[] t = ternary(rnd, rows, cols);
        int nBlocks = rows * cols / 256;
        float[] d = new float[nBlocks];
        for (int b = 0; b < nBlocks; b++) {
            d[b] = Float.float16ToFloat(Float.floatToFloat16(0.01f + rnd.nextFloat()));
        }
        QuantizedActivations x = activations(rnd, cols, 2);
        for (GgmlType type : new GgmlType[] {GgmlType.TQ2_0, GgmlType.TQ1_0}) {
            MemorySegment data = Arena.ofAuto().allocate(type.byteSize((long) rows * cols), 32);
            float[] w = new float[256];
            for (int b = 0; b < nBlocks; b++) {
                for (int i = 0; i < 256; i++) {
                    w[i] = t[b * 256 + i] * d[b];
                }
                WeightFormat.of(type).quantize(w, 0, 256, data, (long) rows * cols, b * 256L, d[b]);
            }
            float[] expected = new float[2 * rows];
            float[] expectedFloat = new float[2 * rows];
            float[] xf = new float[2 * cols];
            for (int i = 0; i < xf.length; i++) {
                xf[i] = (float) rnd.nextGaussian();
            }
            for (int tok = 0; tok < 2; tok++) {
                for (int r = 0; r < rows; r++) {
                    float acc = 0f;
                    double facc = 0;
                    for (int b = 0; b < cols / 256; b++) {
                        int isum = 0;
                        for (int i = 0; i < 256; i++) {
                            int c = b * 256 + i;
                            isum += t[r * cols + c] * x.q[tok * cols + c];
                            facc += (double) (t[r * cols + c] * d[r * 3 + b]) * xf[tok * cols + c];
                        }
                        acc += d[r * 3 + b] * (float) isum;
                    }
                    expected[tok * rows + r] = acc / x.scale[tok];
                    expectedFloat[tok * rows + r] = (float) facc;
                }
            }
            for (Kernel k : Kernel.values()) {
                Matrix m = Matrices.of(type, data, rows, cols, k);
                assertFalse(((TernaryMatrix) m).uniformScale());
                assertBitsEqual(expected, run(m, x, 2, rnd), m.toString());
                float[] got = run(m, xf, 2, rnd);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(expectedFloat[i], got[i], 1e-4f * (1 + Math.abs(expectedFloat[i])), m + " " + i);
                }
            }
        }
    }

    /** float activations: both kernels within float rounding of a double reference */
    @Test
    void ternaryFloatPath() {
        Random rnd = new Random(13);
        int[][] shapes = {{1, 256}, {9, 512}, {33, 1280}};
        for (int[] shape : shapes) {
            int rows = shape[0], cols = shape[1];
            int[] t = ternary(rnd, rows, cols);
            float beta = Float.float16ToFloat(Float.floatToFloat16(0.05f + rnd.nextFloat() * 0.1f));
            int nTok = 1 + rnd.nextInt(3);
            float[] x = new float[nTok * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            for (GgmlType type : TERNARY) {
                MemorySegment data = encode(type, t, beta);
                float[] scalar = run(Matrices.of(type, data, rows, cols, Kernel.SCALAR), x, nTok, rnd);
                float[] vector = run(Matrices.of(type, data, rows, cols, Kernel.VECTOR), x, nTok, rnd);
                for (int tok = 0; tok < nTok; tok++) {
                    for (int r = 0; r < rows; r++) {
                        double sum = 0;
                        double mag = 0;
                        for (int c = 0; c < cols; c++) {
                            sum += (double) (t[r * cols + c] * beta) * x[tok * cols + c];
                            mag += Math.abs(beta * x[tok * cols + c]);
                        }
                        int i = tok * rows + r;
                        assertEquals((float) sum, scalar[i], 0f, type + " scalar");
                        assertEquals(sum, vector[i], 1e-6 * mag, type + " vector " + i);
                    }
                }
            }
        }
    }

    static float[] randomWeights(Random rnd, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.1f;
        }
        return w;
    }

    @Test
    void floatFormatsBothPathsAgreeWithDoubleReference() {
        Random rnd = new Random(14);
        Object[][] cases = {
            {GgmlType.F32, new int[][] {{3, 37}, {16, 256}, {5, 100}, {1, 1}}},
            {GgmlType.F16, new int[][] {{3, 37}, {16, 256}, {5, 261}, {2, 15}}},
            {GgmlType.BF16, new int[][] {{3, 37}, {16, 256}, {5, 261}}},
            {GgmlType.Q8_0, new int[][] {{3, 32}, {16, 256}, {5, 96}}},
            {GgmlType.Q6_K, new int[][] {{3, 256}, {9, 512}}},
        };
        for (Object[] cs : cases) {
            GgmlType type = (GgmlType) cs[0];
            for (int[] shape : (int[][]) cs[1]) {
                int rows = shape[0], cols = shape[1];
                MemorySegment data = encode(type, randomWeights(rnd, rows * cols), 0f);
                float[] w = new float[rows * cols];
                WeightFormat.of(type).dequantize(data, (long) rows * cols, 0, w, 0, rows * cols);
                for (int nTok = 1; nTok <= 3; nTok += 2) {
                    float[] x = new float[nTok * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) rnd.nextGaussian();
                    }
                    QuantizedActivations qx = new QuantizedActivations(cols, nTok).quantize(x, nTok);
                    Matrix scalar = Matrices.of(type, data, rows, cols, Kernel.SCALAR);
                    Matrix vector = Matrices.of(type, data, rows, cols, Kernel.VECTOR);
                    assertFalse(vector.isTernary());
                    float[] sf = run(scalar, x, nTok, rnd), vf = run(vector, x, nTok, rnd);
                    float[] sq = run(scalar, qx, nTok, rnd), vq = run(vector, qx, nTok, rnd);
                    for (int tok = 0; tok < nTok; tok++) {
                        for (int r = 0; r < rows; r++) {
                            double fsum = 0, qsum = 0, mag = 0, qmag = 0;
                            for (int c = 0; c < cols; c++) {
                                float wc = w[r * cols + c];
                                fsum += (double) wc * x[tok * cols + c];
                                qsum += (double) wc * (qx.q[tok * cols + c] / (double) qx.scale[tok]);
                                mag += Math.abs((double) wc * x[tok * cols + c]);
                                qmag += Math.abs(wc * qx.q[tok * cols + c] / (double) qx.scale[tok]);
                            }
                            int i = tok * rows + r;
                            String what = type + " " + rows + "x" + cols + " tok " + tok + " row " + r;
                            assertEquals((float) fsum, sf[i], 0f, what + " scalar float");
                            assertEquals(fsum, vf[i], 1e-6 * mag + 1e-30, what + " vector float");
                            assertEquals(qsum, sq[i], 1e-6 * qmag + 1e-30, what + " scalar int8");
                            assertEquals(qsum, vq[i], 1e-6 * qmag + 1e-30, what + " vector int8");
                        }
                    }
                    float[] row = new float[cols + 3];
                    vector.dequantizeRow(rows - 1, row, 3);
                    for (int c = 0; c < cols; c++) {
                        assertEquals(w[(rows - 1) * cols + c], row[3 + c], 0f);
                    }
                }
            }
        }
    }

    /** the vector row decoders used for prefill give exactly the scalar decoders' values */
    @Test
    void vectorRowDecodersAreBitExact() {
        Random rnd = new Random(16);
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q6_K}) {
            int rows = 3, cols = type.blockSize == 1 ? 275 : 512;
            float[] w = randomWeights(rnd, rows * cols);
            w[5] = 0f;
            w[6] = -0f;
            w[7] = 1e-7f; // an fp16 subnormal
            MemorySegment data = encode(type, w, 0f);
            FloatMatrix m = (FloatMatrix) Matrices.of(type, data, rows, cols, Kernel.VECTOR);
            for (int r = 0; r < rows; r++) {
                float[] expected = new float[cols], got = new float[cols];
                m.dequantizeRow(r, expected, 0);
                m.dequantizeRowVector(r, got);
                assertBitsEqual(expected, got, type + " row " + r);
            }
        }
    }

    @Test
    void vectorF16ConversionMatchesJdkForEveryHalf() {
        MemorySegment data = Arena.ofAuto().allocate(2 * 65536, 32);
        for (int i = 0; i < 65536; i++) {
            data.set(Formats.LE_SHORT, 2L * i, (short) i);
        }
        float[] out = new float[65536];
        for (int i = 0; i < 65536; i += VectorOps.FL) {
            VectorOps.f16ToFloat(data, 2L * i).intoArray(out, i);
        }
        for (int i = 0; i < 65536; i++) {
            float expected = Float.float16ToFloat((short) i);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(out[i]), Integer.toHexString(i));
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[i]), Integer.toHexString(i));
            }
        }
    }

    @Test
    void dequantizeRowOfTernaryMatrices() {
        Random rnd = new Random(15);
        int rows = 4, cols = 512;
        int[] t = ternary(rnd, rows, cols);
        for (GgmlType type : TERNARY) {
            MemorySegment data = encode(type, t, 0.5f);
            for (Kernel k : Kernel.values()) {
                Matrix m = Matrices.of(type, data, rows, cols, k);
                float[] row = new float[cols];
                m.dequantizeRow(2, row, 0);
                for (int c = 0; c < cols; c++) {
                    assertEquals(t[2 * cols + c] * 0.5f, row[c], 0f);
                }
                assertEquals(type.byteSize((long) rows * cols), m.byteSize());
                assertEquals(type, m.type());
            }
        }
    }

    @Test
    void corruptCodesAndBadShapesAreRefused() {
        int rows = 2, cols = 256;
        for (GgmlType type : new GgmlType[] {GgmlType.I2_S, GgmlType.TQ2_0}) {
            MemorySegment data = encode(type, new int[rows * cols], 1f);
            data.set(ValueLayout.JAVA_BYTE, 70, (byte) 0b00110101); // a code 3 in byte 70
            for (Kernel k : Kernel.values()) {
                GgufFormatException e = assertThrows(GgufFormatException.class,
                        () -> Matrices.of(type, data, rows, cols, k));
                assertTrue(e.getMessage().contains("byte 70"), e.getMessage());
            }
        }
        MemorySegment small = encode(GgmlType.TQ2_0, new int[256], 1f);
        assertThrows(GgufFormatException.class, () -> Matrices.of(GgmlType.TQ2_0, small, 2, 256));
        assertThrows(GgufFormatException.class, () -> Matrices.of(GgmlType.TQ2_0, small, 2, 128));
        assertThrows(GgufFormatException.class, () -> Matrices.of(GgmlType.Q8_0, small, 1, 33));
        Matrix m = Matrices.of(GgmlType.TQ2_0, small, 1, 256, Kernel.VECTOR);
        QuantizedActivations wrong = new QuantizedActivations(128, 1);
        assertThrows(IllegalArgumentException.class, () -> m.matmul(wrong, 1, new float[1], 0, 1));
        QuantizedActivations x = new QuantizedActivations(256, 1);
        assertThrows(IllegalArgumentException.class, () -> m.matmul(x, 1, new float[1], 0, 2));
        assertThrows(IllegalArgumentException.class, () -> m.matmul(x, 2, new float[2], 0, 1));
        assertThrows(IllegalArgumentException.class, () -> m.matmul(new float[255], 1, new float[1], 0, 1));
    }

    @Test
    void kernelProperty() {
        String old = System.getProperty(Kernel.PROPERTY);
        try {
            System.setProperty(Kernel.PROPERTY, "scalar");
            assertEquals(Kernel.SCALAR, Kernel.fromProperty());
            System.setProperty(Kernel.PROPERTY, "Vector");
            assertEquals(Kernel.VECTOR, Kernel.fromProperty());
            System.setProperty(Kernel.PROPERTY, "fast");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Kernel::fromProperty);
            assertTrue(e.getMessage().contains("fast"));
        } finally {
            if (old == null) {
                System.clearProperty(Kernel.PROPERTY);
            } else {
                System.setProperty(Kernel.PROPERTY, old);
            }
        }
    }
}
