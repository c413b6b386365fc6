package org.bitnet4j.trainer;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufWriter;
import org.bitnet4j.tensor.WeightFormat;

/**
 * Writes a trained model as a GGUF of architecture {@code bitnet-b1.58} with the metadata keys and tensor names
 * the engine loads (the same set {@code org.bitnet4j.model.DummyModel} writes). The seven projections of every
 * layer are the ternary weights the trainer's forward pass uses (beta * T with the step's beta), so the file is
 * the trained model exactly, in any of I2_S, TQ2_0 or F32.
 */
public final class GgufExport {
    private GgufExport() {}

    /** llama.cpp's general.file_type of the projection type (I2_S: bitnet.cpp's 40). */
    static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case TQ2_0 -> 37;
            case I2_S -> 40;
            default -> throw new IllegalArgumentException("export supports I2_S, TQ2_0, F16 and F32, not " + t);
        };
    }

    /** Whether the projections of this shape fit the format's blocks (TQ2_0 needs rows of a multiple of 256). */
    public static boolean supports(TrainConfig c, GgmlType linear) {
        return c.dim() % linear.blockSize == 0 && c.ffn() % linear.blockSize == 0;
    }

    /**
     * @param linear    I2_S, TQ2_0, F16 or F32 for the projections
     * @param embedding type of token_embd (F32 or F16; the trainer evaluates with the same rounding)
     */
    public static void write(BitNetModel m, float[] params, BpeTrainer.Vocab vocab, GgmlType linear, GgmlType embedding,
                             String name, Path out) {
        TrainConfig c = m.c;
        if (vocab.tokens().size() != c.vocab()) {
            throw new IllegalArgumentException("vocabulary has " + vocab.tokens().size() + " tokens, model " + c.vocab());
        }
        BitNetModel.Quantized qw = m.quantizeWeights(params);
        String p = "bitnet-b1.58.";
        try (GgufWriter w = GgufWriter.create(out, true)) {
            w.put("general.architecture", GgufValue.of("bitnet-b1.58"));
            w.put("general.name", GgufValue.of(name));
            w.put(p + "vocab_size", GgufValue.ofUInt32(c.vocab()));
            w.put(p + "context_length", GgufValue.ofUInt32(c.context()));
            w.put(p + "embedding_length", GgufValue.ofUInt32(c.dim()));
            w.put(p + "block_count", GgufValue.ofUInt32(c.layers()));
            w.put(p + "feed_forward_length", GgufValue.ofUInt32(c.ffn()));
            w.put(p + "rope.dimension_count", GgufValue.ofUInt32(c.headDim()));
            w.put(p + "attention.head_count", GgufValue.ofUInt32(c.heads()));
            w.put(p + "attention.head_count_kv", GgufValue.ofUInt32(c.kvHeads()));
            w.put(p + "rope.freq_base", GgufValue.ofFloat32((float) TrainConfig.ROPE_THETA));
            w.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(TrainConfig.RMS_EPS));
            w.put("general.file_type", GgufValue.ofUInt32(fileType(linear)));
            w.putAll(vocab.metadata());
            w.put("general.quantization_version", GgufValue.ofUInt32(2));
            for (BitNetModel.Tensor t : m.tensors) {
                long[] dims = t.rows() == 1 ? new long[] {t.cols()} : new long[] {t.cols(), t.rows()};
                w.addTensor(t.name(), dims, type(t, linear, embedding));
            }
            for (BitNetModel.Tensor t : m.tensors) {
                GgmlType type = type(t, linear, embedding);
                w.writeTensor(t.name(), seg -> fill(t, type, params, qw, seg));
            }
            w.finish();
        }
    }

    private static GgmlType type(BitNetModel.Tensor t, GgmlType linear, GgmlType embedding) {
        return switch (t.kind()) {
            case TERNARY -> linear;
            case NORM -> GgmlType.F32;
            case EMBEDDING -> embedding;
        };
    }

    private static void fill(BitNetModel.Tensor t, GgmlType type, float[] params, BitNetModel.Quantized qw, MemorySegment seg) {
        WeightFormat f = WeightFormat.of(type);
        long total = (long) t.size();
        float[] row = new float[t.cols()];
        float beta = t.kind() == BitNetModel.Kind.TERNARY ? qw.beta[t.ternaryIndex()] : 0f;
        for (int r = 0; r < t.rows(); r++) {
            int o = t.offset() + r * t.cols();
            for (int i = 0; i < t.cols(); i++) {
                row[i] = t.kind() == BitNetModel.Kind.TERNARY ? qw.tw[o + i] * beta : params[o + i];
            }
            f.quantize(row, 0, t.cols(), seg, total, (long) r * t.cols(), beta);
        }
    }
}
