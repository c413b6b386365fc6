package org.bitnet4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.bitnet4j.tensor.Ternary;
import org.junit.jupiter.api.Test;

/** BitLinear in int8 mode: the engine's forward expression and the straight-through backward, by definition. */
class BitLinearSteTest {
    @Test
    void forwardIsTheEngineExpressionAndBackwardIsSte() {
        TrainConfig c = new TrainConfig(300, 128, 1, 4, 2, 256, 8, 1, 1, 1e-3, 1e-3, 1, 0, 0, 1, 1, 1, 1);
        BitNetModel m = new BitNetModel(c);
        float[] p = m.init(11);
        BitNetModel.Quantized qw = m.quantizeWeights(p);
        BitNetModel.Tensor w = m.layer[0][BitNetModel.WG]; // [256][128]
        int T = 5, I = w.cols(), O = w.rows();
        SplittableRandom rnd = new SplittableRandom(1);
        float[] x = new float[T * I], dy = new float[T * O];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < dy.length; i++) dy[i] = (float) rnd.nextGaussian();
        float[] q = new float[T * I], s = new float[T];
        Ops.quantize(x, 0, q, s, T, I);
        float beta = qw.beta[w.ternaryIndex()];
        // beta = fp16(mean |W|), T = RoundClip(W / beta, -1, 1)
        double mean = 0;
        for (int i = 0; i < w.size(); i++) mean += Math.abs(p[w.offset() + i]);
        assertEquals(Float.float16ToFloat(Float.floatToFloat16((float) (mean / w.size()))), beta);
        float[] y = new float[T * O];
        m.linear(qw, w, q, s, T, y);
        for (int t = 0; t < T; t++) {
            for (int o = 0; o < O; o++) {
                int isum = 0;
                for (int i = 0; i < I; i++) {
                    isum += Ternary.ternarize(p[w.offset() + o * I + i], beta) * (int) q[t * I + i];
                }
                assertEquals(Ternary.output(isum, beta, s[t]), y[t * O + o], "y[" + t + "][" + o + "]");
            }
        }
        float[] dx = new float[T * I], grad = new float[m.size];
        m.linearBackward(qw, w, dy, q, s, T, dx, grad, m.workspace(T));
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < I; i++) {
                double e = 0;  // dx = dy . (beta T)
                for (int o = 0; o < O; o++) e += dy[t * O + o] * (double) beta * qw.tw[w.offset() + o * I + i];
                assertEquals(e, dx[t * I + i], 1e-5 * Math.max(1, Math.abs(e)));
            }
        }
        for (int o = 0; o < O; o++) {
            for (int i = 0; i < I; i++) {
                double e = 0;  // dW = dy^T . (q / s)
                for (int t = 0; t < T; t++) e += dy[t * O + o] * ((double) q[t * I + i] / s[t]);
                assertEquals(e, grad[w.offset() + o * I + i], 1e-5 * Math.max(1, Math.abs(e)));
            }
        }
    }
}
