package org.bitnet4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Every op's backward against central finite differences of the float (unquantised) forward. */
class GradientTest {
    static final TrainConfig SMALL = new TrainConfig(23, 16, 2, 4, 2, 24, 7, 1, 1, 0f, 0f, 0, 0f, 1f, 5, 0, 1, 1);

    /** loss = sum of CE over all positions (unscaled, so gradients are O(1)) */
    static double loss(BitNetTrainModel m, float[] w, int[] in, int[] target) {
        BitNetTrainModel.Acts a = m.newActs(in.length);
        m.forward(w, in, a);
        return m.crossEntropy(a, target, 0, null, 1f);
    }

    @Test
    void backwardMatchesFiniteDifferencesForEveryTensor() {
        BitNetTrainModel m = new BitNetTrainModel(SMALL, false);
        SplittableRandom r = new SplittableRandom(11);
        float[] w = new float[m.lay.size];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.5);
        }
        int[] in = {1, 5, 9, 2, 22, 7, 3};
        int[] target = {5, 9, 2, 22, 7, 3, 0};
        BitNetTrainModel.Acts a = m.newActs(in.length);
        m.forward(w, in, a);
        float[] dLogits = new float[in.length * SMALL.vocab()];
        m.crossEntropy(a, target, 0, dLogits, 1f);
        float[] grad = new float[w.length];
        m.backward(w, a, dLogits, grad);
        int checked = 0;
        for (Layout.Tensor t : m.lay.tensors) {
            for (int k = 0; k < 6; k++) {
                int i = t.offset() + r.nextInt(t.size());
                if (t.kind() == Layout.Kind.EMBEDDING && k < 3) {
                    i = t.offset() + in[k] * SMALL.dim() + r.nextInt(SMALL.dim()); // rows that are also looked up
                }
                float keep = w[i];
                float eps = 1e-2f;
                w[i] = keep + eps;
                double up = loss(m, w, in, target);
                w[i] = keep - eps;
                double down = loss(m, w, in, target);
                w[i] = keep;
                double fd = (up - down) / (2 * eps);
                assertEquals(fd, grad[i], 2e-2 * Math.max(1, Math.abs(fd)), t.name() + "[" + (i - t.offset()) + "]");
                checked++;
            }
        }
        assertTrue(checked >= 6 * (2 + 11 * 2));
    }

    /** BitLinear's straight-through estimator: gradients as if y = (q/s) . (beta t), quantisers passing dy through. */
    @Test
    void quantisedBackwardIsTheStraightThroughEstimator() {
        TrainConfig c = SMALL;
        BitNetTrainModel q = new BitNetTrainModel(c, true);
        BitNetTrainModel f = new BitNetTrainModel(c, false);
        SplittableRandom r = new SplittableRandom(3);
        float[] w = new float[q.lay.size];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.5);
        }
        float[] betas = new float[q.lay.tensors.size()];
        float[] eff = q.effectiveWeights(w, betas);
        // the effective projections are beta * {-1, 0, +1} with an fp16-exact beta
        Layout.Tensor wq = q.lay.wq[0];
        float beta = betas[q.lay.tensors.indexOf(wq)];
        assertEquals(beta, Float.float16ToFloat(Float.floatToFloat16(beta)));
        for (int i = wq.offset(); i < wq.offset() + wq.size(); i++) {
            float v = eff[i];
            assertTrue(v == 0f || v == beta || v == -beta);
        }
        // the quantised model's activation quantiser is the only other difference; its backward is the identity,
        // so on inputs that are already on the int8 grid it equals the float model's backward on the same weights
        int[] in = {1, 5, 9, 2};
        BitNetTrainModel.Acts aq = q.newActs(4), af = f.newActs(4);
        q.forward(eff, in, aq);
        f.forward(eff, in, af);
        float[] dq = new float[4 * c.vocab()], df = new float[4 * c.vocab()];
        q.crossEntropy(aq, new int[] {5, 9, 2, 22}, 0, dq, 1f);
        f.crossEntropy(af, new int[] {5, 9, 2, 22}, 0, df, 1f);
        float[] gq = new float[w.length], gf = new float[w.length];
        q.backward(eff, aq, dq, gq);
        f.backward(eff, af, df, gf);
        // both are finite and of the same size: the STE changes values (quantised activations), not the structure
        double nq = 0, nf = 0;
        for (int i = 0; i < w.length; i++) {
            assertTrue(Float.isFinite(gq[i]));
            nq += gq[i] * gq[i];
            nf += gf[i] * gf[i];
        }
        assertTrue(Math.abs(Math.sqrt(nq) / Math.sqrt(nf) - 1) < 0.2, nq + " vs " + nf);
    }
}
