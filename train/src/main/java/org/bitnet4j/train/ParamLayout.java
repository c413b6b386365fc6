package org.bitnet4j.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each tensor of the model lives in the one flat parameter array (and, at the same offsets, in the gradient and
 * Adam moment arrays). Names are the GGUF tensor names of architecture {@code bitnet-b1.58}; a matrix is
 * {@code rows x cols} row-major, i.e. GGUF dims {@code [cols, rows]} (out features x in features, like torch).
 */
public final class ParamLayout {
    public enum Kind {
        /** token_embd: input lookup and tied output head */
        EMBEDDING,
        /** RMSNorm weights: no weight decay, float */
        NORM,
        /** BitLinear projections: ternary in the forward pass */
        LINEAR
    }

    public record Tensor(String name, Kind kind, int rows, int cols, int offset) {
        public int size() {
            return rows * cols;
        }
    }

    /** Offsets of one block's tensors. */
    public record Block(Tensor attnNorm, Tensor q, Tensor k, Tensor v, Tensor attnSubNorm, Tensor o, Tensor ffnNorm,
                        Tensor gate, Tensor up, Tensor ffnSubNorm, Tensor down) {
        public List<Tensor> linears() {
            return List.of(q, k, v, o, gate, up, down);
        }
    }

    public final TrainConfig config;
    public final Tensor embedding;
    public final Tensor outputNorm;
    public final Block[] blocks;
    private final List<Tensor> tensors;
    private final Map<String, Tensor> byName = new LinkedHashMap<>();
    private final int size;

    public ParamLayout(TrainConfig c) {
        this.config = c;
        List<Tensor> list = new ArrayList<>();
        int[] off = {0};
        embedding = add(list, off, "token_embd.weight", Kind.EMBEDDING, c.vocab(), c.hidden());
        blocks = new Block[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            blocks[l] = new Block(
                    add(list, off, p + "attn_norm.weight", Kind.NORM, 1, c.hidden()),
                    add(list, off, p + "attn_q.weight", Kind.LINEAR, c.qDim(), c.hidden()),
                    add(list, off, p + "attn_k.weight", Kind.LINEAR, c.kvDim(), c.hidden()),
                    add(list, off, p + "attn_v.weight", Kind.LINEAR, c.kvDim(), c.hidden()),
                    add(list, off, p + "attn_sub_norm.weight", Kind.NORM, 1, c.qDim()),
                    add(list, off, p + "attn_output.weight", Kind.LINEAR, c.hidden(), c.qDim()),
                    add(list, off, p + "ffn_norm.weight", Kind.NORM, 1, c.hidden()),
                    add(list, off, p + "ffn_gate.weight", Kind.LINEAR, c.ffn(), c.hidden()),
                    add(list, off, p + "ffn_up.weight", Kind.LINEAR, c.ffn(), c.hidden()),
                    add(list, off, p + "ffn_sub_norm.weight", Kind.NORM, 1, c.ffn()),
                    add(list, off, p + "ffn_down.weight", Kind.LINEAR, c.hidden(), c.ffn()));
        }
        outputNorm = add(list, off, "output_norm.weight", Kind.NORM, 1, c.hidden());
        tensors = Collections.unmodifiableList(list);
        for (Tensor t : list) {
            byName.put(t.name(), t);
        }
        size = off[0];
    }

    private static Tensor add(List<Tensor> list, int[] off, String name, Kind kind, int rows, int cols) {
        long end = (long) off[0] + (long) rows * cols;
        if (end > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("model too large for one parameter array (" + end + " parameters)");
        }
        Tensor t = new Tensor(name, kind, rows, cols, off[0]);
        list.add(t);
        off[0] = (int) end;
        return t;
    }

    /** Every tensor, in file order. */
    public List<Tensor> tensors() {
        return tensors;
    }

    public Tensor tensor(String name) {
        return byName.get(name);
    }

    /** Total parameters (the tied head counts once). */
    public int size() {
        return size;
    }

    /** Parameters outside the embedding. */
    public int nonEmbeddingSize() {
        return size - embedding.size();
    }

    /**
     * Initial weights: embedding and projections N(0, 0.02^2), the two projections that write into the residual stream
     * (attn_output, ffn_down) scaled by 1/sqrt(2 layers) as in GPT-2, norms 1.
     */
    public float[] initialWeights(long seed) {
        float[] w = new float[size];
        Rng rng = new Rng(seed);
        double residualScale = 1 / Math.sqrt(2.0 * config.layers());
        for (Tensor t : tensors) {
            switch (t.kind()) {
                case NORM -> java.util.Arrays.fill(w, t.offset(), t.offset() + t.size(), 1f);
                case EMBEDDING, LINEAR -> {
                    boolean residual = t.name().endsWith("attn_output.weight") || t.name().endsWith("ffn_down.weight");
                    double std = 0.02 * (residual ? residualScale : 1);
                    for (int i = 0; i < t.size(); i++) {
                        w[t.offset() + i] = (float) (rng.nextGaussian() * std);
                    }
                }
            }
        }
        return w;
    }
}
