package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bitnet4j.gguf.GgmlType;

/**
 * TQ1_0 (type 34), llama.cpp's 1.6875-bit ternary layout: blocks of 256 elements in 54 bytes.
 * <pre>
 *   offset  0  uint8 qs[48]   5 trits per byte
 *   offset 48  uint8 qh[4]    4 trits per byte
 *   offset 52  fp16  d        block scale
 * </pre>
 * Trits are codes t+1 in {0,1,2}. A byte holds its trits as a base-3 fixed-point fraction:
 * {@code byte = ceil(v * 256 / 243)} where v is the base-3 number of the trits, first trit most
 * significant; trit n is recovered as {@code ((uint8)(byte * 3^n) * 3) >> 8}.
 * <ul>
 *   <li>qs[m], m in 0..31: trit n is element 32n + m (elements 0..159)</li>
 *   <li>qs[32 + m], m in 0..15: trit n is element 160 + 16n + m (elements 160..239)</li>
 *   <li>qh[j], j in 0..3: trit n (n in 0..3, the fifth trit is 0) is element 240 + 4n + j</li>
 * </ul>
 * Value = (trit - 1) * d. Every byte value decodes to trits in 0..2, so no input is invalid.
 */
public final class TQ1_0Format implements WeightFormat {
    static final TQ1_0Format INSTANCE = new TQ1_0Format();
    static final int BLOCK = 256;
    static final int BYTES = 54;
    static final int QH = 48;
    static final int D = 52;
    static final int[] POW3 = {1, 3, 9, 27, 81, 243};

    private TQ1_0Format() {}

    @Override
    public GgmlType type() {
        return GgmlType.TQ1_0;
    }

    static int trit(int b, int n) {
        return (((b * POW3[n]) & 0xFF) * 3) >>> 8;
    }

    /** Byte offset inside the block and trit number of element e (0..255), packed as offset*8 + trit. */
    static int position(int e) {
        if (e < 160) {
            return (e & 31) * 8 + (e >>> 5);
        } else if (e < 240) {
            int i = e - 160;
            return (32 + (i & 15)) * 8 + (i >>> 4);
        } else {
            int i = e - 240;
            return (QH + (i & 3)) * 8 + (i >>> 2);
        }
    }

    static int code(MemorySegment data, long off, int e) {
        int p = position(e);
        return trit(data.get(ValueLayout.JAVA_BYTE, off + (p >>> 3)) & 0xFF, p & 7);
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.TQ1_0, data, total, start, n, out.length, outOff);
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
        Formats.checkRange(GgmlType.TQ1_0, data, total, start, n, src.length, srcOff);
        short d = Ternary.fp16Scale("TQ1_0", scale);
        long b0 = start / BLOCK;
        int[] v = new int[QH + 4]; // base-3 value per byte, before the fixed-point scaling
        int[] digits = new int[QH + 4];
        for (int b = 0; b < n / BLOCK; b++) {
            long off = (b0 + b) * BYTES;
            int s = srcOff + b * BLOCK;
            java.util.Arrays.fill(v, 0);
            java.util.Arrays.fill(digits, 0);
            // elements in increasing order visit each byte's trits most significant first
            for (int e = 0; e < BLOCK; e++) {
                int byteIndex = position(e) >>> 3;
                v[byteIndex] = v[byteIndex] * 3 + Ternary.ternarize(src[s + e], scale) + 1;
                digits[byteIndex]++;
            }
            for (int i = 0; i < QH + 4; i++) {
                int value = v[i];
                for (int k = digits[i]; k < 5; k++) {
                    value *= 3; // qh bytes hold 4 trits: shift them up to the most significant positions
                }
                data.set(ValueLayout.JAVA_BYTE, off + i, (byte) ((value * 256 + 242) / 243));
            }
            data.set(LE_SHORT, off + D, d);
        }
    }
}
