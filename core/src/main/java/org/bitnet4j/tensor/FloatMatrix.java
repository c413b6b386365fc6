package org.bitnet4j.tensor;

import static org.bitnet4j.tensor.VectorOps.FL;
import static org.bitnet4j.tensor.VectorOps.FS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import jdk.incubator.vector.VectorOperators;
import org.bitnet4j.gguf.GgmlType;

/**
 * Matrices in float-valued formats (F32, F16, BF16, Q8_0, Q6_K): embeddings, output heads and models
 * that are not ternary.
 *
 * <p>Float activations: out = sum_c W[r][c] * x[c] with W the dequantised weights. The scalar reference
 * accumulates in double (in column order) and rounds once; the vector path accumulates FMAs in float
 * lanes, so the two differ by float rounding only.
 *
 * <p>int8 activations: the codes q are used as (exact) floats and the row sum is divided by s_t once,
 * which is sum_c W[r][c] * (q_c / s_t) up to rounding.
 */
final class FloatMatrix extends AbstractMatrix {
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final ThreadLocal<float[]> ACT = ThreadLocal.withInitial(() -> new float[0]);

    private final WeightFormat format;
    private final long total;

    FloatMatrix(GgmlType type, MemorySegment data, int rows, int cols, Matrices.Kernel kernel) {
        super(type, data, rows, cols, kernel);
        this.format = WeightFormat.of(type);
        this.total = (long) rows * cols;
    }

    @Override
    public boolean isTernary() {
        return false;
    }

    @Override
    public void dequantizeRow(int r, float[] out, int outOff) {
        format.dequantize(data, total, (long) r * cols, out, outOff, cols);
    }

    @Override
    public void matmul(float[] x, int nTok, float[] out, int r0, int r1) {
        check(x.length, nTok, out.length, r0, r1);
        rowsTimes(x, nTok, out, r0, r1, null);
    }

    @Override
    public void matmul(QuantizedActivations x, int nTok, float[] out, int r0, int r1) {
        check(x, nTok, out, r0, r1);
        int n = nTok * cols;
        float[] xf = ACT.get();
        if (xf.length < n) {
            xf = new float[n];
            ACT.set(xf);
        }
        for (int i = 0; i < n; i++) {
            xf[i] = x.q[i];
        }
        rowsTimes(xf, nTok, out, r0, r1, x.scale);
    }

    /** out[t][r] = row r . x[t], divided by divisors[t] when given */
    private void rowsTimes(float[] x, int nTok, float[] out, int r0, int r1, float[] divisors) {
        if (kernel == Matrices.Kernel.SCALAR) {
            float[] w = rowScratch(cols);
            for (int r = r0; r < r1; r++) {
                dequantizeRow(r, w, 0);
                for (int t = 0; t < nTok; t++) {
                    double sum = 0;
                    for (int c = 0; c < cols; c++) {
                        sum += (double) w[c] * x[t * cols + c];
                    }
                    out[t * rows + r] = divisors == null ? (float) sum : (float) (sum / divisors[t]);
                }
            }
            return;
        }
        boolean direct = nTok == 1 && (type == GgmlType.F32 || type == GgmlType.F16 || type == GgmlType.BF16
                || (type == GgmlType.Q8_0 && FL >= 8 && 32 % FL == 0));
        for (int r = r0; r < r1; r++) {
            if (direct) {
                // one token (decode): read the weights straight from the file, no row copy
                float v = directDot(r, x, 0);
                out[r] = divisors == null ? v : v / divisors[0];
            } else {
                // several tokens (prefill) or Q6_K: dequantise the row once, reuse it for every token
                float[] w = rowScratch(cols);
                dequantizeRowVector(r, w);
                for (int t = 0; t < nTok; t++) {
                    float v = VectorOps.dot(w, 0, x, t * cols, cols);
                    out[t * rows + r] = divisors == null ? v : v / divisors[t];
                }
            }
        }
    }

    /** row r decoded by the vector code (bit-identical to the format's scalar decoder; tested) */
    void dequantizeRowVector(int r, float[] w) {
        long e0 = (long) r * cols;
        int bound = FS.loopBound(cols);
        switch (type) {
            case F16 -> {
                int c = 0;
                for (; c < bound; c += FL) {
                    VectorOps.f16ToFloat(data, (e0 + c) * 2).intoArray(w, c);
                }
                for (; c < cols; c++) {
                    w[c] = Formats.fp16(data, (e0 + c) * 2);
                }
            }
            case BF16 -> {
                int c = 0;
                for (; c < bound; c += FL) {
                    VectorOps.bf16ToFloat(data, (e0 + c) * 2).intoArray(w, c);
                }
                for (; c < cols; c++) {
                    w[c] = BF16Format.toFloat(data.get(Formats.LE_SHORT, (e0 + c) * 2));
                }
            }
            case Q8_0 -> {
                if (FL < 8 || 32 % FL != 0) {
                    dequantizeRow(r, w, 0);
                    return;
                }
                long b0 = e0 / Q8_0Format.BLOCK;
                for (int b = 0; b < cols / Q8_0Format.BLOCK; b++) {
                    long off = (b0 + b) * Q8_0Format.BYTES;
                    float d = Formats.fp16(data, off);
                    for (int j = 0; j < Q8_0Format.BLOCK; j += FL) {
                        VectorOps.int8ToFloat(data, off + 2 + j).mul(d).intoArray(w, b * Q8_0Format.BLOCK + j);
                    }
                }
            }
            case Q6_K -> {
                if (16 % FL != 0) {
                    dequantizeRow(r, w, 0);
                    return;
                }
                long b0 = e0 / Q6_KFormat.BLOCK;
                for (int b = 0; b < cols / Q6_KFormat.BLOCK; b++) {
                    q6kBlock(data, (b0 + b) * Q6_KFormat.BYTES, w, b * Q6_KFormat.BLOCK);
                }
            }
            default -> dequantizeRow(r, w, 0);
        }
    }

    /**
     * One Q6_K block decoded 32 codes at a time in byte lanes (see {@link Q6_KFormat} for the layout), then
     * widened to floats and multiplied by d * scale: the same float product as the scalar decoder.
     */
    private static void q6kBlock(MemorySegment data, long off, float[] w, int o) {
        float d = Formats.fp16(data, off + Q6_KFormat.D);
        for (int h = 0; h < 2; h++) {
            ByteVector ql0 = ByteVector.fromMemorySegment(B32, data, off + 64 * h, VectorOps.LE);
            ByteVector ql1 = ByteVector.fromMemorySegment(B32, data, off + 64 * h + 32, VectorOps.LE);
            ByteVector qh = ByteVector.fromMemorySegment(B32, data, off + Q6_KFormat.QH + 32 * h, VectorOps.LE);
            for (int k = 0; k < 4; k++) {
                ByteVector lo = (k & 1) == 0 ? ql0 : ql1;
                lo = k < 2 ? lo.and((byte) 0xF) : lo.lanewise(VectorOperators.LSHR, 4);
                ByteVector hi = qh.lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3).lanewise(VectorOperators.LSHL, 4);
                ByteVector q = lo.or(hi).sub((byte) 32);
                int e = 128 * h + 32 * k;
                for (int p = 0; p < 32 / FL; p++) {
                    int sub = (e + p * FL) / 16;
                    float dsc = d * data.get(ValueLayout.JAVA_BYTE, off + Q6_KFormat.SCALES + sub);
                    ((FloatVector) q.convertShape(VectorOperators.B2F, FS, p)).mul(dsc).intoArray(w, o + e + p * FL);
                }
            }
        }
    }

    /** row r . x[xOff ..], weights read from the mapped tensor */
    private float directDot(int r, float[] x, int xOff) {
        long e0 = (long) r * cols;
        FloatVector acc = FloatVector.zero(FS);
        FloatVector acc1 = acc;
        FloatVector acc2 = acc;
        FloatVector acc3 = acc;
        int bound = FS.loopBound(cols);
        int c = 0;
        float tail = 0f;
        switch (type) {
            case F32 -> {
                // four independent accumulators hide the FMA latency; combined in a fixed order below
                for (; c + 4 * FL <= cols; c += 4 * FL) {
                    long o = (e0 + c) * 4;
                    acc = FloatVector.fromMemorySegment(FS, data, o, VectorOps.LE).fma(FloatVector.fromArray(FS, x, xOff + c), acc);
                    acc1 = FloatVector.fromMemorySegment(FS, data, o + 4L * FL, VectorOps.LE).fma(FloatVector.fromArray(FS, x, xOff + c + FL), acc1);
                    acc2 = FloatVector.fromMemorySegment(FS, data, o + 8L * FL, VectorOps.LE).fma(FloatVector.fromArray(FS, x, xOff + c + 2 * FL), acc2);
                    acc3 = FloatVector.fromMemorySegment(FS, data, o + 12L * FL, VectorOps.LE).fma(FloatVector.fromArray(FS, x, xOff + c + 3 * FL), acc3);
                }
                for (; c < bound; c += FL) {
                    FloatVector w = FloatVector.fromMemorySegment(FS, data, (e0 + c) * 4, VectorOps.LE);
                    acc = w.fma(FloatVector.fromArray(FS, x, xOff + c), acc);
                }
                for (; c < cols; c++) {
                    tail = Math.fma(data.get(Formats.LE_FLOAT, (e0 + c) * 4), x[xOff + c], tail);
                }
            }
            case F16 -> {
                // four independent accumulators hide the FMA latency; combined in a fixed order below
                for (; c + 4 * FL <= cols; c += 4 * FL) {
                    long o = (e0 + c) * 2;
                    acc = VectorOps.f16ToFloat(data, o).fma(FloatVector.fromArray(FS, x, xOff + c), acc);
                    acc1 = VectorOps.f16ToFloat(data, o + 2L * FL).fma(FloatVector.fromArray(FS, x, xOff + c + FL), acc1);
                    acc2 = VectorOps.f16ToFloat(data, o + 4L * FL).fma(FloatVector.fromArray(FS, x, xOff + c + 2 * FL), acc2);
                    acc3 = VectorOps.f16ToFloat(data, o + 6L * FL).fma(FloatVector.fromArray(FS, x, xOff + c + 3 * FL), acc3);
                }
                for (; c < bound; c += FL) {
                    acc = VectorOps.f16ToFloat(data, (e0 + c) * 2).fma(FloatVector.fromArray(FS, x, xOff + c), acc);
                }
                for (; c < cols; c++) {
                    tail = Math.fma(Formats.fp16(data, (e0 + c) * 2), x[xOff + c], tail);
                }
            }
            case BF16 -> {
                for (; c + 4 * FL <= cols; c += 4 * FL) {
                    long o = (e0 + c) * 2;
                    acc = VectorOps.bf16ToFloat(data, o).fma(FloatVector.fromArray(FS, x, xOff + c), acc);
                    acc1 = VectorOps.bf16ToFloat(data, o + 2L * FL).fma(FloatVector.fromArray(FS, x, xOff + c + FL), acc1);
                    acc2 = VectorOps.bf16ToFloat(data, o + 4L * FL).fma(FloatVector.fromArray(FS, x, xOff + c + 2 * FL), acc2);
                    acc3 = VectorOps.bf16ToFloat(data, o + 6L * FL).fma(FloatVector.fromArray(FS, x, xOff + c + 3 * FL), acc3);
                }
                for (; c < bound; c += FL) {
                    acc = VectorOps.bf16ToFloat(data, (e0 + c) * 2).fma(FloatVector.fromArray(FS, x, xOff + c), acc);
                }
                for (; c < cols; c++) {
                    tail = Math.fma(BF16Format.toFloat(data.get(Formats.LE_SHORT, (e0 + c) * 2)), x[xOff + c], tail);
                }
            }
            case Q8_0 -> {
                long b0 = e0 / Q8_0Format.BLOCK;
                for (int b = 0; b < cols / Q8_0Format.BLOCK; b++) {
                    long off = (b0 + b) * Q8_0Format.BYTES;
                    float d = Formats.fp16(data, off);
                    for (int j = 0; j < Q8_0Format.BLOCK; j += FL) {
                        // W = q * d exactly as the dequantiser computes it, then FMA
                        FloatVector w = VectorOps.int8ToFloat(data, off + 2 + j).mul(d);
                        acc = w.fma(FloatVector.fromArray(FS, x, xOff + b * Q8_0Format.BLOCK + j), acc);
                    }
                }
            }
            default -> throw new IllegalStateException(type.toString());
        }
        return VectorOps.sumLanes(acc.add(acc1).add(acc2.add(acc3))) + tail;
    }
}
