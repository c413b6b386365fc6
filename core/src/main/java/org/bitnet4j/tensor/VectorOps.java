package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** Vector API species and the small float kernels shared by the matrix implementations. */
final class VectorOps {
    private VectorOps() {}

    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    static final int FL = FS.length();
    /** int lanes of the float shape (bit tricks on float values) */
    static final VectorSpecies<Integer> FIS = VectorSpecies.of(int.class, FS.vectorShape());
    /** FL shorts: fp16 / bf16 values widened to FL ints */
    static final VectorSpecies<Short> FSS = VectorSpecies.of(short.class, VectorShape.forBitSize(FL * 16));
    /** FL bytes: Q8_0 codes widened to FL floats */
    static final VectorSpecies<Byte> FBS = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, FL * 8)));

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** sum a[aOff+i] * b[bOff+i] over n, FMA into FL float lanes, then the lane sum plus a scalar tail */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        int bound = FS.loopBound(n);
        for (; i < bound; i += FL) {
            acc = FloatVector.fromArray(FS, a, aOff + i).fma(FloatVector.fromArray(FS, b, bOff + i), acc);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            sum = Math.fma(a[aOff + i], b[bOff + i], sum);
        }
        return sum;
    }

    /**
     * Lane sum in a fixed order (lane 0 first). {@code reduceLanes(ADD)} on floats may add in a different order
     * when compiled than when interpreted, which made float-path logits differ between runs of the same JVM.
     */
    static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < FL; i++) {
            s += v.lane(i);
        }
        return s;
    }

    /** FL fp16 values (little-endian at off) as floats, exactly as {@link Float#float16ToFloat}. */
    static FloatVector f16ToFloat(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(FSS, seg, off, LE)
                .convertShape(VectorOperators.S2I, FIS, 0);
        return f16ToFloat(h);
    }

    /**
     * fp16 bits (each lane the half sign-extended to 32 bits, as S2I widening gives, so bit 31 is its sign) to float: exponent and mantissa moved into float position and
     * rescaled by 2^112 (exact for normals and subnormals alike), infinities and NaNs get the float's
     * all-ones exponent, then the sign is put back.
     */
    static FloatVector f16ToFloat(IntVector h) {
        IntVector em = h.and(0x7FFF);
        IntVector bits = em.lanewise(VectorOperators.LSHL, 13);
        FloatVector finite = bits.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Float> special = em.compare(VectorOperators.GE, 0x7C00).cast(FS);
        FloatVector f = finite.blend(bits.or(0x7F800000).reinterpretAsFloats(), special);
        IntVector sign = h.and(0x80000000);
        return f.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** FL bf16 values as floats. */
    static FloatVector bf16ToFloat(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(FSS, seg, off, LE)
                .convertShape(VectorOperators.S2I, FIS, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** FL int8 values as floats. */
    static FloatVector int8ToFloat(MemorySegment seg, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(FBS, seg, off, LE)
                .convertShape(VectorOperators.B2F, FS, 0);
    }
}
