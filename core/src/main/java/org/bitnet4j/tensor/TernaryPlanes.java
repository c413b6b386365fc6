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
 * Rows are interleaved in blocks of four (the kernel's tile), so a four-row pass reads one sequential
 * stream instead of four short ones; the row count is padded to a multiple of four with zero weights.
 * <pre>
 *   bits[8 * ((r / 4) * groupsPerRow + g) + 2 * (r % 4)]      plus plane of row r, group g
 *   bits[8 * ((r / 4) * groupsPerRow + g) + 2 * (r % 4) + 1]  minus plane
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

    /** index of row r's plus plane for group g */
    int index(int r, int g) {
        return 8 * ((r >>> 2) * groupsPerRow + g) + 2 * (r & 3);
    }

    private TernaryPlanes(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
        this.groupsPerRow = cols / 32;
        this.bits = new int[Math.multiplyExact(Math.multiplyExact((rows + 3) / 4, groupsPerRow), 8)];
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
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < p.groupsPerRow; g++) {
                long e = (long) r * cols + 32L * g;
                long block = e >>> 7;
                int k = (int) ((e >>> 5) & 3);
                long v = planes(data, block * I2_SFormat.BYTES, 6 - 2 * k);
                int n = p.index(r, g);
                p.bits[n] = (int) v;
                p.bits[n + 1] = (int) (v >>> 32);
            }
        }
        return p;
    }

    /** TQ2_0: weight 256b + 128h + 32l + m is in byte 66b + 32h + m at shift 2l. */
    static TernaryPlanes fromTQ2(MemorySegment data, int rows, int cols) {
        TernaryPlanes p = new TernaryPlanes(rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < p.groupsPerRow; g++) {
                long e = (long) r * cols + 32L * g;
                long block = e >>> 8;
                int h = (int) ((e >>> 7) & 1);
                int l = (int) ((e >>> 5) & 3);
                long v = planes(data, block * TQ2_0Format.BYTES + 32L * h, 2 * l);
                int n = p.index(r, g);
                p.bits[n] = (int) v;
                p.bits[n + 1] = (int) (v >>> 32);
            }
        }
        return p;
    }

    /**
     * Uniform-scale int8 product of rows [r0, r1) for nTok tokens: aligned four-row tiles, single rows
     * around them. Tokens are the inner loop so a tile's planes stay in L1 while every token reads them.
     */
    void matmul(QuantizedActivations x, int nTok, float beta, float[] out, int r0, int r1) {
        int r = r0;
        for (; r < r1 && (r & 3) != 0; r++) {
            single(x, nTok, beta, out, r);
        }
        for (; r + 4 <= r1; r += 4) {
            for (int t = 0; t < nTok; t++) {
                dot4(r, x.q, t * cols, beta, x.scale[t], out, t * rows);
            }
        }
        for (; r < r1; r++) {
            single(x, nTok, beta, out, r);
        }
    }

    private void single(QuantizedActivations x, int nTok, float beta, float[] out, int r) {
        for (int t = 0; t < nTok; t++) {
            out[t * rows + r] = Ternary.output(dot(r, 0, cols, x.q, t * cols), beta, x.scale[t]);
        }
    }

    /** sum over c in [c0, c1) of t(r, c) * q[qOff + c]; c0 and c1 multiples of 32 */
    int dot(int r, int c0, int c1, byte[] q, int qOff) {
        int total = 0;
        for (int g0 = c0 / 32, gEnd = c1 / 32; g0 < gEnd; g0 += FLUSH_GROUPS) {
            int g1 = Math.min(gEnd, g0 + FLUSH_GROUPS);
            ShortVector acc = ShortVector.zero(SS);
            int qi = qOff + 32 * g0;
            for (int p = index(r, g0), end = index(r, g1); p < end; p += 8, qi += 32) {
                int plus = bits[p];
                int minus = bits[p + 1];
                for (int k = 0; k < 32; k += L) {
                    ShortVector x = (ShortVector) ByteVector.fromArray(BL, q, qi + k)
                            .convertShape(VectorOperators.B2S, SS, 0);
                    VectorMask<Short> mp = VectorMask.fromLong(SS, (plus >>> k) & LANE_BITS);
                    VectorMask<Short> mm = VectorMask.fromLong(SS, (minus >>> k) & LANE_BITS);
                    acc = acc.add(x, mp).sub(x, mm);
                }
            }
            total += widenSum(acc);
        }
        return total;
    }

    /**
     * Four consecutive rows r..r+3 (r a multiple of 4) over all columns at once, written as Ternary.output(isum, beta, s)
     * to out[outOff + r ..]: each activation load and widening is shared by four rows, and the four
     * accumulators are independent dependency chains.
     */
    void dot4(int r, byte[] q, int qOff, float beta, float s, float[] out, int outOff) {
        int g = groupsPerRow;
        int t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        // chunks of FLUSH_GROUPS: the short accumulators are widened between chunks, outside the hot loop
        // (a widening branch inside it makes C2 box the vectors)
        for (int g0 = 0; g0 < g; g0 += FLUSH_GROUPS) {
            int g1 = Math.min(g, g0 + FLUSH_GROUPS);
            ShortVector a0 = ShortVector.zero(SS), a1 = a0, a2 = a0, a3 = a0;
            int qi = qOff + 32 * g0;
            for (int p = index(r, g0), end = index(r, g1); p < end; p += 8, qi += 32) {
                for (int k = 0; k < 32; k += L) {
                    ShortVector x = (ShortVector) ByteVector.fromArray(BL, q, qi + k)
                            .convertShape(VectorOperators.B2S, SS, 0);
                    a0 = a0.add(x, VectorMask.fromLong(SS, (bits[p] >>> k) & LANE_BITS))
                            .sub(x, VectorMask.fromLong(SS, (bits[p + 1] >>> k) & LANE_BITS));
                    a1 = a1.add(x, VectorMask.fromLong(SS, (bits[p + 2] >>> k) & LANE_BITS))
                            .sub(x, VectorMask.fromLong(SS, (bits[p + 3] >>> k) & LANE_BITS));
                    a2 = a2.add(x, VectorMask.fromLong(SS, (bits[p + 4] >>> k) & LANE_BITS))
                            .sub(x, VectorMask.fromLong(SS, (bits[p + 5] >>> k) & LANE_BITS));
                    a3 = a3.add(x, VectorMask.fromLong(SS, (bits[p + 6] >>> k) & LANE_BITS))
                            .sub(x, VectorMask.fromLong(SS, (bits[p + 7] >>> k) & LANE_BITS));
                }
            }
            t0 += widenSum(a0);
            t1 += widenSum(a1);
            t2 += widenSum(a2);
            t3 += widenSum(a3);
        }
        out[outOff + r] = Ternary.output(t0, beta, s);
        out[outOff + r + 1] = Ternary.output(t1, beta, s);
        out[outOff + r + 2] = Ternary.output(t2, beta, s);
        out[outOff + r + 3] = Ternary.output(t3, beta, s);
    }

    private static int widenSum(ShortVector acc) {
        IntVector a = (IntVector) acc.convertShape(VectorOperators.S2I, IS, 0);
        IntVector b = (IntVector) acc.convertShape(VectorOperators.S2I, IS, 1);
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }

    /** sum over c in [c0, c1) of t(r, c) * x[xOff + c] in float lanes; c0, c1 multiples of 32 */
    float dot(int r, int c0, int c1, float[] x, int xOff) {
        int xi = xOff + c0;
        FloatVector acc = FloatVector.zero(VectorOps.FS);
        for (int p = index(r, c0 / 32), end = index(r, c1 / 32); p < end; p += 8, xi += 32) {
            int plus = bits[p];
            int minus = bits[p + 1];
            for (int k = 0; k < 32; k += VectorOps.FL) {
                FloatVector v = FloatVector.fromArray(VectorOps.FS, x, xi + k);
                acc = acc.add(v, VectorMask.fromLong(VectorOps.FS, (plus >>> k) & FLANE_BITS))
                        .sub(v, VectorMask.fromLong(VectorOps.FS, (minus >>> k) & FLANE_BITS));
            }
        }
        return VectorOps.sumLanes(acc);
    }
}
