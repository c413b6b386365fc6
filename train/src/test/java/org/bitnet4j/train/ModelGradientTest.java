package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The composed model: its gradient (float path) against directional finite differences of its own loss. */
class ModelGradientTest {
    static TrainConfig small(boolean ternary) {
        return TrainConfig.preset("tiny").with(Map.of("layers", "2", "hidden", "32", "heads", "4", "kv-heads", "2",
                "ffn", "48", "vocab", "300", "context", "9", "batch", "2", "ternary", Boolean.toString(ternary)));
    }

    @Test
    void wholeModelGradientMatchesFiniteDifferences() {
        TrainConfig c = small(false);
        Random rnd = new Random(31);
        try (TrainModel m = new TrainModel(c, 2)) {
            float[] w = m.layout.initialWeights(7);
            // larger weights than the initialisation so that every part of the model matters to the loss
            for (int i = 0; i < w.length; i++) {
                w[i] = w[i] * 10 + (float) (0.05 * rnd.nextGaussian());
            }
            int n = c.batch() * c.context();
            int[] in = new int[n], tg = new int[n];
            for (int i = 0; i < n; i++) {
                in[i] = rnd.nextInt(c.vocab());
                tg[i] = rnd.nextInt(c.vocab());
            }
            tg[3] = -1; // an unscored position
            float[] g = new float[w.length];
            m.prepare(w);
            double loss = m.forwardBackward(w, in, tg, c.batch(), c.context(), g);
            assertEquals(loss, m.nllSum(w, in, tg, c.batch(), c.context()) / (n - 1), 1e-5);
            // a few random directions, each restricted to one tensor so that every tensor is checked
            for (ParamLayout.Tensor t : m.layout.tensors()) {
                float[] dir = new float[w.length];
                double norm = 0;
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    dir[i] = (float) rnd.nextGaussian();
                    norm += (double) dir[i] * dir[i];
                }
                double gd = 0;
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    dir[i] = (float) (dir[i] / Math.sqrt(norm));
                    gd += (double) g[i] * dir[i];
                }
                double h = 3e-3; // the float loss is smooth enough at this step for 1% agreement (checked over 1e-1..1e-3)
                double up = lossAt(m, w, dir, h, in, tg, c), down = lossAt(m, w, dir, -h, in, tg, c);
                double fd = (up - down) / (2 * h);
                assertEquals(fd, gd, 0.015 * Math.abs(fd) + 0.01, t.name());
            }
        }
    }

    private static double lossAt(TrainModel m, float[] w, float[] dir, double h, int[] in, int[] tg, TrainConfig c) {
        float[] x = w.clone();
        for (int i = 0; i < x.length; i++) {
            x[i] += (float) (h * dir[i]);
        }
        m.prepare(x);
        return m.nllSum(x, in, tg, c.batch(), c.context()) / (in.length - 1);
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        TrainConfig c = small(true);
        Random rnd = new Random(32);
        int n = c.batch() * c.context();
        int[] in = new int[n], tg = new int[n];
        for (int i = 0; i < n; i++) {
            in[i] = rnd.nextInt(c.vocab());
            tg[i] = rnd.nextInt(c.vocab());
        }
        float[][] grads = new float[2][];
        double[] losses = new double[2];
        for (int threads = 1; threads <= 2; threads++) {
            try (TrainModel m = new TrainModel(c, threads)) {
                float[] w = m.layout.initialWeights(3);
                float[] g = new float[w.length];
                m.prepare(w);
                losses[threads - 1] = m.forwardBackward(w, in, tg, c.batch(), c.context(), g);
                grads[threads - 1] = g;
            }
        }
        assertEquals(losses[0], losses[1], 0.0);
        assertArrayEquals(grads[0], grads[1]);
        assertNotEquals(0f, grads[0][0] * 0 + sumAbs(grads[0]));
    }

    private static float sumAbs(float[] a) {
        float s = 0;
        for (float v : a) {
            s += Math.abs(v);
        }
        return s;
    }
}
