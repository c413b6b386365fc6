package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.TernaryPlanes.IS;
import static org.bitnet4j.tensor.TernaryPlanes.L;
import static org.bitnet4j.tensor.TernaryPlanes.SS;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.bitnet4j.gguf.GgmlType;

/**
 * TQ1_0 weights (see {@link TQ1_0Format}), read straight from the mapped file: at 1.69 bits per weight
 * this is the format for models that would not fit in memory as 2-bit planes, so nothing is repacked.
 *
 * <p>Vector kernel, per 256-block: trit n of a byte is {@code ((byte * 3^n) & 0xFF) * 3 >> 8}, i.e. code 0
 * (-1) when {@code (byte * 3^n) & 0xFF < 86} and code 2 (+1) when it is {@code >= 171}; the two compares
 * give the masks of a masked add / subtract of the widened activations, as for the bit planes.
 * Elements 0..159 come from qs[0..32) lane by lane; elements 160..255 are gathered from bytes 22..53 of
 * the block (qs[32..48) and qh) with a per-lane byte index and multiplier.
 */
final class TQ1Matrix extends TernaryMatrix {
    private static final VectorSpecies<Byte> BL = TernaryPlanes.BL;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    /** the 32 bytes loaded for the tail part start here, so the load ends at the block's end */
    private static final int TAIL_FROM = TQ1_0Format.BYTES - 32;
    private static final int TAIL_CHUNKS = 96 / L;
    /** per tail chunk: 32 byte indexes (first L used) into the bytes TAIL_FROM..TAIL_FROM+31 */
    private static final byte[] TAIL_INDEX = new byte[TAIL_CHUNKS * 32];
    private static final short[] TAIL_MUL = new short[96];
    private static final int FLUSH_BLOCKS = Math.max(1, 128 / (256 / L));

    static {
        for (int i = 0; i < 96; i++) {
            int pos = TQ1_0Format.position(160 + i);
            TAIL_INDEX[(i / L) * 32 + i % L] = (byte) ((pos >>> 3) - TAIL_FROM);
            TAIL_MUL[i] = (short) TQ1_0Format.POW3[pos & 7];
        }
    }

    TQ1Matrix(MemorySegment data, int rows, int cols, Matrices.Kernel kernel) {
        super(GgmlType.TQ1_0, data, rows, cols, kernel, TQ1_0Format.BYTES, TQ1_0Format.D);
        if (VectorShape.preferredShape().vectorBitSize() < 128 && kernel == Matrices.Kernel.VECTOR) {
            throw new IllegalStateException("TQ1_0 vector kernel needs 128-bit vectors");
        }
    }

    @Override
    int code(int r, int c) {
        long e = (long) r * cols + c;
        return TQ1_0Format.code(data, (e >>> 8) * TQ1_0Format.BYTES, (int) (e & 255));
    }

    @Override
    int vectorDot(int r, int c0, int c1, byte[] q, int qOff) {
        long rowOff = ((long) r * cols + c0) / TQ_BLOCK * TQ1_0Format.BYTES;
        int total = 0;
        // chunks of FLUSH_BLOCKS blocks; the short accumulator is widened between chunks, outside the
        // hot loop (a widening branch inside it makes C2 box the vector)
        for (int b0 = 0, nb = (c1 - c0) / TQ_BLOCK; b0 < nb; b0 += FLUSH_BLOCKS) {
            int b1 = Math.min(nb, b0 + FLUSH_BLOCKS);
            ShortVector acc = ShortVector.zero(SS);
            long off = rowOff + (long) b0 * TQ1_0Format.BYTES;
            int qb = qOff + c0 + b0 * TQ_BLOCK;
            for (int b = b0; b < b1; b++, off += TQ1_0Format.BYTES, qb += TQ_BLOCK) {
                for (int m = 0; m < 32; m += L) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BL, data, off + m, VectorOps.LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                    for (int n = 0; n < 5; n++) {
                        ShortVector t = v.mul((short) TQ1_0Format.POW3[n]).and((short) 0xFF);
                        acc = accumulate(acc, t, q, qb + 32 * n + m);
                    }
                }
                ByteVector src = ByteVector.fromMemorySegment(B32, data, off + TAIL_FROM, VectorOps.LE);
                for (int k = 0; k < TAIL_CHUNKS; k++) {
                    ShortVector v = (ShortVector) ByteVector.fromArray(B32, TAIL_INDEX, 32 * k).selectFrom(src)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                    ShortVector t = v.mul(ShortVector.fromArray(SS, TAIL_MUL, k * L)).and((short) 0xFF);
                    acc = accumulate(acc, t, q, qb + 160 + k * L);
                }
            }
            total += widenSum(acc);
        }
        return total;
    }

    /** t holds (byte * 3^n) & 0xFF per lane: below 86 is code 0 (-1), from 171 code 2 (+1) */
    private static ShortVector accumulate(ShortVector acc, ShortVector t, byte[] q, int qi) {
        ShortVector x = (ShortVector) ByteVector.fromArray(BL, q, qi).convertShape(VectorOperators.B2S, SS, 0);
        VectorMask<Short> plus = t.compare(VectorOperators.GE, (short) 171);
        VectorMask<Short> minus = t.compare(VectorOperators.LT, (short) 86);
        return acc.add(x, plus).sub(x, minus);
    }

    private static int widenSum(ShortVector acc) {
        IntVector a = (IntVector) acc.convertShape(VectorOperators.S2I, IS, 0);
        IntVector b = (IntVector) acc.convertShape(VectorOperators.S2I, IS, 1);
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }
}
