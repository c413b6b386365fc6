package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.bitnet4j.model.ThreadPool;
import org.bitnet4j.tensor.QuantizedActivations;
import org.bitnet4j.tensor.Ternary;
import org.junit.jupiter.api.Test;

/** The ternary path: the forward value by its definition, and the straight-through gradients by theirs. */
class BitLinearTest {
    @Test
    void forwardIsBetaOverSTimesTheIntegerSum() {
        Random rnd = new Random(21);
        int n = 5, in = 160, out = 24;
        float[] W = new float[out * in], x = new float[n * in];
        for (int i = 0; i < W.length; i++) {
            W[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (1 + i % 7));
        }
        try (ThreadPool pool = new ThreadPool(2)) {
            BitLinear.Weight w = new BitLinear.Weight(out, in);
            BitLinear.quantizeWeight(pool, W, 0, true, w);
            // beta = mean|W| on the fp16 grid
            double sum = 0;
            for (float v : W) {
                sum += Math.abs(v);
            }
            float beta = Float.float16ToFloat(Float.floatToFloat16((float) (sum / W.length)));
            assertEquals(beta, w.beta);
            for (int i = 0; i < W.length; i++) {
                assertEquals(Ternary.ternarize(W[i], beta), (int) w.t[i]);
            }
            float[] q = new float[n * in], s = new float[n], y = new float[n * out];
            BitLinear.quantizeActivations(pool, x, n, in, true, q, s);
            // the engine's quantiser gives the same codes and scales
            QuantizedActivations qa = new QuantizedActivations(in, n).quantize(x, n);
            for (int i = 0; i < q.length; i++) {
                assertEquals(qa.q[i], (int) q[i], "code " + i);
            }
            for (int r = 0; r < n; r++) {
                assertEquals(qa.scale[r], s[r]);
            }
            BitLinear.forward(pool, n, q, s, w, y);
            for (int r = 0; r < n; r++) {
                for (int o = 0; o < out; o++) {
                    int isum = 0;
                    for (int i = 0; i < in; i++) {
                        isum += Ternary.ternarize(W[o * in + i], beta) * qa.q[r * in + i];
                    }
                    assertEquals(Ternary.output(isum, beta, qa.scale[r]), y[r * out + o], 0f, "y[" + r + "][" + o + "]");
                }
            }
            // straight-through backward: dx = dy (beta t), dW = dy^T (q / s)
            float[] dy = new float[n * out];
            for (int i = 0; i < dy.length; i++) {
                dy[i] = (float) rnd.nextGaussian();
            }
            float[] dx = new float[n * in], dW = new float[out * in];
            BitLinear.backward(pool, n, q, s, w, dy, dx, false, dW, 0, new float[out * n]);
            for (int r = 0; r < n; r++) {
                for (int i = 0; i < in; i++) {
                    double e = 0;
                    for (int o = 0; o < out; o++) {
                        e += (double) dy[r * out + o] * beta * Ternary.ternarize(W[o * in + i], beta);
                    }
                    assertEquals(e, dx[r * in + i], 1e-5 * (1 + Math.abs(e)));
                }
            }
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double e = 0;
                    for (int r = 0; r < n; r++) {
                        e += (double) dy[r * out + o] * qa.q[r * in + i] / qa.scale[r];
                    }
                    assertEquals(e, dW[o * in + i], 1e-4 * (1 + Math.abs(e)));
                }
            }
        }
    }
}
