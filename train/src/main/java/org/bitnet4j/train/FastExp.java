package org.bitnet4j.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp(x) for float softmaxes, built only from operations whose results Java specifies exactly (multiply, add, fma,
 * conversions, shifts), so the vector and scalar versions agree bit for bit and a run gives the same numbers whether a
 * method is interpreted or compiled. (The Vector API's lanewise EXP is not exactly specified: its fallback and its
 * SVML intrinsic may differ in the last bit, which would make a resumed run drift from an uninterrupted one.)
 *
 * <p>Cephes' expf: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial, 2^n by building the exponent
 * bits. Relative error below 2e-7 for x in [-87, 88]; smaller x give 2^-126 * exp(r) (never used: softmax inputs
 * are x - max, and anything below -87 contributes nothing measurable).
 */
final class FastExp {
    private FastExp() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
            P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;
    /** adding and subtracting 1.5 * 2^23 rounds to an integer, ties to even, exactly like rint */
    private static final float ROUND = 12582912f;
    private static final float LO = -87f, HI = 88f;

    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = P0;
        p = Math.fma(p, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    private static FloatVector exp(FloatVector x) {
        x = x.max(LO).min(HI);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, P0);
        p = p.fma(r, FloatVector.broadcast(S, P1));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }

    /**
     * a[off + i] = exp(a[off + i] - sub) for i in [0, len); returns the sum of the results, added lane by lane and
     * then lane after lane in double (a fixed order).
     */
    static double expInPlace(float[] a, int off, int len, float sub, boolean vector) {
        int i = 0;
        double sum = 0;
        if (vector) {
            int bound = S.loopBound(len);
            FloatVector acc = FloatVector.zero(S);
            for (; i < bound; i += S.length()) {
                FloatVector e = exp(FloatVector.fromArray(S, a, off + i).sub(sub));
                e.intoArray(a, off + i);
                acc = acc.add(e);
            }
            for (int l = 0; l < S.length(); l++) {
                sum += acc.lane(l);
            }
        }
        for (; i < len; i++) {
            float e = exp(a[off + i] - sub);
            a[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /** The scalar definition of {@link #expInPlace} with the same lane grouping (for the test). */
    static double expInPlaceReference(float[] a, int off, int len, float sub) {
        int lanes = S.length();
        int bound = len / lanes * lanes;
        float[] acc = new float[lanes];
        for (int i = 0; i < bound; i++) {
            float e = exp(a[off + i] - sub);
            a[off + i] = e;
            acc[i % lanes] += e;
        }
        double sum = 0;
        for (float v : acc) {
            sum += v;
        }
        for (int i = bound; i < len; i++) {
            float e = exp(a[off + i] - sub);
            a[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /** max of a[off .. off+len) (exact in any order) */
    static float max(float[] a, int off, int len) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        int bound = S.loopBound(len);
        if (bound > 0) {
            FloatVector vm = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < bound; i += S.length()) {
                vm = vm.max(FloatVector.fromArray(S, a, off + i));
            }
            m = vm.reduceLanes(VectorOperators.MAX);
        }
        for (; i < len; i++) {
            m = Math.max(m, a[off + i]);
        }
        return m;
    }
}
