package org.bitnet4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Every backward pass against central finite differences of L = sum(out * R) for a random R, on the float
 * path (no quantisation) with small shapes.
 */
class OpsGradientTest {
    static final SplittableRandom RND = new SplittableRandom(42);

    static float[] rand(int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (scale * RND.nextGaussian());
        }
        return a;
    }

    static double dotD(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** Compares analytic[i] with (L(x_i + h) - L(x_i - h)) / 2h for every i of x. */
    static void check(String what, float[] x, float[] analytic, Supplier<Double> loss, double h, double tol) {
        for (int i = 0; i < x.length; i++) {
            float keep = x[i];
            x[i] = (float) (keep + h);
            double up = loss.get();
            x[i] = (float) (keep - h);
            double down = loss.get();
            x[i] = keep;
            double num = (up - down) / (2 * h);
            assertEquals(num, analytic[i], tol * Math.max(1, Math.abs(num)), what + "[" + i + "]");
        }
    }

    @Test
    void rmsnorm() {
        int T = 3, D = 8;
        float[] x = rand(T * D, 1), w = rand(D, 1), r = rand(T * D, 1), out = new float[T * D], rinv = new float[T];
        Supplier<Double> L = () -> {
            Ops.rmsnorm(x, 0, w, 0, out, 0, rinv, T, D);
            return dotD(out, r);
        };
        L.get();
        float[] dx = new float[T * D], dw = new float[D];
        Ops.rmsnormBackward(r, 0, x, 0, w, 0, rinv, dx, 0, dw, 0, T, D);
        check("dx", x, dx, L, 1e-2, 2e-3);
        check("dw", w, dw, L, 1e-2, 2e-3);
    }

    @Test
    void rope() {
        int T = 4, H = 2, hd = 8;
        float[][] cs = Ops.ropeTables(T, hd);
        float[] x = rand(T * H * hd, 1), r = rand(T * H * hd, 1);
        Supplier<Double> L = () -> {
            float[] y = x.clone();
            Ops.rope(y, T, H, hd, cs[0], cs[1], false);
            return dotD(y, r);
        };
        float[] dx = r.clone();
        Ops.rope(dx, T, H, hd, cs[0], cs[1], true);
        check("dx", x, dx, L, 1e-2, 1e-3);
    }

    @Test
    void attention() {
        int T = 5, H = 4, KVH = 2, hd = 4;
        float[] q = rand(T * H * hd, 1), k = rand(T * KVH * hd, 1), v = rand(T * KVH * hd, 1), r = rand(T * H * hd, 1);
        float[] probs = new float[H * T * T], out = new float[T * H * hd];
        Supplier<Double> L = () -> {
            Ops.attention(q, k, v, probs, out, T, H, KVH, hd);
            return dotD(out, r);
        };
        L.get();
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        Ops.attentionBackward(r, q, k, v, probs, dq, dk, dv, new float[T], T, H, KVH, hd);
        check("dq", q, dq, L, 1e-2, 3e-3);
        check("dk", k, dk, L, 1e-2, 3e-3);
        check("dv", v, dv, L, 1e-2, 3e-3);
    }

    @Test
    void relu2Gate() {
        int n = 40;
        float[] g = rand(n, 1), u = rand(n, 1), r = rand(n, 1), f = new float[n];
        for (int i = 0; i < n; i++) {
            if (Math.abs(g[i]) < 0.05f) {
                g[i] = 0.5f; // keep finite differences away from relu's kink
            }
        }
        Supplier<Double> L = () -> {
            Ops.relu2Gate(g, u, f, n);
            return dotD(f, r);
        };
        float[] dg = new float[n], du = new float[n];
        Ops.relu2GateBackward(r, g, u, dg, du, n);
        check("dg", g, dg, L, 1e-3, 2e-3);
        check("du", u, du, L, 1e-3, 2e-3);
    }

    @Test
    void crossEntropy() {
        int V = 17;
        float[] logits = rand(V, 2), grad = new float[V];
        Ops.crossEntropy(logits, 0, V, 5, grad, 0, 1f);
        check("dlogits", logits, grad, () -> Ops.crossEntropy(logits, 0, V, 5, null, 0, 0f), 1e-2, 2e-3);
    }

    /** The float-path linear: dx = dy W, dW = dy^T x. */
    @Test
    void floatLinear() {
        TrainConfig c = new TrainConfig(300, 128, 1, 4, 2, 128, 8, 1, 1, 1e-3, 1e-3, 1, 0, 0, 1, 1, 1, 1);
        BitNetModel m = new BitNetModel(c);
        float[] p = m.init(3);
        BitNetModel.Tensor w = m.layer[0][BitNetModel.WK];
        int T = 3;
        float[] x = rand(T * w.cols(), 1), r = rand(T * w.rows(), 1), y = new float[T * w.rows()], s = {1, 1, 1};
        Supplier<Double> L = () -> {
            m.linear(m.floatWeights(p), w, x, s, T, y);
            return dotD(y, r);
        };
        float[] dx = new float[x.length], grad = new float[m.size];
        m.linearBackward(m.floatWeights(p), w, r, x, s, T, dx, grad, m.workspace(T));
        check("dx", x, dx, L, 1e-2, 2e-3);
        float[] pw = new float[16], gw = new float[16];
        for (int i = 0; i < 16; i++) { // a sample of W's coordinates
            int idx = w.offset() + i * 97 % w.size();
            gw[i] = grad[idx];
            final int ii = i;
            float keep = p[idx];
            p[idx] = keep + 1e-2f;
            double up = L.get();
            p[idx] = keep - 1e-2f;
            double down = L.get();
            p[idx] = keep;
            pw[ii] = (float) ((up - down) / 2e-2);
        }
        for (int i = 0; i < 16; i++) {
            assertEquals(pw[i], gw[i], 2e-3 * Math.max(1, Math.abs(pw[i])), "dW sample " + i);
        }
    }

    /** The whole model on the float path: loss gradient of sampled parameters of every tensor. */
    @Test
    void wholeModelFloatPath() {
        TrainConfig c = new TrainConfig(300, 128, 2, 4, 2, 128, 6, 1, 1, 1e-3, 1e-3, 1, 0, 0, 1, 1, 1, 1);
        BitNetModel m = new BitNetModel(c);
        float[] p = m.init(5);
        for (int i = 0; i < p.length; i++) {
            p[i] *= 10; // weights of order 0.2 so the float path's products are not tiny
        }
        for (BitNetModel.Tensor t : m.tensors) {
            if (t.kind() == BitNetModel.Kind.NORM) {
                for (int i = 0; i < t.size(); i++) {
                    p[t.offset() + i] = 1f + 0.2f * (float) RND.nextGaussian();
                }
            }
        }
        int T = 6;
        int[] in = {297, 3, 44, 200, 3, 9}, tg = {3, 44, 200, 3, 9, 17};
        BitNetModel.Workspace ws = m.workspace(T);
        float[] grad = new float[m.size];
        m.forwardBackward(p, m.floatWeights(p), in, tg, T, 1f, grad, ws);
        Supplier<Double> L = () -> {
            m.forward(p, m.floatWeights(p), in, T, ws);
            double s = 0;
            for (int t = 0; t < T; t++) {
                s += Ops.crossEntropy(ws.logits, t * c.vocab(), c.vocab(), tg[t], null, 0, 0f);
            }
            return s;
        };
        for (BitNetModel.Tensor t : m.tensors) {
            for (int k = 0; k < 3; k++) {
                int idx = t.offset() + (t.kind() == BitNetModel.Kind.EMBEDDING ? in[k + 1] * c.dim() + k : (k * 7919) % t.size());
                float keep = p[idx];
                double h = 1e-2;
                p[idx] = (float) (keep + h);
                double up = L.get();
                p[idx] = (float) (keep - h);
                double down = L.get();
                p[idx] = keep;
                double num = (up - down) / (2 * h);
                assertEquals(num, grad[idx], 2e-2 * Math.max(0.05, Math.abs(num)), t.name() + " @" + (idx - t.offset()));
            }
        }
    }
}
