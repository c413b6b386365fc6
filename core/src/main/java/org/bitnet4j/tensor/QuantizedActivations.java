package org.bitnet4j.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activations of one linear input, quantised once per token and shared by every row (and every
 * matrix that reads the same input, e.g. q, k and v).
 *
 * <p>BitNet b1.58 absmax quantisation, per token t: {@code s = 127 / max(max|x|, 1e-5)},
 * {@code q = clamp(rint(x * s), -128, 127)} (round half to even, as bitnet.cpp's nearbyintf).
 * A ternary matrix then gives {@code y = isum * (beta / s)} with {@code isum = sum(t * q)} exact.
 *
 * <p>Buffers are sized once for {@code maxTokens} and reused: no allocation in the token loop.
 */
public final class QuantizedActivations {
    /** floor of max|x|, as in BitNet's reference code */
    public static final float EPS = 1e-5f;

    public final int cols;
    public final int maxTokens;
    /** int8 codes, [maxTokens][cols] row-major */
    public final byte[] q;
    /** per-token scale s = 127 / max|x| */
    public final float[] scale;
    /** per-token sum of q (kernels that store codes as t+1 subtract it once) */
    public final int[] sum;
    private int tokens;

    public QuantizedActivations(int cols, int maxTokens) {
        this.cols = cols;
        this.maxTokens = maxTokens;
        this.q = new byte[Math.multiplyExact(cols, maxTokens)];
        this.scale = new float[maxTokens];
        this.sum = new int[maxTokens];
    }

    public int tokens() {
        return tokens;
    }

    /** Quantise nTok rows of x ([nTok][cols], row-major) into this buffer. */
    public QuantizedActivations quantize(float[] x, int nTok) {
        if (nTok > maxTokens) {
            throw new IllegalArgumentException(nTok + " tokens > buffer of " + maxTokens);
        }
        for (int t = 0; t < nTok; t++) {
            if (VECTOR) {
                quantizeRowVector(x, t * cols, cols, q, t * cols, scale, sum, t);
            } else {
                quantizeRow(x, t * cols, cols, q, t * cols, scale, sum, t);
            }
        }
        tokens = nTok;
        return this;
    }

    /** -Dbitnet4j.kernel=scalar selects the scalar quantiser too (both give identical bytes). */
    private static final boolean VECTOR =
            !"scalar".equalsIgnoreCase(System.getProperty(Matrices.Kernel.PROPERTY, "vector").trim());

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BS =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, FS.length() * 8)));
    /** 1.5 * 2^23: adding and subtracting it rounds |v| < 2^22 to an integer, ties to even, like rint */
    private static final float ROUND = 12582912f;

    /**
     * The vector version of {@link #quantizeRow}, byte for byte the same: max is exact in any order, the
     * products x * s are the same float multiplications, the round trick equals rint for |v| <= 2^22
     * (here |v| <= 127 up to one rounding) and the clamp happens in float before the conversion.
     */
    static void quantizeRowVector(float[] x, int xOff, int n, byte[] q, int qOff, float[] scale, int[] sum, int t) {
        int fl = FS.length();
        int bound = fl >= 8 ? FS.loopBound(n) : 0; // BS then has exactly fl byte lanes
        FloatVector vmax = FloatVector.zero(FS);
        int i = 0;
        for (; i < bound; i += fl) {
            vmax = vmax.max(FloatVector.fromArray(FS, x, xOff + i).abs());
        }
        float amax = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            amax = Math.max(amax, Math.abs(x[xOff + i]));
        }
        float s = 127f / Math.max(amax, EPS);
        IntVector vsum = IntVector.zero(VectorSpecies.of(int.class, FS.vectorShape()));
        for (i = 0; i < bound; i += fl) {
            FloatVector v = FloatVector.fromArray(FS, x, xOff + i).mul(s);
            v = v.add(ROUND).sub(ROUND).max(-128f).min(127f);
            IntVector c = (IntVector) v.convert(VectorOperators.F2I, 0);
            ((ByteVector) c.convertShape(VectorOperators.I2B, BS, 0)).intoArray(q, qOff + i);
            vsum = vsum.add(c);
        }
        int total = vsum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float v = (float) Math.rint(x[xOff + i] * s);
            int c = (int) Math.max(-128f, Math.min(127f, v));
            q[qOff + i] = (byte) c;
            total += c;
        }
        scale[t] = s;
        sum[t] = total;
    }

    /** The scalar definition; a vector version must give identical bytes. */
    static void quantizeRow(float[] x, int xOff, int n, byte[] q, int qOff, float[] scale, int[] sum, int t) {
        float amax = 0f;
        for (int i = 0; i < n; i++) {
            amax = Math.max(amax, Math.abs(x[xOff + i]));
        }
        float s = 127f / Math.max(amax, EPS);
        int total = 0;
        for (int i = 0; i < n; i++) {
            float v = (float) Math.rint(x[xOff + i] * s);
            int c = (int) Math.max(-128f, Math.min(127f, v));
            q[qOff + i] = (byte) c;
            total += c;
        }
        scale[t] = s;
        sum[t] = total;
    }
}
