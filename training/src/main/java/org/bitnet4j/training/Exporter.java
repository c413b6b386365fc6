package org.bitnet4j.training;

import java.nio.file.Path;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufWriter;
import org.bitnet4j.tensor.WeightFormat;

/**
 * Writes a trained model as GGUF, arch {@code bitnet-b1.58}, with the tensor names and keys of BitNet-b1.58-2B-4T's
 * file: projections ternary (I2_S, TQ2_0, or F32 holding beta * t), norms F32, tied embedding F16.
 */
public final class Exporter {
    private Exporter() {}

    public static void write(Trainer tr, Vocab vocab, GgmlType linear, Path out, boolean overwrite) {
        TrainConfig c = tr.c;
        if (c.dim() % 256 != 0 || c.ffn() % 256 != 0 || c.qDim() % 256 != 0) {
            throw new IllegalArgumentException("export needs dim and ffn to be multiples of 256 (the TQ2_0 block), got "
                    + c.dim() + " and " + c.ffn());
        }
        Layout lay = tr.model.lay;
        float[] betas = new float[lay.tensors.size()];
        float[] eff = tr.effectiveWeights(betas);
        String p = "bitnet-b1.58.";
        try (GgufWriter w = GgufWriter.create(out, overwrite)) {
            w.put("general.architecture", GgufValue.of("bitnet-b1.58"));
            w.put("general.name", GgufValue.of("bitnet4j trained " + c.layers() + "L-" + c.dim()));
            w.put(p + "vocab_size", GgufValue.ofUInt32(vocab.size()));
            w.put(p + "context_length", GgufValue.ofUInt32(c.context()));
            w.put(p + "embedding_length", GgufValue.ofUInt32(c.dim()));
            w.put(p + "block_count", GgufValue.ofUInt32(c.layers()));
            w.put(p + "feed_forward_length", GgufValue.ofUInt32(c.ffn()));
            w.put(p + "rope.dimension_count", GgufValue.ofUInt32(c.headDim()));
            w.put(p + "attention.head_count", GgufValue.ofUInt32(c.heads()));
            w.put(p + "attention.head_count_kv", GgufValue.ofUInt32(c.kvHeads()));
            w.put(p + "rope.freq_base", GgufValue.ofFloat32(500000f));
            w.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(1e-5f));
            w.put("general.file_type", GgufValue.ofUInt32(linear == GgmlType.I2_S ? 40 : linear == GgmlType.TQ2_0 ? 37 : 0));
            w.putAll(vocab.metadata());
            for (Layout.Tensor t : lay.tensors) {
                w.addTensor(t.name(), t.rows() == 1 ? new long[] {t.cols()} : new long[] {t.cols(), t.rows()}, type(t, linear));
            }
            for (int i = 0; i < lay.tensors.size(); i++) {
                Layout.Tensor t = lay.tensors.get(i);
                GgmlType type = type(t, linear);
                float beta = betas[i] > 0f ? betas[i] : 1f; // full precision: F32 ignores the scale
                float[] src = java.util.Arrays.copyOfRange(eff, t.offset(), t.offset() + t.size());
                w.writeTensor(t.name(), seg -> WeightFormat.of(type).quantize(src, 0, src.length, seg, src.length, 0, beta));
            }
            w.finish();
        }
    }

    private static GgmlType type(Layout.Tensor t, GgmlType linear) {
        return switch (t.kind()) {
            case NORM -> GgmlType.F32;
            case EMBEDDING -> GgmlType.F16;
            case LINEAR -> linear;
        };
    }
}
