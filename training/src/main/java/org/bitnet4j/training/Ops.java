package org.bitnet4j.training;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dense kernels of training, row-major. Each has a plain loop as its definition; the Vector API versions
 * use FMA over the contiguous dimension and add lanes in a fixed order, so results do not change as the JIT warms up.
 */
final class Ops {
    private Ops() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    /** sum a[ao+i] * b[bo+i], i < n */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        }
        float s = 0f;
        for (int k = 0; k < L; k++) {
            s += acc.lane(k);
        }
        for (; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** y[yo+i] += alpha * x[xo+i], i < n */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }

    /** out[t][o] = sum_i in[t][i] * w[o][i]: in [T][I], w [O][I] at wOff, out [T][O] */
    static void matmul(float[] out, float[] in, float[] w, int wOff, int T, int I, int O) {
        abT(out, 0, false, in, 0, w, wOff, T, O, I);
    }

    /**
     * dIn[t][i] += sum_o dOut[t][o] * w[o][i]; dW[o][i] += sum_t dOut[t][o] * in[t][i]. Both as dot products over
     * transposed copies, so every product runs along contiguous memory.
     */
    static void matmulBackward(float[] dIn, float[] dW, int dwOff, float[] dOut, float[] in, float[] w, int wOff, int T, int I,
                               int O) {
        if (dIn != null) {
            float[] wT = transpose(w, wOff, O, I);          // [I][O]
            abT(dIn, 0, true, dOut, 0, wT, 0, T, I, O);
        }
        float[] dOutT = transpose(dOut, 0, T, O);          // [O][T]
        float[] inT = transpose(in, 0, T, I);              // [I][T]
        abT(dW, dwOff, true, dOutT, 0, inT, 0, O, I, T);
    }

    static float[] transpose(float[] a, int off, int rows, int cols) {
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[off + r * cols + c];
            }
        }
        return t;
    }

    /**
     * out[m][n] (+)= sum_k a[m][k] * b[n][k]: a [M][K], b [N][K], out [M][N]. Four rows of a share each load of a
     * row of b; lanes are added in a fixed order.
     */
    static void abT(float[] out, int outOff, boolean accumulate, float[] a, int aOff, float[] b, int bOff, int M, int N, int K) {
        int m = 0;
        int bound = S.loopBound(K);
        for (; m + 4 <= M; m += 4) {
            int a0 = aOff + m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
            for (int n = 0; n < N; n++) {
                int bo = bOff + n * K;
                FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
                int k = 0;
                for (; k < bound; k += L) {
                    FloatVector bv = FloatVector.fromArray(S, b, bo + k);
                    s0 = FloatVector.fromArray(S, a, a0 + k).fma(bv, s0);
                    s1 = FloatVector.fromArray(S, a, a1 + k).fma(bv, s1);
                    s2 = FloatVector.fromArray(S, a, a2 + k).fma(bv, s2);
                    s3 = FloatVector.fromArray(S, a, a3 + k).fma(bv, s3);
                }
                float r0 = lanes(s0), r1 = lanes(s1), r2 = lanes(s2), r3 = lanes(s3);
                for (; k < K; k++) {
                    float bk = b[bo + k];
                    r0 += a[a0 + k] * bk;
                    r1 += a[a1 + k] * bk;
                    r2 += a[a2 + k] * bk;
                    r3 += a[a3 + k] * bk;
                }
                put(out, outOff + m * N + n, r0, accumulate);
                put(out, outOff + (m + 1) * N + n, r1, accumulate);
                put(out, outOff + (m + 2) * N + n, r2, accumulate);
                put(out, outOff + (m + 3) * N + n, r3, accumulate);
            }
        }
        for (; m < M; m++) {
            for (int n = 0; n < N; n++) {
                put(out, outOff + m * N + n, dot(a, aOff + m * K, b, bOff + n * K, K), accumulate);
            }
        }
    }

    private static void put(float[] out, int i, float v, boolean accumulate) {
        out[i] = accumulate ? out[i] + v : v;
    }

    private static float lanes(FloatVector v) {
        float s = 0f;
        for (int k = 0; k < L; k++) {
            s += v.lane(k);
        }
        return s;
    }
}
