package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bitnet4j.gguf.GgmlType;

/**
 * Q6_K (type 14), llama.cpp's layout: super-blocks of 256 elements in 210 bytes.
 * <pre>
 *   offset   0  uint8 ql[128]     low 4 bits of the 6-bit codes
 *   offset 128  uint8 qh[64]      high 2 bits of the codes
 *   offset 192  int8  scales[16]  one scale per 16 consecutive elements
 *   offset 208  fp16  d           super-block scale
 * </pre>
 * Element e = 128*h + 32*k + l (h in 0..1, k in 0..3, l in 0..31) has code
 * {@code q = (nibble | ((qh[32h + l] >> 2k) & 3) << 4) - 32} where nibble is the low (k < 2) or high
 * (k >= 2) half of {@code ql[64h + 32*(k & 1) + l]}, and value {@code d * scales[e / 16] * q}
 * (evaluated left to right in float, as llama.cpp does).
 *
 * <p>The encoder is simpler than llama.cpp's importance-weighted one: per 16 elements, a small search of
 * scales around max/-32 keeping the least-squares fit, then the 16 scales quantised to int8 against d.
 */
public final class Q6_KFormat implements WeightFormat {
    static final Q6_KFormat INSTANCE = new Q6_KFormat();
    static final int BLOCK = 256;
    static final int BYTES = 210;
    static final int QH = 128;
    static final int SCALES = 192;
    static final int D = 208;

    private Q6_KFormat() {}

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public void dequantize(MemorySegment data, long total, long start, float[] out, int outOff, int n) {
        Formats.checkRange(GgmlType.Q6_K, data, total, start, n, out.length, outOff);
        long b0 = start / BLOCK;
        for (int b = 0; b < n / BLOCK; b++) {
            dequantizeBlock(data, (b0 + b) * BYTES, out, outOff + b * BLOCK);
        }
    }

    static void dequantizeBlock(MemorySegment data, long off, float[] out, int o) {
        float d = Formats.fp16(data, off + D);
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 4; k++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + 32 * k + l;
                    int ql = data.get(ValueLayout.JAVA_BYTE, off + 64 * h + 32 * (k & 1) + l) & 0xFF;
                    int qh = data.get(ValueLayout.JAVA_BYTE, off + QH + 32 * h + l) & 0xFF;
                    int nibble = k < 2 ? ql & 0xF : ql >>> 4;
                    int q = (nibble | ((qh >>> (2 * k)) & 3) << 4) - 32;
                    byte sc = data.get(ValueLayout.JAVA_BYTE, off + SCALES + e / 16);
                    out[o + e] = d * sc * q;
                }
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment data, long total, long start, float scale) {
        Formats.checkRange(GgmlType.Q6_K, data, total, start, n, src.length, srcOff);
        long b0 = start / BLOCK;
        float[] sub = new float[16];
        int[] codes = new int[BLOCK];
        for (int b = 0; b < n / BLOCK; b++) {
            quantizeBlock(src, srcOff + b * BLOCK, data, (b0 + b) * BYTES, sub, codes);
        }
    }

    private static void quantizeBlock(float[] x, int s, MemorySegment data, long off, float[] sub, int[] codes) {
        // 1. a float scale per 16 elements
        float maxScale = 0f;
        for (int j = 0; j < 16; j++) {
            sub[j] = fitScale(x, s + 16 * j);
            if (Math.abs(sub[j]) > Math.abs(maxScale)) {
                maxScale = sub[j];
            }
        }
        // 2. int8 scales against one fp16 d; the signed extreme maps to -128 so the full range is used
        float d = 0f;
        float iscale = 0f;
        if (maxScale != 0f) {
            iscale = -128f / maxScale;
            d = Float.float16ToFloat(Float.floatToFloat16(1f / iscale));
        }
        data.set(LE_SHORT, off + D, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int sc = maxScale == 0f ? 0 : (int) Math.max(-128, Math.min(127, Math.rint(iscale * sub[j])));
            data.set(ValueLayout.JAVA_BYTE, off + SCALES + j, (byte) sc);
            float dq = d * sc;
            for (int i = 0; i < 16; i++) {
                int q = dq == 0f ? 0 : (int) Math.max(-32, Math.min(31, Math.rint(x[s + 16 * j + i] / dq)));
                codes[16 * j + i] = q + 32;
            }
        }
        // 3. pack the 6-bit codes
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int e = 128 * h + l;
                int c0 = codes[e], c1 = codes[e + 32], c2 = codes[e + 64], c3 = codes[e + 96];
                data.set(ValueLayout.JAVA_BYTE, off + 64 * h + l, (byte) ((c0 & 0xF) | (c2 & 0xF) << 4));
                data.set(ValueLayout.JAVA_BYTE, off + 64 * h + 32 + l, (byte) ((c1 & 0xF) | (c3 & 0xF) << 4));
                data.set(ValueLayout.JAVA_BYTE, off + QH + 32 * h + l,
                        (byte) ((c0 >>> 4) | (c1 >>> 4) << 2 | (c2 >>> 4) << 4 | (c3 >>> 4) << 6));
            }
        }
    }

    /** Scale for 16 values with codes in [-32, 31]: a few trial inverse scales, least-squares refit each. */
    private static float fitScale(float[] x, int s) {
        float max = 0f;
        for (int i = 0; i < 16; i++) {
            if (Math.abs(x[s + i]) > Math.abs(max)) {
                max = x[s + i];
            }
        }
        if (max == 0f) {
            return 0f;
        }
        float best = max / -32f;
        double bestErr = Double.MAX_VALUE;
        for (int step = -8; step <= 8; step++) {
            float iscale = -(32f + 0.1f * step) / max;
            double sumlx = 0, suml2 = 0;
            for (int i = 0; i < 16; i++) {
                int l = (int) Math.max(-32, Math.min(31, Math.rint(iscale * x[s + i])));
                sumlx += (double) x[s + i] * l;
                suml2 += (double) l * l;
            }
            if (suml2 == 0) {
                continue;
            }
            float sc = (float) (sumlx / suml2);
            double err = 0;
            for (int i = 0; i < 16; i++) {
                int l = (int) Math.max(-32, Math.min(31, Math.rint(iscale * x[s + i])));
                double r = x[s + i] - (double) sc * l;
                err += r * r;
            }
            if (err < bestErr) {
                bestErr = err;
                best = sc;
            }
        }
        return best;
    }
}
