package org.bitnet4j.cli;

import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelConfig;

/**
 * Arithmetic energy per decoded token from the BitNet papers' 7 nm model (pJ per operation: FP16 add 0.16,
 * mul 0.34; INT8 add 0.007, mul 0.07), counted from the operations our kernels perform. Float work is counted
 * at the FP16 prices (the papers' baseline) though we compute it in FP32, so the float part is a lower bound.
 * Memory traffic is not in the model, as in the papers' arithmetic figures.
 *
 * <p>Per token, int8 path: each ternary weight costs one masked INT8-range add (the bit-plane kernel adds or
 * subtracts the activation for every weight position); each output row one float multiply (the scale);
 * quantising an input costs one float compare-as-add and one multiply per element; float matrices (the output
 * head) one multiply and one add per weight; attention two multiply-adds per head dimension per cached position
 * (taken at position {@value #POSITION}); norms and activations three float operations per element.
 */
final class Energy {
    static final double FP_ADD = 0.16e-12, FP_MUL = 0.34e-12, INT8_ADD = 0.007e-12, INT8_MUL = 0.07e-12;
    static final int POSITION = 64;

    private Energy() {}

    static double joulesPerToken(Model m, boolean floatActivations) {
        ModelConfig c = m.config;
        long d = c.dim(), q = c.qDim(), kv = c.kvDim(), f = c.ffnDim();
        // weights of the seven projections per layer: q, k, v, o, gate, up, down
        long ternaryWeights = c.layers() * (d * q + 2 * d * kv + q * d + 2 * d * f + f * d);
        long outputRows = c.layers() * (q + 2 * kv + d + 2 * f + d);
        long quantisedInputs = c.layers() * (d + q + d + f); // qkv share one, gate/up share one
        double e = 0;
        if (floatActivations) {
            e += ternaryWeights * (FP_ADD + FP_MUL);
        } else {
            e += ternaryWeights * INT8_ADD + outputRows * FP_MUL + quantisedInputs * (FP_ADD + FP_MUL);
        }
        e += (double) c.vocab() * d * (FP_ADD + FP_MUL);                                  // output head
        e += (double) c.layers() * c.heads() * (POSITION + 1) * c.headDim() * 2 * (FP_ADD + FP_MUL); // attention
        e += (double) c.layers() * (4 * d + 2 * f + q) * 3 * FP_ADD;                     // norms, activation, residuals
        return e;
    }
}
