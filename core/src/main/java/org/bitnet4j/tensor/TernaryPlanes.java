package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.Formats.LE_LONG;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.bitnet4j.gguf.GgufFormatException;

/**
 * Ternary weights repacked as two bit planes, the layout the vector kernel wants: for each row and each
 * group of 32 consecutive weights, an int whose bit i says "weight 32g+i is +1" and one for "is -1".
 * Same 2 bits per weight as I2_S / TQ2_0, so the repack costs no memory beyond the (then cold) file pages.
 * <pre>
 *   bits[2 * (r * groupsPerRow + g)]     plus plane of row r, group g
 *   bits[2 * (r * groupsPerRow + g) + 1] minus plane
 * </pre>
 * The int8 kernel widens 32 activations to shorts and does one masked add and one masked subtract per
 * 32 weights; short lanes hold at most 128 terms of |q| <= 128 before they are widened into the int total.
 */
final class TernaryPlanes {
    static final VectorSpecies<Short> SS = ShortVector.SPECIES_PREFERRED.length() > 32
            ? ShortVector.SPECIES_512 : ShortVector.SPECIES_PREFERRED;
    static final int L = SS.length();
    static final VectorSpecies<Byte> BL = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, SS.vectorShape());
    static final long LANE_BITS = L == 64 ? -1L : (1L << L) - 1;
    /** groups of 32 weights between widenings: each adds 32/L terms of |t*q| <= 128 to a short lane */
    static final int FLUSH_GROUPS = 128 / (32 / L);

    static final long FLANE_BITS = (1L << VectorOps.FL) - 1;

    final int rows;
    final int cols;
    final int groupsPerRow;
    final int[] bits;

    private TernaryPlanes(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
        this.groupsPerRow = cols / 32;
        this.bits = new int[Math.multiplyExact(Math.multiplyExact(rows, groupsPerRow), 2)];
    }

    /**
     * Reads 32 bytes at off and takes 2-bit code j from bits shift..shift+1 of byte j; returns the plus
     * plane in the low and the minus plane in the high 32 bits. Long.compress is one PEXT on x86 BMI2.
     */
    static long planes(MemorySegment data, long off, int shift) {
        long loMask = 0x0101010101010101L << shift;
        long hiMask = loMask << 1;
        int lo = 0;
        int hi = 0;
        for (int i = 0; i < 4; i++) {
            long v = data.get(LE_LONG, off + 8L * i);
            lo |= (int) Long.compress(v, loMask) << (8 * i);
            hi |= (int) Long.compress(v, hiMask) << (8 * i);
        }
        int bad = lo & hi;
        if (bad != 0) {
            throw code3(off + Integer.numberOfTrailingZeros(bad));
        }
        int plus = hi & ~lo;
        int minus = ~(hi | lo);
        return (plus & 0xFFFFFFFFL) | ((long) minus << 32);
    }

    static GgufFormatException code3(long byteOffset) {
        return new GgufFormatException("ternary tensor data: undefined 2-bit code 3 at byte " + byteOffset
                + " of the tensor (only 0 = -1, 1 = 0, 2 = +1 exist); the file is corrupt");
    }

    /** Any 2-bit field equal to 3 in the 8 bytes? (the high and low bit of a pair both set) */
    static boolean hasCode3(long v) {
        return ((v & (v >>> 1)) & 0x5555555555555555L) != 0;
    }

    static void checkBytes(MemorySegment data, long off, long len) {
        for (long i = 0; i < len; i += 8) {
            long v = data.get(LE_LONG, off + i);
            if (hasCode3(v)) {
                for (int j = 0; j < 8; j++) {
                    int b = (int) (v >>> (8 * j));
                    if ((b & (b >>> 1) & 0x55) != 0) {
                        throw code3(off + i + j);
                    }
                }
            }
        }
    }

    /** I2_S: weight 128b + 32k + j is in byte 32b + j at shift 6 - 2k. */
    static TernaryPlanes fromI2S(MemorySegment data, int rows, int cols) {
        TernaryPlanes p = new TernaryPlanes(rows, cols);
        int n = 0;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < p.groupsPerRow; g++) {
                long e = (long) r * cols + 32L * g;
                long block = e >>> 7;
                int k = (int) ((e >>> 5) & 3);
                long v = planes(data, block * I2_SFormat.BYTES, 6 - 2 * k);
                p.bits[n++] = (int) v;
                p.bits[n++] = (int) (v >>> 32);
            }
        }
        return p;
    }

    /** TQ2_0: weight 256b + 128h + 32l + m is in byte 66b + 32h + m at shift 2l. */
    static TernaryPlanes fromTQ2(MemorySegment data, int rows, int cols) {
        TernaryPlanes p = new TernaryPlanes(rows, cols);
        int n = 0;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < p.groupsPerRow; g++) {
                long e = (long) r * cols + 32L * g;
                long block = e >>> 8;
                int h = (int) ((e >>> 7) & 1);
                int l = (int) ((e >>> 5) & 3);
                long v = planes(data, block * TQ2_0Format.BYTES + 32L * h, 2 * l);
                p.bits[n++] = (int) v;
                p.bits[n++] = (int) (v >>> 32);
            }
        }
        return p;
    }

    /** Uniform-scale int8 product of rows [r0, r1) for nTok tokens: four rows at a time, then singles. */
    void matmul(QuantizedActivations x, int nTok, float beta, float[] out, int r0, int r1) {
        for (int t = 0; t < nTok; t++) {
            int qOff = t * cols;
            float s = x.scale[t];
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                dot4(r, x.q, qOff, beta, s, out, t * rows);
            }
            for (; r < r1; r++) {
                out[t * rows + r] = Ternary.output(dot(r, 0, cols, x.q, qOff), beta, s);
            }
        }
    }

    /** sum over c in [c0, c1) of t(r, c) * q[qOff + c]; c0 and c1 multiples of 32 */
    int dot(int r, int c0, int c1, byte[] q, int qOff) {
        int p = 2 * (r * groupsPerRow + c0 / 32);
        int end = 2 * (r * groupsPerRow + c1 / 32);
        int qi = qOff + c0;
        ShortVector zero = ShortVector.zero(SS);
        ShortVector acc = zero;
        int total = 0;
        int sinceFlush = 0;
        for (; p < end; p += 2, qi += 32) {
            int plus = bits[p];
            int minus = bits[p + 1];
            for (int k = 0; k < 32; k += L) {
                ShortVector x = (ShortVector) ByteVector.fromArray(BL, q, qi + k)
                        .convertShape(VectorOperators.B2S, SS, 0);
                VectorMask<Short> mp = VectorMask.fromLong(SS, (plus >>> k) & LANE_BITS);
                VectorMask<Short> mm = VectorMask.fromLong(SS, (minus >>> k) & LANE_BITS);
                acc = acc.add(x, mp).sub(x, mm);
            }
            if (++sinceFlush == FLUSH_GROUPS) {
                total += widenSum(acc);
                acc = zero;
                sinceFlush = 0;
            }
        }
        return total + widenSum(acc);
    }

    /**
     * Four consecutive rows r..r+3 over all columns at once, written as Ternary.output(isum, beta, s)
     * to out[outOff + r ..]: each activation load and widening is shared by four rows, and the four
     * accumulators are independent dependency chains.
     */
    void dot4(int r, byte[] q, int qOff, float beta, float s, float[] out, int outOff) {
        int g = groupsPerRow;
        int p0 = 2 * r * g;
        int p1 = p0 + 2 * g;
        int p2 = p1 + 2 * g;
        int p3 = p2 + 2 * g;
        int end = p1;
        int qi = qOff;
        ShortVector zero = ShortVector.zero(SS);
        ShortVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        int t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        int sinceFlush = 0;
        for (; p0 < end; p0 += 2, p1 += 2, p2 += 2, p3 += 2, qi += 32) {
            for (int k = 0; k < 32; k += L) {
                ShortVector x = (ShortVector) ByteVector.fromArray(BL, q, qi + k)
                        .convertShape(VectorOperators.B2S, SS, 0);
                a0 = a0.add(x, VectorMask.fromLong(SS, (bits[p0] >>> k) & LANE_BITS))
                        .sub(x, VectorMask.fromLong(SS, (bits[p0 + 1] >>> k) & LANE_BITS));
                a1 = a1.add(x, VectorMask.fromLong(SS, (bits[p1] >>> k) & LANE_BITS))
                        .sub(x, VectorMask.fromLong(SS, (bits[p1 + 1] >>> k) & LANE_BITS));
                a2 = a2.add(x, VectorMask.fromLong(SS, (bits[p2] >>> k) & LANE_BITS))
                        .sub(x, VectorMask.fromLong(SS, (bits[p2 + 1] >>> k) & LANE_BITS));
                a3 = a3.add(x, VectorMask.fromLong(SS, (bits[p3] >>> k) & LANE_BITS))
                        .sub(x, VectorMask.fromLong(SS, (bits[p3 + 1] >>> k) & LANE_BITS));
            }
            if (++sinceFlush == FLUSH_GROUPS) {
                t0 += widenSum(a0);
                t1 += widenSum(a1);
                t2 += widenSum(a2);
                t3 += widenSum(a3);
                a0 = zero;
                a1 = zero;
                a2 = zero;
                a3 = zero;
                sinceFlush = 0;
            }
        }
        out[outOff + r] = Ternary.output(t0 + widenSum(a0), beta, s);
        out[outOff + r + 1] = Ternary.output(t1 + widenSum(a1), beta, s);
        out[outOff + r + 2] = Ternary.output(t2 + widenSum(a2), beta, s);
        out[outOff + r + 3] = Ternary.output(t3 + widenSum(a3), beta, s);
    }

    private static int widenSum(ShortVector acc) {
        IntVector a = (IntVector) acc.convertShape(VectorOperators.S2I, IS, 0);
        IntVector b = (IntVector) acc.convertShape(VectorOperators.S2I, IS, 1);
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }

    /** sum over c in [c0, c1) of t(r, c) * x[xOff + c] in float lanes; c0, c1 multiples of 32 */
    float dot(int r, int c0, int c1, float[] x, int xOff) {
        int p = 2 * (r * groupsPerRow + c0 / 32);
        int end = 2 * (r * groupsPerRow + c1 / 32);
        int xi = xOff + c0;
        FloatVector acc = FloatVector.zero(VectorOps.FS);
        for (; p < end; p += 2, xi += 32) {
            int plus = bits[p];
            int minus = bits[p + 1];
            for (int k = 0; k < 32; k += VectorOps.FL) {
                FloatVector v = FloatVector.fromArray(VectorOps.FS, x, xi + k);
                acc = acc.add(v, VectorMask.fromLong(VectorOps.FS, (plus >>> k) & FLANE_BITS))
                        .sub(v, VectorMask.fromLong(VectorOps.FS, (minus >>> k) & FLANE_BITS));
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
