package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_SHORT;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/**
 * F16 (type 1): one little-endian IEEE binary16 per element. Encoding rounds to nearest even
 * ({@link Float#floatToFloat16}); values beyond fp16's range become infinities, as in ggml.
 */
public final class F16Format implements WeightFormat {
    static final F16Format INSTANCE = new F16Format();

    private F16Format() {}

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.F16, data, total, start, n, out.length, outOff);
        long off = start * 2;
        for (int i = 0; i < n; i++) {
            out[outOff + i] = Float.float16ToFloat(data.get(LE_SHORT, off + 2L * i));
        }
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.F16, data, total, start, n, src.length, srcOff);
        long off = start * 2;
        for (int i = 0; i < n; i++) {
            data.set(LE_SHORT, off + 2L * i, Float.floatToFloat16(src[srcOff + i]));
        }
    }
}
