package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_FLOAT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFormatException;

/**
 * I2_S (type 36 in bitnet.cpp's numbering), the x86 layout bitnet.cpp writes: the whole tensor (row-major,
 * rows of a multiple of 128 elements) as 128-element blocks of 32 bytes, then one float32 scale.
 * <pre>
 *   offset 32*b + j  (j in 0..31)  element 128b + j in bits 7:6, 128b + 32 + j in bits 5:4,
 *                                  128b + 64 + j in bits 3:2, 128b + 96 + j in bits 1:0
 *   offset n/4                     float32 beta (the per-tensor scale)
 *   offset n/4 + 4 .. n/4 + 31     padding (bitnet.cpp leaves it uninitialised; we write zeros)
 * </pre>
 * Codes: 0 = -1, 1 = 0, 2 = +1; value = (code - 1) * beta. Code 3 is never written by bitnet.cpp and is
 * refused as corrupt data rather than given a meaning.
 */
public final class I2_SFormat implements WeightFormat {
    static final I2_SFormat INSTANCE = new I2_SFormat();
    static final int BLOCK = 128;
    static final int BYTES = 32;

    private I2_SFormat() {}

    @Override
    public GgmlType type() {
        return GgmlType.I2_S;
    }

    /** The per-tensor scale stored after the packed codes. */
    public static float scale(MemorySegment data, long total) {
        return data.get(LE_FLOAT, total / 4);
    }

    static int code(MemorySegment data, long i) {
        long block = i >>> 7;
        int within = (int) (i & 127);
        int b = data.get(ValueLayout.JAVA_BYTE, block * BYTES + (within & 31));
        return (b >>> (6 - 2 * (within >>> 5))) & 3;
    }

    static GgufFormatException badCode(long byteOffset) {
        return new GgufFormatException("I2_S tensor data: undefined 2-bit code 3 in byte " + byteOffset
                + " of the tensor (only 0 = -1, 1 = 0, 2 = +1 exist); the file is corrupt");
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.I2_S, data, total, start, n, out.length, outOff);
        float beta = scale(data, total);
        for (int i = 0; i < n; i++) {
            int c = code(data, start + i);
            if (c == 3) {
                long e = start + i;
                throw badCode((e >>> 7) * BYTES + (e & 31));
            }
            out[outOff + i] = (float) (c - 1) * beta;
        }
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.I2_S, data, total, start, n, src.length, srcOff);
        Ternary.checkScale("I2_S", scale);
        for (int b = 0; b < n / BLOCK; b++) {
            long off = (start / BLOCK + b) * BYTES;
            int s = srcOff + b * BLOCK;
            for (int j = 0; j < 32; j++) {
                int q = 0;
                for (int k = 0; k < 4; k++) {
                    q |= (Ternary.ternarize(src[s + 32 * k + j], scale) + 1) << (6 - 2 * k);
                }
                data.set(ValueLayout.JAVA_BYTE, off + j, (byte) q);
            }
        }
        long tail = total / 4;
        data.set(LE_FLOAT, tail, scale);
        data.asSlice(tail + 4, GgmlType.I2S_TAIL_BYTES - 4).fill((byte) 0);
    }
}
