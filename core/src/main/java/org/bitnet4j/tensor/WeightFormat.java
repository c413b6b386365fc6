package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/**
 * One tensor storage format (ggml's "type traits"): how elements are laid out in blocks, how to decode
 * them (the scalar reference every fast kernel is tested against) and how to encode them (used by the
 * GGUF writer, the dummy-model generator and the trainer's export).
 *
 * <p>A tensor of {@code total} elements occupies exactly {@code type().byteSize(total)} bytes; element
 * ranges passed to {@link #dequantize} and {@link #quantize} start and end on block boundaries.
 */
public interface WeightFormat {

    /** The format class for a GGUF type (one instance per type, stateless and thread-safe). */
    static WeightFormat of(GgmlType type) {
        return switch (type) {
            case F32 -> F32Format.INSTANCE;
            case F16 -> F16Format.INSTANCE;
            case BF16 -> BF16Format.INSTANCE;
            case Q8_0 -> Q8_0Format.INSTANCE;
            case Q6_K -> Q6_KFormat.INSTANCE;
            case TQ1_0 -> TQ1_0Format.INSTANCE;
            case TQ2_0 -> TQ2_0Format.INSTANCE;
            case I2_S -> I2_SFormat.INSTANCE;
        };
    }

    GgmlType type();

    /**
     * Decodes elements [start, start+n) of one tensor of {@code total} elements into out[outOff ..
     * outOff+n).
     *
     * @param data that tensor's bytes (at least {@code type().byteSize(total)})
     * @param start multiple of the block size
     * @param n multiple of the block size
     */
    void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n);

    /**
     * Encodes src[srcOff .. srcOff+n) as elements [start, start+n) of a tensor of {@code total} elements.
     * Ternary formats ternarise with the per-tensor scale beta, {@code t = RoundClip(x / beta, -1, 1)}
     * (round half to even, as torch.round in BitNet's training code), and store beta (TQ1_0/TQ2_0 as the
     * fp16 {@code d} of every block, I2_S as the float32 after the packed codes). Float, Q8_0 and Q6_K
     * formats ignore {@code scale} and compute their own block scales.
     */
    void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale);
}
