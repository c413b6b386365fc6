package org.bitnet4j.tensor;

import org.bitnet4j.gguf.GgmlType;

/**
 * A weight matrix W of shape [rows][cols] (GGUF dims [cols, rows]: cols is contiguous), as the forward
 * pass sees it. One implementation per storage format; each keeps its scalar reference beside its
 * fast path. Callers split work by output rows [r0, r1) so one pool of threads can share a matmul.
 *
 * <p>Outputs are token-major: {@code out[t * rows + r]}.
 */
public interface Matrix {
    int rows();

    int cols();

    GgmlType type();

    /** True when W = scale * T with T in {-1,0,+1}: the int8 path is then exact integer arithmetic. */
    boolean isTernary();

    /** Float activations: out[t*rows + r] = sum_c W[r][c] * x[t*cols + c], for t < nTok, r0 <= r < r1. */
    void matmul(float[] x, int nTok, float[] out, int r0, int r1);

    /**
     * int8 activations (BitNet's path): out[t*rows + r] = isum(r, t) * (beta / s_t) for ternary matrices,
     * where isum is the exact integer sum of t*q; non-ternary matrices use the dequantised q / s_t.
     */
    void matmul(QuantizedActivations x, int nTok, float[] out, int r0, int r1);

    /** Row r dequantised into out[outOff .. outOff+cols) (embedding lookups, reference tests). */
    void dequantizeRow(int r, float[] out, int outOff);

    /** Bytes of weight data this matrix reads per full matvec (for bandwidth figures). */
    long byteSize();
}
