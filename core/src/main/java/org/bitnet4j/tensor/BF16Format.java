package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_SHORT;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/**
 * BF16 (type 30): the upper 16 bits of an IEEE float32, little-endian. Encoding rounds to nearest even
 * and turns NaNs into quiet NaNs, as ggml's fp32-to-bf16 conversion does.
 */
public final class BF16Format implements WeightFormat {
    static final BF16Format INSTANCE = new BF16Format();

    private BF16Format() {}

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((u >>> 16) | 0x40); // keep the sign and payload top, force quiet
        }
        return (short) ((u + 0x7FFF + ((u >>> 16) & 1)) >>> 16);
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.BF16, data, total, start, n, out.length, outOff);
        long off = start * 2;
        for (int i = 0; i < n; i++) {
            out[outOff + i] = toFloat(data.get(LE_SHORT, off + 2L * i));
        }
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.BF16, data, total, start, n, src.length, srcOff);
        long off = start * 2;
        for (int i = 0; i < n; i++) {
            data.set(LE_SHORT, off + 2L * i, fromFloat(src[srcOff + i]));
        }
    }
}
