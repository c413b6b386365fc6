package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;
import org.bitnet4j.model.ThreadPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every op's backward against central finite differences of an independent float64 forward written here (so the
 * differences carry no float32 noise): loss = sum(out * R) for a random R, whose gradient w.r.t. the output is R.
 */
class OpsGradientTest {
    static ThreadPool pool;

    @BeforeAll
    static void start() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void stop() {
        pool.close();
    }

    private static float[] random(Random r, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * std);
        }
        return a;
    }

    private static double[] d(float[] a) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i];
        }
        return o;
    }

    private static double dot(double[] a, float[] r) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * r[i];
        }
        return s;
    }

    /** Central differences of f at x (float64) for every coordinate, against analytic, to a relative tolerance. */
    private static void check(String what, double[] x, Function<double[], Double> f, float[] analytic, double tol) {
        double h = 1e-6;
        double scale = 0;
        for (float g : analytic) {
            scale = Math.max(scale, Math.abs(g));
        }
        for (int i = 0; i < x.length; i++) {
            double keep = x[i];
            x[i] = keep + h;
            double up = f.apply(x);
            x[i] = keep - h;
            double down = f.apply(x);
            x[i] = keep;
            double fd = (up - down) / (2 * h);
            assertEquals(fd, analytic[i], tol * Math.max(scale, 1e-3), what + "[" + i + "]");
        }
    }

    // ---- RMSNorm ----
    static double[] rmsnorm(double[] x, double[] w, int n, int width) {
        double[] y = new double[x.length];
        for (int r = 0; r < n; r++) {
            double ss = 0;
            for (int i = 0; i < width; i++) {
                ss += x[r * width + i] * x[r * width + i];
            }
            double inv = 1 / Math.sqrt(ss / width + TrainConfig.RMS_EPS);
            for (int i = 0; i < width; i++) {
                y[r * width + i] = x[r * width + i] * inv * w[i];
            }
        }
        return y;
    }

    @Test
    void rmsnorm() {
        Random rnd = new Random(11);
        int n = 3, width = 10;
        float[] x = random(rnd, n * width, 1), w = random(rnd, width, 1), R = random(rnd, n * width, 1);
        float[] y = new float[n * width], inv = new float[n], dx = new float[n * width], dw = new float[width];
        RmsNorm.forward(pool, n, width, x, w, 0, y, inv);
        double[] ref = rmsnorm(d(x), d(w), n, width);
        for (int i = 0; i < y.length; i++) {
            assertEquals(ref[i], y[i], 1e-5);
        }
        RmsNorm.backward(pool, n, width, x, inv, w, 0, R, dx, false, dw, 0);
        check("dx", d(x), v -> dot(rmsnorm(v, d(w), n, width), R), dx, 1e-4);
        check("dw", d(w), v -> dot(rmsnorm(d(x), v, n, width), R), dw, 1e-4);
        // accumulate adds to what is there
        float[] dx2 = new float[n * width];
        java.util.Arrays.fill(dx2, 1f);
        RmsNorm.backward(pool, n, width, x, inv, w, 0, R, dx2, true, new float[width], 0);
        for (int i = 0; i < dx.length; i++) {
            assertEquals(dx[i] + 1f, dx2[i], 1e-6);
        }
    }

    // ---- RoPE ----
    static double[] rope(double[] x, int n, int heads, int hd, int seqLen) {
        double[] y = x.clone();
        int half = hd / 2;
        for (int r = 0; r < n; r++) {
            int p = r % seqLen;
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    double th = p * Math.pow(TrainConfig.ROPE_THETA, -2.0 * i / hd);
                    int a = r * heads * hd + h * hd + i, b = a + half;
                    y[a] = x[a] * Math.cos(th) - x[b] * Math.sin(th);
                    y[b] = x[a] * Math.sin(th) + x[b] * Math.cos(th);
                }
            }
        }
        return y;
    }

    @Test
    void rope() {
        Random rnd = new Random(12);
        int seqLen = 5, n = 10, heads = 2, hd = 8;
        Rope rope = new Rope(hd, seqLen, TrainConfig.ROPE_THETA);
        float[] x = random(rnd, n * heads * hd, 1), R = random(rnd, x.length, 1);
        float[] y = x.clone();
        rope.apply(pool, y, n, heads, seqLen, false);
        double[] ref = rope(d(x), n, heads, hd, seqLen);
        for (int i = 0; i < y.length; i++) {
            assertEquals(ref[i], y[i], 1e-5);
        }
        float[] g = R.clone();
        rope.apply(pool, g, n, heads, seqLen, true);
        check("dx", d(x), v -> dot(rope(v, n, heads, hd, seqLen), R), g, 1e-4);
    }

    // ---- attention ----
    static double[] attention(double[] q, double[] k, double[] v, int B, int T, int H, int KV, int hd) {
        int qd = H * hd, kvd = KV * hd, group = H / KV;
        double scale = 1 / Math.sqrt(hd);
        double[] out = new double[B * T * qd];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int kh = h / group;
                for (int i = 0; i < T; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dt = 0;
                        for (int c = 0; c < hd; c++) {
                            dt += q[(b * T + i) * qd + h * hd + c] * k[(b * T + j) * kvd + kh * hd + c];
                        }
                        s[j] = dt * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int c = 0; c < hd; c++) {
                            out[(b * T + i) * qd + h * hd + c] += s[j] / sum * v[(b * T + j) * kvd + kh * hd + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    private void attentionCase(int B, int T, int H, int KV, int hd, boolean gradients) {
        Random rnd = new Random(13 + T);
        int n = B * T, qd = H * hd, kvd = KV * hd;
        float[] q = random(rnd, n * qd, 1), k = random(rnd, n * kvd, 1), v = random(rnd, n * kvd, 1);
        float[] R = random(rnd, n * qd, 1);
        Attention att = new Attention(B, T, H, KV, hd, pool.threads());
        float[] p = new float[B * H * T * T], out = new float[n * qd];
        att.forward(pool, q, k, v, p, out);
        double[] ref = attention(d(q), d(k), d(v), B, T, H, KV, hd);
        for (int i = 0; i < out.length; i++) {
            assertEquals(ref[i], out[i], 1e-5, "out[" + i + "]");
        }
        if (!gradients) {
            return;
        }
        float[] dq = new float[n * qd], dk = random(rnd, n * kvd, 1), dv = random(rnd, n * kvd, 1); // overwritten
        att.backward(pool, q, k, v, p, R, dq, dk, dv);
        check("dq", d(q), x -> dot(attention(x, d(k), d(v), B, T, H, KV, hd), R), dq, 2e-4);
        check("dk", d(k), x -> dot(attention(d(q), x, d(v), B, T, H, KV, hd), R), dk, 2e-4);
        check("dv", d(v), x -> dot(attention(d(q), d(k), x, B, T, H, KV, hd), R), dv, 2e-4);
    }

    @Test
    void groupedQueryAttention() {
        attentionCase(2, 5, 4, 2, 4, true);
    }

    @Test
    void attentionAcrossRowBlocks() {
        // T beyond the 32-row block: the causal blocking of the products must not lose or add terms
        attentionCase(1, 37, 2, 1, 4, true);
    }

    // ---- relu^2 gate ----
    @Test
    void reluSquaredGate() {
        Random rnd = new Random(14);
        int n = 20;
        float[] g = random(rnd, n, 1), u = random(rnd, n, 1), R = random(rnd, n, 1);
        float[] f = new float[n], dg = new float[n], du = new float[n];
        ReluSquaredGate.forward(pool, n, g, u, f);
        Function<double[][], double[]> ref = a -> {
            double[] o = new double[n];
            for (int i = 0; i < n; i++) {
                double r = Math.max(a[0][i], 0);
                o[i] = r * r * a[1][i];
            }
            return o;
        };
        double[] fr = ref.apply(new double[][] {d(g), d(u)});
        for (int i = 0; i < n; i++) {
            assertEquals(fr[i], f[i], 1e-6);
        }
        ReluSquaredGate.backward(pool, n, g, u, R, dg, du);
        check("dg", d(g), x -> dot(ref.apply(new double[][] {x, d(u)}), R), dg, 1e-5);
        check("du", d(u), x -> dot(ref.apply(new double[][] {d(g), x}), R), du, 1e-5);
    }

    // ---- cross-entropy ----
    @Test
    void crossEntropy() {
        Random rnd = new Random(15);
        int n = 4, vocab = 11;
        float[] logits = random(rnd, n * vocab, 2);
        int[] targets = {3, -1, 10, 0};
        Function<double[], Double> loss = l -> {
            double s = 0;
            for (int r = 0; r < n; r++) {
                if (targets[r] < 0) {
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int i = 0; i < vocab; i++) {
                    max = Math.max(max, l[r * vocab + i]);
                }
                for (int i = 0; i < vocab; i++) {
                    sum += Math.exp(l[r * vocab + i] - max);
                }
                s -= l[r * vocab + targets[r]] - max - Math.log(sum);
            }
            return s / 3;
        };
        double[] nll = new double[n], nllExact = new double[n];
        float[] grad = logits.clone();
        CrossEntropy.nll(pool, n, vocab, logits, targets, 0, nllExact, 0);
        CrossEntropy.forwardBackward(pool, n, vocab, grad, targets, 0, nll, 0, 1f / 3);
        assertEquals(0.0, nll[1]);
        assertEquals(loss.apply(d(logits)), (nll[0] + nll[2] + nll[3]) / 3, 1e-6);
        assertEquals(loss.apply(d(logits)), (nllExact[0] + nllExact[2] + nllExact[3]) / 3, 1e-7);
        check("dlogits", d(logits), loss, grad, 1e-5);
    }

    // ---- BitLinear, float path: y = x W^T ----
    @Test
    void bitLinearFloatPathIsALinearLayer() {
        Random rnd = new Random(16);
        int n = 3, in = 6, out = 5;
        float[] x = random(rnd, n * in, 1), W = random(rnd, out * in, 1), R = random(rnd, n * out, 1);
        BitLinear.Weight w = new BitLinear.Weight(out, in);
        BitLinear.quantizeWeight(pool, W, 0, false, w);
        float[] q = new float[n * in], s = new float[n], y = new float[n * out];
        BitLinear.quantizeActivations(pool, x, n, in, false, q, s);
        BitLinear.forward(pool, n, q, s, w, y);
        Function<double[][], double[]> ref = a -> {
            double[] o = new double[n * out];
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < out; j++) {
                    for (int i = 0; i < in; i++) {
                        o[r * out + j] += a[0][r * in + i] * a[1][j * in + i];
                    }
                }
            }
            return o;
        };
        double[] yr = ref.apply(new double[][] {d(x), d(W)});
        for (int i = 0; i < y.length; i++) {
            assertEquals(yr[i], y[i], 1e-5);
        }
        float[] dx = new float[n * in], dW = new float[out * in];
        BitLinear.backward(pool, n, q, s, w, R, dx, false, dW, 0, new float[out * n]);
        check("dx", d(x), a -> dot(ref.apply(new double[][] {a, d(W)}), R), dx, 1e-5);
        check("dW", d(W), a -> dot(ref.apply(new double[][] {d(x), a}), R), dW, 1e-5);
    }

    @Test
    void finiteDifferenceCheckerCatchesAWrongGradient() {
        // guards the guard: a gradient off by 1% must fail
        double[] x = {0.3, -1.2};
        float[] wrong = {(float) (2 * 0.3 * 1.01), (float) (2 * -1.2)};
        boolean failed = false;
        try {
            check("x^2", x, v -> v[0] * v[0] + v[1] * v[1], wrong, 1e-3);
        } catch (AssertionError e) {
            failed = true;
        }
        assertTrue(failed);
    }
}
