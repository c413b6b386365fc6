package org.bitnet4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFormatException;
import org.junit.jupiter.api.Test;

class WeightFormatTest {

    static MemorySegment alloc(GgmlType type, long total) {
        return Arena.ofAuto().allocate(type.byteSize(total), 32);
    }

    static float[] decode(GgmlType type, MemorySegment data, int total) {
        float[] out = new float[total];
        WeightFormat.of(type).dequantize(data, total, 0, out, 0, total);
        return out;
    }

    @Test
    void tableCoversEveryType() {
        for (GgmlType t : GgmlType.values()) {
            assertEquals(t, WeightFormat.of(t).type());
        }
    }

    /** beta values that fp16 holds exactly, like BitNet exports (fp16(mean|W|)). */
    static float fp16Beta(Random rnd) {
        return Float.float16ToFloat(Float.floatToFloat16(0.01f + rnd.nextFloat() * 0.2f));
    }

    @Test
    void ternaryRoundTripsExactly() {
        Random rnd = new Random(1);
        for (GgmlType type : new GgmlType[] {GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S}) {
            int total = 256 * 12;
            float beta = type == GgmlType.I2_S ? 0.0123456f : fp16Beta(rnd);
            int[] t = new int[total];
            float[] x = new float[total];
            for (int i = 0; i < total; i++) {
                t[i] = rnd.nextInt(3) - 1;
                x[i] = t[i] * beta;
            }
            MemorySegment data = alloc(type, total);
            WeightFormat.of(type).quantize(x, 0, total, data, total, 0, beta);
            float[] back = decode(type, data, total);
            for (int i = 0; i < total; i++) {
                assertEquals(t[i] * beta, back[i], 0f, type + " element " + i);
            }
            // a sub-range decodes to the same values
            float[] part = new float[512];
            WeightFormat.of(type).dequantize(data, total, 1024, part, 0, 512);
            for (int i = 0; i < 512; i++) {
                assertEquals(back[1024 + i], part[i], 0f);
            }
        }
    }

    @Test
    void ternaryEncodersRoundClipLatentWeights() {
        Random rnd = new Random(2);
        int total = 1024;
        float[] x = new float[total];
        for (int i = 0; i < total; i++) {
            x[i] = (float) rnd.nextGaussian() * 0.1f;
        }
        x[0] = 0.05f; // exactly half of beta: round half to even gives 0
        x[1] = -0.15f; // -1.5 -> -2 -> clipped to -1
        float beta = 0.1f;
        float fpBeta = Float.float16ToFloat(Float.floatToFloat16(beta));
        for (GgmlType type : new GgmlType[] {GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S}) {
            MemorySegment data = alloc(type, total);
            WeightFormat.of(type).quantize(x, 0, total, data, total, 0, beta);
            float[] back = decode(type, data, total);
            float stored = type == GgmlType.I2_S ? beta : fpBeta;
            for (int i = 0; i < total; i++) {
                double r = Math.rint(x[i] / beta);
                int t = (int) Math.max(-1, Math.min(1, r));
                assertEquals(t * stored, back[i], 0f, type + " element " + i);
            }
            assertEquals(0f, back[0]);
            assertEquals(-stored, back[1]);
        }
    }

    @Test
    void ternaryEncodersPartialWritesAndZeroScale() {
        int total = 512;
        float[] x = new float[total];
        for (GgmlType type : new GgmlType[] {GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S}) {
            MemorySegment data = alloc(type, total);
            data.fill((byte) 0x55);
            WeightFormat f = WeightFormat.of(type);
            f.quantize(x, 0, 256, data, total, 0, 0f);
            f.quantize(x, 256, 256, data, total, 256, 0f);
            float[] back = decode(type, data, total);
            for (float v : back) {
                assertEquals(0f, v);
            }
            assertThrows(IllegalArgumentException.class, () -> f.quantize(x, 0, 256, data, total, 0, Float.NaN));
            assertThrows(IllegalArgumentException.class, () -> f.quantize(x, 0, 100, data, total, 0, 1f));
            assertThrows(IllegalArgumentException.class, () -> f.quantize(x, 0, 256, data, total, 512, 1f));
        }
        MemorySegment tq = alloc(GgmlType.TQ2_0, 256);
        assertThrows(IllegalArgumentException.class,
                () -> WeightFormat.of(GgmlType.TQ2_0).quantize(new float[256], 0, 256, tq, 256, 0, 1e6f));
    }

    /** Layout written out by hand from the format description, independent of the encoders. */
    @Test
    void i2sLayoutByHand() {
        int total = 256;
        MemorySegment data = alloc(GgmlType.I2_S, total);
        // second block (elements 128..255): byte 32 + 5 holds elements 133, 165, 197, 229
        // codes 2 (+1), 0 (-1), 1 (0), 2 (+1) -> 0b10_00_01_10
        data.fill((byte) 0b01010101); // all zero weights
        data.set(ValueLayout.JAVA_BYTE, 32 + 5, (byte) 0b10000110);
        data.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), total / 4, 0.5f);
        float[] w = decode(GgmlType.I2_S, data, total);
        for (int i = 0; i < total; i++) {
            float expect = switch (i) {
                case 133, 229 -> 0.5f;
                case 165 -> -0.5f;
                default -> 0f;
            };
            assertEquals(expect, w[i], 0f, "element " + i);
        }
        assertEquals(0.5f, I2_SFormat.scale(data, total));
        data.set(ValueLayout.JAVA_BYTE, 7, (byte) 0b01011101); // code 3 for element 64 + 7 = 71
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> decode(GgmlType.I2_S, data, total));
        assertTrue(e.getMessage().contains("byte 7"), e.getMessage());
    }

    @Test
    void i2sTailHoldsScaleThenZeros() {
        int total = 384;
        MemorySegment data = alloc(GgmlType.I2_S, total);
        data.fill((byte) 0x7F);
        float[] x = new float[total];
        WeightFormat.of(GgmlType.I2_S).quantize(x, 0, total, data, total, 0, 0.75f);
        assertEquals(total / 4 + 32, data.byteSize());
        assertEquals(0.75f, I2_SFormat.scale(data, total));
        for (int i = total / 4 + 4; i < data.byteSize(); i++) {
            assertEquals(0, data.get(ValueLayout.JAVA_BYTE, i));
        }
    }

    @Test
    void tq2LayoutByHand() {
        MemorySegment data = alloc(GgmlType.TQ2_0, 256);
        data.fill((byte) 0b01010101);
        // element 128*1 + 32*2 + 7 = 199 sits in bits 4..5 of byte 32 + 7; code 2 -> +d
        data.set(ValueLayout.JAVA_BYTE, 39, (byte) 0b01100101);
        data.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 64, Float.floatToFloat16(-2f));
        float[] w = decode(GgmlType.TQ2_0, data, 256);
        for (int i = 0; i < 256; i++) {
            assertEquals(i == 199 ? -2f : 0f, w[i], 0f, "element " + i);
        }
    }

    /**
     * TQ1_0 bytes decoded the slow way (byte -> base-3 integer floor(byte * 243 / 256) -> digits), which
     * does not share code with the format's multiplicative trit extraction.
     */
    @Test
    void tq1MatchesIndependentBase3Decoding() {
        Random rnd = new Random(3);
        int total = 256 * 4;
        float[] x = new float[total];
        for (int i = 0; i < total; i++) {
            x[i] = rnd.nextInt(3) - 1;
        }
        MemorySegment data = alloc(GgmlType.TQ1_0, total);
        WeightFormat.of(GgmlType.TQ1_0).quantize(x, 0, total, data, total, 0, 1f);
        for (int b = 0; b < total / 256; b++) {
            long off = b * 54L;
            int[] t = new int[256];
            for (int byteIndex = 0; byteIndex < 52; byteIndex++) {
                int v = (data.get(ValueLayout.JAVA_BYTE, off + byteIndex) & 0xFF) * 243 / 256;
                int[] digits = new int[5];
                for (int k = 4; k >= 0; k--) {
                    digits[k] = v % 3;
                    v /= 3;
                }
                for (int k = 0; k < 5; k++) {
                    int e;
                    if (byteIndex < 32) {
                        e = 32 * k + byteIndex;
                    } else if (byteIndex < 48) {
                        e = 160 + 16 * k + (byteIndex - 32);
                    } else {
                        if (k == 4) {
                            assertEquals(0, digits[k], "qh fifth trit");
                            continue;
                        }
                        e = 240 + 4 * k + (byteIndex - 48);
                    }
                    t[e] = digits[k] - 1;
                }
            }
            for (int e = 0; e < 256; e++) {
                assertEquals(x[b * 256 + e], (float) t[e], "block " + b + " element " + e);
            }
        }
        // and every possible byte value decodes to trits 0..2 (no invalid TQ1_0 input exists)
        for (int v = 0; v < 256; v++) {
            for (int n = 0; n < 5; n++) {
                int trit = TQ1_0Format.trit(v, n);
                assertTrue(trit >= 0 && trit <= 2);
            }
        }
    }

    @Test
    void f16RoundTripsEveryHalf() {
        int total = 65536;
        MemorySegment data = alloc(GgmlType.F16, total);
        for (int i = 0; i < total; i++) {
            data.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, (short) i);
        }
        float[] f = decode(GgmlType.F16, data, total);
        MemorySegment again = alloc(GgmlType.F16, total);
        WeightFormat.of(GgmlType.F16).quantize(f, 0, total, again, total, 0, 0f);
        for (int i = 0; i < total; i++) {
            short h = again.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i);
            if (Float.isNaN(f[i])) {
                assertTrue(Float.isNaN(Float.float16ToFloat(h)));
            } else {
                assertEquals((short) i, h, "half " + Integer.toHexString(i));
            }
        }
        assertEquals(1f, f[0x3C00]);
        assertEquals(-2f, f[0xC000]);
        assertEquals(65504f, f[0x7BFF]);
        assertEquals(0x1p-24f, f[1]);
        // ties go to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10
        MemorySegment one = alloc(GgmlType.F16, 2);
        WeightFormat.of(GgmlType.F16).quantize(new float[] {1f + 0x1p-11f, 1f + 3 * 0x1p-11f}, 0, 2, one, 2, 0, 0f);
        assertArrayEquals(new float[] {1f, 1f + 0x1p-9f}, decode(GgmlType.F16, one, 2));
    }

    @Test
    void bf16RoundTripsAndRoundsToNearestEven() {
        int total = 65536;
        MemorySegment data = alloc(GgmlType.BF16, total);
        for (int i = 0; i < total; i++) {
            data.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, (short) i);
        }
        float[] f = decode(GgmlType.BF16, data, total);
        MemorySegment again = alloc(GgmlType.BF16, total);
        WeightFormat.of(GgmlType.BF16).quantize(f, 0, total, again, total, 0, 0f);
        for (int i = 0; i < total; i++) {
            assertEquals(Float.floatToRawIntBits(f[i]) >>> 16, i);
            short h = again.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i);
            if (Float.isNaN(f[i])) {
                assertTrue(Float.isNaN(BF16Format.toFloat(h)));
            } else {
                assertEquals((short) i, h);
            }
        }
        // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: even wins; 1 + 3*2^-8 rounds up to 1 + 2^-6
        assertEquals(1f, BF16Format.toFloat(BF16Format.fromFloat(1f + 0x1p-8f)));
        assertEquals(1f + 0x1p-6f, BF16Format.toFloat(BF16Format.fromFloat(1f + 3 * 0x1p-8f)));
        assertEquals(1f + 0x1p-7f, BF16Format.toFloat(BF16Format.fromFloat(1f + 0x1p-8f + 0x1p-20f)));
    }

    @Test
    void f32CopiesBits() {
        Random rnd = new Random(4);
        float[] x = new float[100];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.intBitsToFloat(rnd.nextInt());
        }
        MemorySegment data = alloc(GgmlType.F32, 100);
        WeightFormat.of(GgmlType.F32).quantize(x, 0, 100, data, 100, 0, 0f);
        float[] back = decode(GgmlType.F32, data, 100);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(back[i]));
        }
    }

    @Test
    void q8_0WithinHalfAStep() {
        Random rnd = new Random(5);
        int total = 32 * 40;
        float[] x = new float[total];
        for (int i = 0; i < total; i++) {
            x[i] = (float) rnd.nextGaussian() * (1 + i / 32);
        }
        for (int i = 0; i < 32; i++) {
            x[32 * 3 + i] = 0f; // an all-zero block
        }
        MemorySegment data = alloc(GgmlType.Q8_0, total);
        WeightFormat.of(GgmlType.Q8_0).quantize(x, 0, total, data, total, 0, 0f);
        float[] back = decode(GgmlType.Q8_0, data, total);
        for (int b = 0; b < total / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[32 * b + j]));
            }
            float step = amax / 127;
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                // half a step, plus the fp16 rounding of d times up to 127 steps
                assertEquals(x[i], back[i], 0.5f * step + 127 * step * 0x1p-11f + 1e-30f, "element " + i);
            }
        }
        // by hand: block scale at offset 0, codes from offset 2
        MemorySegment one = alloc(GgmlType.Q8_0, 32);
        one.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, Float.floatToFloat16(0.25f));
        one.set(ValueLayout.JAVA_BYTE, 2 + 9, (byte) -7);
        float[] w = decode(GgmlType.Q8_0, one, 32);
        assertEquals(-1.75f, w[9]);
        assertEquals(0f, w[8]);
    }

    @Test
    void q6_KHasSmallError() {
        Random rnd = new Random(6);
        int total = 256 * 64;
        float[] x = new float[total];
        double sumSq = 0;
        for (int i = 0; i < total; i++) {
            x[i] = (float) rnd.nextGaussian() * 0.05f;
            sumSq += (double) x[i] * x[i];
        }
        MemorySegment data = alloc(GgmlType.Q6_K, total);
        WeightFormat.of(GgmlType.Q6_K).quantize(x, 0, total, data, total, 0, 0f);
        float[] back = decode(GgmlType.Q6_K, data, total);
        double err = 0;
        for (int i = 0; i < total; i++) {
            err += (x[i] - back[i]) * (double) (x[i] - back[i]);
        }
        double relRmse = Math.sqrt(err / sumSq);
        // 6-bit codes over 16-element groups of Gaussians: step ~ max/32 ~ 0.06 sigma, so ~1.7% (step/sqrt(12))
        assertTrue(relRmse < 0.02, "relative RMSE " + relRmse);
        // an all-zero block stays zero
        MemorySegment z = alloc(GgmlType.Q6_K, 256);
        WeightFormat.of(GgmlType.Q6_K).quantize(new float[256], 0, 256, z, 256, 0, 0f);
        for (float v : decode(GgmlType.Q6_K, z, 256)) {
            assertEquals(0f, v);
        }
    }

    /** llama.cpp's Q6_K layout written by hand for a few elements. */
    @Test
    void q6_KLayoutByHand() {
        MemorySegment data = alloc(GgmlType.Q6_K, 256);
        // all codes 32 (value 0): low nibble 0, high bits 2 -> qh = 0b10101010
        for (int i = 0; i < 128; i++) {
            data.set(ValueLayout.JAVA_BYTE, i, (byte) 0);
        }
        for (int i = 0; i < 64; i++) {
            data.set(ValueLayout.JAVA_BYTE, 128 + i, (byte) 0b10101010);
        }
        for (int j = 0; j < 16; j++) {
            data.set(ValueLayout.JAVA_BYTE, 192 + j, (byte) (j - 8));
        }
        data.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 208, Float.floatToFloat16(0.5f));
        // element 128 + 64 + 5 = 197: h=1, k=2, l=5 -> high nibble of ql[64 + 5], bits 4..5 of qh[32 + 5]
        // code 45 = 0b10_1101: nibble 13, high 2; value 0.5 * scales[12] * (45 - 32) = 0.5 * 4 * 13
        data.set(ValueLayout.JAVA_BYTE, 69, (byte) 0xD0);
        // element 32 + 20 = 52: h=0, k=1, l=20 -> low nibble of ql[32 + 20], bits 2..3 of qh[20]
        // code 7 = 0b00_0111: value 0.5 * scales[3] * (7 - 32) = 0.5 * -5 * -25
        data.set(ValueLayout.JAVA_BYTE, 52, (byte) 0x07);
        data.set(ValueLayout.JAVA_BYTE, 128 + 20, (byte) 0b10100010);
        float[] w = decode(GgmlType.Q6_K, data, 256);
        for (int i = 0; i < 256; i++) {
            float expect = switch (i) {
                case 197 -> 26f;
                case 52 -> 62.5f;
                default -> 0f;
            };
            assertEquals(expect, w[i], 0f, "element " + i);
        }
    }
}
