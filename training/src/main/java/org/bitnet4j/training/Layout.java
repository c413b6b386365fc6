package org.bitnet4j.training;

import java.util.ArrayList;
import java.util.List;

/**
 * Where each tensor lives in the one flat parameter array (and, identically, in the gradient and Adam moment
 * arrays). Names are the GGUF tensor names the engine loads.
 */
final class Layout {
    enum Kind { EMBEDDING, NORM, LINEAR }

    /** [rows][cols] row-major at offset; norms have rows = 1 */
    record Tensor(String name, Kind kind, int offset, int rows, int cols) {
        int size() {
            return rows * cols;
        }
    }

    final List<Tensor> tensors = new ArrayList<>();
    final int size;
    final Tensor embd, outNorm;
    final Tensor[] attnNorm, wq, wk, wv, attnSub, wo, ffnNorm, wg, wu, ffnSub, wd;

    Layout(TrainConfig c) {
        int[] off = {0};
        embd = add("token_embd.weight", Kind.EMBEDDING, c.vocab(), c.dim(), off);
        outNorm = add("output_norm.weight", Kind.NORM, 1, c.dim(), off);
        int L = c.layers();
        attnNorm = new Tensor[L];
        wq = new Tensor[L];
        wk = new Tensor[L];
        wv = new Tensor[L];
        attnSub = new Tensor[L];
        wo = new Tensor[L];
        ffnNorm = new Tensor[L];
        wg = new Tensor[L];
        wu = new Tensor[L];
        ffnSub = new Tensor[L];
        wd = new Tensor[L];
        for (int l = 0; l < L; l++) {
            String b = "blk." + l + ".";
            attnNorm[l] = add(b + "attn_norm.weight", Kind.NORM, 1, c.dim(), off);
            wq[l] = add(b + "attn_q.weight", Kind.LINEAR, c.qDim(), c.dim(), off);
            wk[l] = add(b + "attn_k.weight", Kind.LINEAR, c.kvDim(), c.dim(), off);
            wv[l] = add(b + "attn_v.weight", Kind.LINEAR, c.kvDim(), c.dim(), off);
            attnSub[l] = add(b + "attn_sub_norm.weight", Kind.NORM, 1, c.qDim(), off);
            wo[l] = add(b + "attn_output.weight", Kind.LINEAR, c.dim(), c.qDim(), off);
            ffnNorm[l] = add(b + "ffn_norm.weight", Kind.NORM, 1, c.dim(), off);
            wg[l] = add(b + "ffn_gate.weight", Kind.LINEAR, c.ffn(), c.dim(), off);
            wu[l] = add(b + "ffn_up.weight", Kind.LINEAR, c.ffn(), c.dim(), off);
            ffnSub[l] = add(b + "ffn_sub_norm.weight", Kind.NORM, 1, c.ffn(), off);
            wd[l] = add(b + "ffn_down.weight", Kind.LINEAR, c.dim(), c.ffn(), off);
        }
        size = off[0];
    }

    private Tensor add(String name, Kind kind, int rows, int cols, int[] off) {
        Tensor t = new Tensor(name, kind, off[0], rows, cols);
        off[0] = Math.addExact(off[0], rows * cols);
        tensors.add(t);
        return t;
    }
}
