package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bitnet4j.gguf.GgmlType;

/**
 * TQ2_0 (type 35), llama.cpp's 2-bit ternary layout: blocks of 256 elements in 66 bytes.
 * <pre>
 *   offset  0  uint8 qs[64]   2-bit codes t+1 (0 = -1, 1 = 0, 2 = +1; 3 is never written)
 *   offset 64  fp16  d        block scale
 * </pre>
 * Element e = 128*g + 32*l + m (g in 0..1, l in 0..3, m in 0..31) is in bits 2l..2l+1 of qs[32g + m];
 * its value is (code - 1) * d.
 */
public final class TQ2_0Format implements WeightFormat {
    static final TQ2_0Format INSTANCE = new TQ2_0Format();
    static final int BLOCK = 256;
    static final int BYTES = 66;
    static final int D = 64;

    private TQ2_0Format() {}

    @Override
    public GgmlType type() {
        return GgmlType.TQ2_0;
    }

    /** Code (0..3) of element e (0..255) of the block at byte offset off. */
    static int code(MemorySegment data, long off, int e) {
        int g = e >>> 7, l = (e >>> 5) & 3, m = e & 31;
        return (data.get(ValueLayout.JAVA_BYTE, off + 32 * g + m) >>> (2 * l)) & 3;
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.TQ2_0, data, total, start, n, out.length, outOff);
        long b0 = start / BLOCK;
        for (int b = 0; b < n / BLOCK; b++) {
            long off = (b0 + b) * BYTES;
            float d = Formats.fp16(data, off + D);
            for (int e = 0; e < BLOCK; e++) {
                out[outOff + b * BLOCK + e] = (float) (code(data, off, e) - 1) * d;
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.TQ2_0, data, total, start, n, src.length, srcOff);
        short d = Ternary.fp16Scale("TQ2_0", scale);
        long b0 = start / BLOCK;
        for (int b = 0; b < n / BLOCK; b++) {
            long off = (b0 + b) * BYTES;
            int s = srcOff + b * BLOCK;
            for (int g = 0; g < 2; g++) {
                for (int m = 0; m < 32; m++) {
                    int q = 0;
                    for (int l = 0; l < 4; l++) {
                        q |= (Ternary.ternarize(src[s + 128 * g + 32 * l + m], scale) + 1) << (2 * l);
                    }
                    data.set(ValueLayout.JAVA_BYTE, off + 32 * g + m, (byte) q);
                }
            }
            data.set(LE_SHORT, off + D, d);
        }
    }
}
