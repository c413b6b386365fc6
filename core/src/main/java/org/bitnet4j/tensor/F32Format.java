package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_FLOAT;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/** F32 (type 0): one little-endian IEEE float32 per element, no blocks. */
public final class F32Format implements WeightFormat {
    static final F32Format INSTANCE = new F32Format();

    private F32Format() {}

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.F32, data, total, start, n, out.length, outOff);
        MemorySegment.copy(data, LE_FLOAT, start * 4, out, outOff, n);
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.F32, data, total, start, n, src.length, srcOff);
        MemorySegment.copy(src, srcOff, data, LE_FLOAT, start * 4, n);
    }
}
