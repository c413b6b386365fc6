package org.bitnet4j.model;

import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufMetadata;

/**
 * Hyperparameters, read from the GGUF keys {@code <arch>.*}.
 *
 * @param dim         embedding_length (2B4T: 2560)
 * @param layers      block_count (30)
 * @param heads       attention.head_count (20)
 * @param kvHeads     attention.head_count_kv (5)
 * @param headDim     dim / heads (128)
 * @param ropeDim     rope.dimension_count, the rotated part of each head (= headDim)
 * @param ffnDim      feed_forward_length (6912)
 * @param vocab       token count (128256)
 * @param contextLength context_length (4096)
 */
public record ModelConfig(Architecture arch, int dim, int layers, int heads, int kvHeads, int headDim, int ropeDim,
                          int ffnDim, int vocab, int contextLength, float ropeTheta, float rmsEps) {

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int qDim() {
        return heads * headDim;
    }

    public static ModelConfig from(GgufFile file) {
        GgufMetadata md = file.metadata();
        String where = file.path().toString();
        Architecture arch = Architecture.fromGguf(md.getString("general.architecture"), where);
        String p = arch.ggufName + ".";
        int dim = positive(md.getInt(p + "embedding_length"), p + "embedding_length", where);
        int layers = positive(md.getInt(p + "block_count"), p + "block_count", where);
        int heads = positive(md.getInt(p + "attention.head_count"), p + "attention.head_count", where);
        int kvHeads = positive(md.getInt(p + "attention.head_count_kv", heads), p + "attention.head_count_kv", where);
        int ffn = positive(md.getInt(p + "feed_forward_length"), p + "feed_forward_length", where);
        if (dim % heads != 0) {
            throw new ModelException(where + ": " + p + "embedding_length " + dim + " is not a multiple of head_count " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new ModelException(where + ": " + p + "attention.head_count " + heads
                    + " is not a multiple of head_count_kv " + kvHeads);
        }
        int headDim = dim / heads;
        int ropeDim = md.getInt(p + "rope.dimension_count", headDim);
        if (ropeDim <= 0 || ropeDim > headDim || ropeDim % 2 != 0) {
            throw new ModelException(where + ": " + p + "rope.dimension_count " + ropeDim + " must be even and <= head size " + headDim);
        }
        int vocab = md.has(p + "vocab_size") ? md.getInt(p + "vocab_size")
                : md.getStringArray("tokenizer.ggml.tokens").size();
        int ctx = positive(md.getInt(p + "context_length", 4096), p + "context_length", where);
        float theta = md.getFloat(p + "rope.freq_base", 10000f);
        float eps = md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f);
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ropeDim, ffn, positive(vocab, "vocabulary size", where),
                ctx, theta, eps);
    }

    private static int positive(int v, String key, String where) {
        if (v <= 0) {
            throw new ModelException(where + ": " + key + " must be positive, is " + v);
        }
        return v;
    }
}
