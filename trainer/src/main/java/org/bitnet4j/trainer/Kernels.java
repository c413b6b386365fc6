package org.bitnet4j.trainer;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The three dense products of training, row-major float arrays, with the Vector API (FMA over the contiguous
 * dimension) and a scalar reference beside each. Results depend only on the shapes, never on threads.
 */
final class Kernels {
    private Kernels() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    /** y[t][o] = x[t][.] . w[o][.]   x [T][I], w [O][I], y [T][O] (overwritten) */
    static void matmulT(float[] x, int xOff, int T, int I, float[] w, int wOff, int O, float[] y, int yOff) {
        int bound = S.loopBound(I);
        int o = 0;
        for (; o + 4 <= O; o += 4) {
            int w0 = wOff + o * I, w1 = w0 + I, w2 = w1 + I, w3 = w2 + I;
            for (int t = 0; t < T; t++) {
                int xo = xOff + t * I;
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                int i = 0;
                for (; i < bound; i += L) {
                    FloatVector xv = FloatVector.fromArray(S, x, xo + i);
                    a0 = FloatVector.fromArray(S, w, w0 + i).fma(xv, a0);
                    a1 = FloatVector.fromArray(S, w, w1 + i).fma(xv, a1);
                    a2 = FloatVector.fromArray(S, w, w2 + i).fma(xv, a2);
                    a3 = FloatVector.fromArray(S, w, w3 + i).fma(xv, a3);
                }
                float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
                float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
                for (; i < I; i++) {
                    float xv = x[xo + i];
                    s0 += w[w0 + i] * xv;
                    s1 += w[w1 + i] * xv;
                    s2 += w[w2 + i] * xv;
                    s3 += w[w3 + i] * xv;
                }
                int yo = yOff + t * O + o;
                y[yo] = s0;
                y[yo + 1] = s1;
                y[yo + 2] = s2;
                y[yo + 3] = s3;
            }
        }
        for (; o < O; o++) {
            for (int t = 0; t < T; t++) {
                y[yOff + t * O + o] = dot(x, xOff + t * I, w, wOff + o * I, I);
            }
        }
    }

    /** dx[t][i] += sum_o dy[t][o] * w[o][i]   dy [T][O], w [O][I], dx [T][I] */
    static void matmulAcc(float[] dy, int dyOff, int T, int O, float[] w, int wOff, int I, float[] dx, int dxOff) {
        int bound = S.loopBound(I);
        int t = 0;
        for (; t + 4 <= T; t += 4) {
            int d0 = dyOff + t * O, d1 = d0 + O, d2 = d1 + O, d3 = d2 + O;
            int x0 = dxOff + t * I, x1 = x0 + I, x2 = x1 + I, x3 = x2 + I;
            for (int i = 0; i < bound; i += L) {
                FloatVector a0 = FloatVector.fromArray(S, dx, x0 + i), a1 = FloatVector.fromArray(S, dx, x1 + i);
                FloatVector a2 = FloatVector.fromArray(S, dx, x2 + i), a3 = FloatVector.fromArray(S, dx, x3 + i);
                for (int o = 0; o < O; o++) {
                    FloatVector wv = FloatVector.fromArray(S, w, wOff + o * I + i);
                    a0 = wv.fma(FloatVector.broadcast(S, dy[d0 + o]), a0);
                    a1 = wv.fma(FloatVector.broadcast(S, dy[d1 + o]), a1);
                    a2 = wv.fma(FloatVector.broadcast(S, dy[d2 + o]), a2);
                    a3 = wv.fma(FloatVector.broadcast(S, dy[d3 + o]), a3);
                }
                a0.intoArray(dx, x0 + i);
                a1.intoArray(dx, x1 + i);
                a2.intoArray(dx, x2 + i);
                a3.intoArray(dx, x3 + i);
            }
            for (int i = bound; i < I; i++) {
                for (int o = 0; o < O; o++) {
                    float wv = w[wOff + o * I + i];
                    dx[x0 + i] += dy[d0 + o] * wv;
                    dx[x1 + i] += dy[d1 + o] * wv;
                    dx[x2 + i] += dy[d2 + o] * wv;
                    dx[x3 + i] += dy[d3 + o] * wv;
                }
            }
        }
        for (; t < T; t++) {
            for (int o = 0; o < O; o++) {
                axpy(dy[dyOff + t * O + o], w, wOff + o * I, dx, dxOff + t * I, I);
            }
        }
    }

    /** dw[o][i] += sum_t dy[t][o] * x[t][i]   dy [T][O], x [T][I], dw [O][I] */
    static void outerAcc(float[] dy, int dyOff, int T, int O, float[] x, int xOff, int I, float[] dw, int dwOff) {
        int bound = S.loopBound(I);
        int o = 0;
        for (; o + 4 <= O; o += 4) {
            int w0 = dwOff + o * I, w1 = w0 + I, w2 = w1 + I, w3 = w2 + I;
            for (int i = 0; i < bound; i += L) {
                FloatVector a0 = FloatVector.fromArray(S, dw, w0 + i), a1 = FloatVector.fromArray(S, dw, w1 + i);
                FloatVector a2 = FloatVector.fromArray(S, dw, w2 + i), a3 = FloatVector.fromArray(S, dw, w3 + i);
                for (int t = 0; t < T; t++) {
                    FloatVector xv = FloatVector.fromArray(S, x, xOff + t * I + i);
                    int d = dyOff + t * O + o;
                    a0 = xv.fma(FloatVector.broadcast(S, dy[d]), a0);
                    a1 = xv.fma(FloatVector.broadcast(S, dy[d + 1]), a1);
                    a2 = xv.fma(FloatVector.broadcast(S, dy[d + 2]), a2);
                    a3 = xv.fma(FloatVector.broadcast(S, dy[d + 3]), a3);
                }
                a0.intoArray(dw, w0 + i);
                a1.intoArray(dw, w1 + i);
                a2.intoArray(dw, w2 + i);
                a3.intoArray(dw, w3 + i);
            }
            for (int i = bound; i < I; i++) {
                for (int t = 0; t < T; t++) {
                    float xv = x[xOff + t * I + i];
                    int d = dyOff + t * O + o;
                    dw[w0 + i] += dy[d] * xv;
                    dw[w1 + i] += dy[d + 1] * xv;
                    dw[w2 + i] += dy[d + 2] * xv;
                    dw[w3 + i] += dy[d + 3] * xv;
                }
            }
        }
        for (; o < O; o++) {
            for (int t = 0; t < T; t++) {
                axpy(dy[dyOff + t * O + o], x, xOff + t * I, dw, dwOff + o * I, I);
            }
        }
    }

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < bound; i += L) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** y += alpha * x */
    static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int bound = S.loopBound(n);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += alpha * x[xOff + i];
        }
    }

    // ---- scalar references (tests compare the vector kernels with these) ----

    static void matmulTRef(float[] x, int T, int I, float[] w, int O, float[] y) {
        for (int t = 0; t < T; t++) {
            for (int o = 0; o < O; o++) {
                double s = 0;
                for (int i = 0; i < I; i++) {
                    s += (double) x[t * I + i] * w[o * I + i];
                }
                y[t * O + o] = (float) s;
            }
        }
    }

    static void matmulAccRef(float[] dy, int T, int O, float[] w, int I, float[] dx) {
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < I; i++) {
                double s = dx[t * I + i];
                for (int o = 0; o < O; o++) {
                    s += (double) dy[t * O + o] * w[o * I + i];
                }
                dx[t * I + i] = (float) s;
            }
        }
    }

    static void outerAccRef(float[] dy, int T, int O, float[] x, int I, float[] dw) {
        for (int o = 0; o < O; o++) {
            for (int i = 0; i < I; i++) {
                double s = dw[o * I + i];
                for (int t = 0; t < T; t++) {
                    s += (double) dy[t * O + o] * x[t * I + i];
                }
                dw[o * I + i] = (float) s;
            }
        }
    }
}
