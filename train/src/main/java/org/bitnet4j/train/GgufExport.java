package org.bitnet4j.train;

import java.nio.file.Path;
import java.util.List;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufWriter;
import org.bitnet4j.tensor.WeightFormat;

/**
 * Writes a trained model as GGUF with architecture {@code bitnet-b1.58}: the tensor names and metadata keys of
 * BitNet-b1.58-2B-4T's file (tied embedding, no output.weight), the BPE vocabulary as a "gpt2" tokenizer with
 * pre-tokenizer "llama-bpe".
 *
 * <p>Projections are written as what the forward pass used, beta * t: I2_S or TQ2_0 store t and beta exactly (beta is
 * on the fp16 grid), F32 stores the products. The embedding is F16 in the ternary files (it was trained through an fp16
 * rounding, so nothing is lost) and F32 in the F32 file; norms are F32.
 */
public final class GgufExport {
    private GgufExport() {}

    public static final String ARCH = "bitnet-b1.58";

    /**
     * @param model  a model whose {@link TrainModel#prepare} has seen params
     * @param linear I2_S, TQ2_0 or F32
     */
    public static void write(Path file, TrainModel model, float[] params, Bpe bpe, GgmlType linear, String name) {
        TrainConfig c = model.config;
        if (linear != GgmlType.F32 && linear != GgmlType.I2_S && linear != GgmlType.TQ2_0) {
            throw new IllegalArgumentException("export writes I2_S, TQ2_0 or F32 projections, not " + linear);
        }
        if (linear != GgmlType.F32 && !c.ternary()) {
            throw new IllegalArgumentException("a full-precision model can only be exported as F32");
        }
        if (!fits(c, linear)) {
            throw new IllegalArgumentException(linear + " needs hidden and ffn to be multiples of " + linear.blockSize
                    + " (hidden " + c.hidden() + ", ffn " + c.ffn() + ")");
        }
        if (bpe.size() != c.vocab()) {
            throw new IllegalArgumentException("vocabulary has " + bpe.size() + " tokens, the model " + c.vocab());
        }
        ParamLayout lay = model.layout;
        GgmlType embType = linear == GgmlType.F32 ? GgmlType.F32 : GgmlType.F16;
        try (GgufWriter w = GgufWriter.create(file, true)) {
            String p = ARCH + ".";
            w.put("general.architecture", GgufValue.of(ARCH));
            w.put("general.name", GgufValue.of(name));
            w.put(p + "context_length", GgufValue.ofUInt32(c.context()));
            w.put(p + "embedding_length", GgufValue.ofUInt32(c.hidden()));
            w.put(p + "block_count", GgufValue.ofUInt32(c.layers()));
            w.put(p + "feed_forward_length", GgufValue.ofUInt32(c.ffn()));
            w.put(p + "attention.head_count", GgufValue.ofUInt32(c.heads()));
            w.put(p + "attention.head_count_kv", GgufValue.ofUInt32(c.kvHeads()));
            w.put(p + "rope.freq_base", GgufValue.ofFloat32(TrainConfig.ROPE_THETA));
            w.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(TrainConfig.RMS_EPS));
            w.put(p + "rope.dimension_count", GgufValue.ofUInt32(c.headDim()));
            w.put(p + "vocab_size", GgufValue.ofUInt32(c.vocab()));
            w.put("general.file_type", GgufValue.ofUInt32(switch (linear) {
                case I2_S -> 40;
                case TQ2_0 -> 37;
                default -> 0;
            }));
            w.putAll(tokenizerMetadata(bpe));
            if (linear != GgmlType.F32) {
                w.put("general.quantization_version", GgufValue.ofUInt32(2));
            }
            for (ParamLayout.Tensor t : lay.tensors()) {
                GgmlType type = switch (t.kind()) {
                    case EMBEDDING -> embType;
                    case NORM -> GgmlType.F32;
                    case LINEAR -> linear;
                };
                long[] dims = t.rows() == 1 ? new long[] {t.cols()} : new long[] {t.cols(), t.rows()};
                w.addTensor(t.name(), dims, type);
            }
            for (ParamLayout.Tensor t : lay.tensors()) {
                float[] src;
                float scale = 0f;
                GgmlType type;
                switch (t.kind()) {
                    case EMBEDDING -> {
                        src = model.embedding();
                        type = embType;
                    }
                    case NORM -> {
                        src = java.util.Arrays.copyOfRange(params, t.offset(), t.offset() + t.size());
                        type = GgmlType.F32;
                    }
                    default -> {
                        BitLinear.Weight q = weightOf(model, t);
                        src = q.dequantized();
                        scale = q.beta;
                        type = linear;
                    }
                }
                final float[] data = src;
                final float beta = scale;
                final GgmlType ty = type;
                w.writeTensor(t.name(), seg -> WeightFormat.of(ty).quantize(data, 0, t.size(), seg, t.size(), 0, beta));
            }
            w.finish();
        }
    }

    /** The tokenizer.ggml.* keys of a vocabulary, as written into the file (and readable by Tokenizer.fromGguf). */
    public static java.util.Map<String, GgufValue> tokenizerMetadata(Bpe bpe) {
        java.util.Map<String, GgufValue> m = new java.util.LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.of(Bpe.PRE));
        m.put("tokenizer.ggml.tokens", GgufValue.ofStrings(bpe.tokens()));
        m.put("tokenizer.ggml.token_type", GgufValue.ofInts(bpe.tokenTypes()));
        m.put("tokenizer.ggml.merges", GgufValue.ofStrings(bpe.merges()));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(bpe.bos()));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(bpe.eos()));
        m.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(bpe.eot()));
        m.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.ofBool(false));
        return m;
    }

    /** Whether the shapes allow this projection type (block size along the input dimension). */
    public static boolean fits(TrainConfig c, GgmlType linear) {
        int b = linear.blockSize;
        return c.hidden() % b == 0 && c.ffn() % b == 0;
    }

    static BitLinear.Weight weightOf(TrainModel model, ParamLayout.Tensor t) {
        for (int l = 0; l < model.config.layers(); l++) {
            List<ParamLayout.Tensor> lin = model.layout.blocks[l].linears();
            for (int i = 0; i < lin.size(); i++) {
                if (lin.get(i).name().equals(t.name())) {
                    return model.weight(l, i);
                }
            }
        }
        throw new IllegalArgumentException(t.name() + " is not a projection");
    }
}
