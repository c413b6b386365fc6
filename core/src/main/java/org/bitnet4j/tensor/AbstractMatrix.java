package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/** Shape, argument checks and the scratch buffers every implementation shares. */
abstract class AbstractMatrix implements Matrix {
    final GgmlType type;
    final MemorySegment data;
    final int rows;
    final int cols;
    final Matrices.Kernel kernel;

    /** one dequantised row per thread, reused across calls (no allocation in the token loop) */
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    AbstractMatrix(GgmlType type, MemorySegment data, int rows, int cols, Matrices.Kernel kernel) {
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.kernel = kernel;
    }

    static float[] rowScratch(int n) {
        float[] a = ROW.get();
        if (a.length < n) {
            a = new float[n];
            ROW.set(a);
        }
        return a;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public GgmlType type() {
        return type;
    }

    @Override
    public long byteSize() {
        return type.byteSize((long) rows * cols);
    }

    public Matrices.Kernel kernel() {
        return kernel;
    }

    void check(int xLen, int nTok, int outLen, int r0, int r1) {
        if (nTok < 0 || r0 < 0 || r1 > rows || r0 > r1) {
            throw new IllegalArgumentException(type + " matrix [" + cols + ", " + rows + "]: rows [" + r0 + ", "
                    + r1 + ") for " + nTok + " tokens");
        }
        if ((long) nTok * cols > xLen || (long) nTok * rows > outLen) {
            throw new IllegalArgumentException(type + " matrix [" + cols + ", " + rows + "]: " + nTok
                    + " tokens need input " + (long) nTok * cols + " and output " + (long) nTok * rows
                    + ", got " + xLen + " and " + outLen);
        }
    }

    void check(QuantizedActivations x, int nTok, float[] out, int r0, int r1) {
        if (x.cols != cols) {
            throw new IllegalArgumentException(type + " matrix [" + cols + ", " + rows + "]: activations have "
                    + x.cols + " columns");
        }
        if (nTok > x.maxTokens) {
            throw new IllegalArgumentException(nTok + " tokens > activation buffer of " + x.maxTokens);
        }
        check(x.q.length, nTok, out.length, r0, r1);
    }

    @Override
    public String toString() {
        return type + " matrix [" + cols + ", " + rows + "] (" + kernel.name().toLowerCase() + ")";
    }
}
