package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bitnet4j.gguf.GgmlType;

/**
 * Q8_0 (type 8), llama.cpp's layout: blocks of 32 elements in 34 bytes.
 * <pre>
 *   offset 0   fp16 d        block scale
 *   offset 2   int8 qs[32]   element j = qs[j] * d
 * </pre>
 * The encoder is llama.cpp's reference one: d = max|x| / 127, qs = round-half-away(x / d).
 */
public final class Q8_0Format implements WeightFormat {
    static final Q8_0Format INSTANCE = new Q8_0Format();
    static final int BLOCK = 32;
    static final int BYTES = 34;

    private Q8_0Format() {}

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.Q8_0, data, total, start, n, out.length, outOff);
        long b0 = start / BLOCK;
        for (int b = 0; b < n / BLOCK; b++) {
            long off = (b0 + b) * BYTES;
            float d = Formats.fp16(data, off);
            int o = outOff + b * BLOCK;
            for (int j = 0; j < BLOCK; j++) {
                out[o + j] = data.get(ValueLayout.JAVA_BYTE, off + 2 + j) * d;
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.Q8_0, data, total, start, n, src.length, srcOff);
        long b0 = start / BLOCK;
        for (int b = 0; b < n / BLOCK; b++) {
            int s = srcOff + b * BLOCK;
            float amax = 0f;
            for (int j = 0; j < BLOCK; j++) {
                amax = Math.max(amax, Math.abs(src[s + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            long off = (b0 + b) * BYTES;
            data.set(LE_SHORT, off, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK; j++) {
                // |x * id| <= 127 up to one rounding of id; clamp so a 127.5 can never wrap to -128
                int q = Math.max(-127, Math.min(127, Formats.roundHalfAway(src[s + j] * id)));
                data.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) q);
            }
        }
    }
}
