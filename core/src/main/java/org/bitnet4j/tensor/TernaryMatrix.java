package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/**
 * What the three ternary matrices share: the scale handling, the scalar reference (which decodes codes
 * straight from the file bytes through the format classes) and the output formula.
 *
 * <p>int8 activations: {@code out = Ternary.output(isum, beta, s_t)} with isum the exact integer sum of
 * t * q over the row. When the 256-blocks of a TQ tensor carry different fp16 scales d_b (no BitNet
 * export does; checked once here) the output is {@code (sum_b d_b * isum_b) / s_t}, the block sum in
 * float in block order.
 *
 * <p>Float activations: the scalar reference sums (double) W * x in column order (W = (code - 1) * d in
 * float) and rounds once; vector kernels may factor the scale out (beta * sum t * x, float lanes).
 */
abstract class TernaryMatrix extends AbstractMatrix {
    static final int TQ_BLOCK = 256;

    /** the per-tensor scale when uniform; NaN otherwise */
    final float beta;
    /** d_b per 256-block, [rows][cols / 256], only when the blocks disagree; else null */
    final float[] blockScales;

    /** I2_S: one float32 scale after the codes */
    TernaryMatrix(GgmlType type, MemorySegment data, int rows, int cols, Matrices.Kernel kernel) {
        super(type, data, rows, cols, kernel);
        this.beta = I2_SFormat.scale(data, (long) rows * cols);
        this.blockScales = null;
    }

    /** TQ formats: the fp16 d at dOffset of every bytesPerBlock-byte block */
    TernaryMatrix(GgmlType type, MemorySegment data, int rows, int cols, Matrices.Kernel kernel,
            int bytesPerBlock, int dOffset) {
        super(type, data, rows, cols, kernel);
        long nBlocks = (long) rows * cols / TQ_BLOCK;
        float first = Formats.fp16(data, dOffset);
        boolean uniform = true;
        for (long b = 1; b < nBlocks && uniform; b++) {
            // +0 and -0 agree; a NaN scale makes the tensor non-uniform (its blocks then give NaN)
            uniform = Formats.fp16(data, b * bytesPerBlock + dOffset) == first;
        }
        if (uniform) {
            this.beta = first;
            this.blockScales = null;
        } else {
            // only materialised when needed: n/64 bytes, small next to the weights
            float[] d = new float[Math.toIntExact(nBlocks)];
            for (int b = 0; b < d.length; b++) {
                d[b] = Formats.fp16(data, (long) b * bytesPerBlock + dOffset);
            }
            this.beta = Float.NaN;
            this.blockScales = d;
        }
    }

    @Override
    public final boolean isTernary() {
        return true;
    }

    /** True when one scale covers the whole tensor (the per-tensor formula applies). */
    public final boolean uniformScale() {
        return blockScales == null;
    }

    /** code t+1 in {0,1,2} of element c of row r, read from the file bytes (the reference decoder) */
    abstract int code(int r, int c);

    /** sum over c in [c0, c1) of t(r, c) * q[qOff + c]; the vector kernel; c0, c1 multiples of 256 */
    abstract int vectorDot(int r, int c0, int c1, byte[] q, int qOff);

    @Override
    public void dequantizeRow(int r, float[] out, int outOff) {
        WeightFormat.of(type).dequantize(data, (long) rows * cols, (long) r * cols, out, outOff, cols);
    }

    @Override
    public void matmul(QuantizedActivations x, int nTok, float[] out, int r0, int r1) {
        check(x, nTok, out, r0, r1);
        boolean vector = kernel == Matrices.Kernel.VECTOR;
        if (vector && blockScales == null && vectorMatmul(x, nTok, out, r0, r1)) {
            return;
        }
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < nTok; t++) {
                int qOff = t * cols;
                float y;
                if (blockScales == null) {
                    int isum = vector ? vectorDot(r, 0, cols, x.q, qOff) : scalarDot(r, 0, cols, x.q, qOff);
                    y = Ternary.output(isum, beta, x.scale[t]);
                } else {
                    int perRow = cols / TQ_BLOCK;
                    float acc = 0f;
                    for (int b = 0; b < perRow; b++) {
                        int c0 = b * TQ_BLOCK;
                        int isum = vector
                                ? vectorDot(r, c0, c0 + TQ_BLOCK, x.q, qOff)
                                : scalarDot(r, c0, c0 + TQ_BLOCK, x.q, qOff);
                        acc += blockScales[r * perRow + b] * (float) isum;
                    }
                    y = Ternary.blockOutput(acc, x.scale[t]);
                }
                out[t * rows + r] = y;
            }
        }
    }

    /** A whole-matrix vector kernel for the uniform-scale case; false when the subclass has none. */
    boolean vectorMatmul(QuantizedActivations x, int nTok, float[] out, int r0, int r1) {
        return false;
    }

    final int scalarDot(int r, int c0, int c1, byte[] q, int qOff) {
        int isum = 0;
        for (int c = c0; c < c1; c++) {
            isum += (code(r, c) - 1) * q[qOff + c];
        }
        return isum;
    }

    @Override
    public void matmul(float[] x, int nTok, float[] out, int r0, int r1) {
        check(x.length, nTok, out.length, r0, r1);
        if (kernel == Matrices.Kernel.VECTOR) {
            vectorFloatMatmul(x, nTok, out, r0, r1);
            return;
        }
        float[] w = rowScratch(cols);
        for (int r = r0; r < r1; r++) {
            dequantizeRow(r, w, 0);
            for (int t = 0; t < nTok; t++) {
                double sum = 0;
                for (int c = 0; c < cols; c++) {
                    sum += (double) w[c] * x[t * cols + c];
                }
                out[t * rows + r] = (float) sum;
            }
        }
    }

    /** float-activation vector kernel; this default dequantises each row once and reuses it per token */
    void vectorFloatMatmul(float[] x, int nTok, float[] out, int r0, int r1) {
        float[] w = rowScratch(cols);
        for (int r = r0; r < r1; r++) {
            dequantizeRow(r, w, 0);
            for (int t = 0; t < nTok; t++) {
                out[t * rows + r] = VectorOps.dot(w, 0, x, t * cols, cols);
            }
        }
    }
}
