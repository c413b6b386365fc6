package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/**
 * TQ2_0 weights (see {@link TQ2_0Format}): an fp16 scale per 256-block, in practice one value per tensor.
 * The vector kernel runs on a bit-plane repack ({@link TernaryPlanes}) made at construction; the scalar
 * reference decodes the file bytes.
 */
final class TQ2Matrix extends TernaryMatrix {
    private final TernaryPlanes planes;

    TQ2Matrix(MemorySegment data, int rows, int cols, Matrices.Kernel kernel) {
        super(GgmlType.TQ2_0, data, rows, cols, kernel, TQ2_0Format.BYTES, TQ2_0Format.D);
        if (kernel == Matrices.Kernel.VECTOR) {
            planes = TernaryPlanes.fromTQ2(data, rows, cols); // also refuses code 3
        } else {
            planes = null;
            long blocks = (long) rows * cols / TQ_BLOCK;
            for (long b = 0; b < blocks; b++) {
                TernaryPlanes.checkBytes(data, b * TQ2_0Format.BYTES, TQ2_0Format.D);
            }
        }
    }

    @Override
    int code(int r, int c) {
        long e = (long) r * cols + c;
        return TQ2_0Format.code(data, (e >>> 8) * TQ2_0Format.BYTES, (int) (e & 255));
    }

    @Override
    int vectorDot(int r, int c0, int c1, byte[] q, int qOff) {
        return planes.dot(r, c0, c1, q, qOff);
    }

    @Override
    boolean vectorMatmul(QuantizedActivations x, int nTok, float[] out, int r0, int r1) {
        planes.matmul(x, nTok, beta, out, r0, r1);
        return true;
    }

    @Override
    void vectorFloatMatmul(float[] x, int nTok, float[] out, int r0, int r1) {
        int perRow = cols / TQ_BLOCK;
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < nTok; t++) {
                float y;
                if (blockScales == null) {
                    y = beta * planes.dot(r, 0, cols, x, t * cols);
                } else {
                    y = 0f;
                    for (int b = 0; b < perRow; b++) {
                        y += blockScales[r * perRow + b] * planes.dot(r, b * TQ_BLOCK, (b + 1) * TQ_BLOCK, x, t * cols);
                    }
                }
                out[t * rows + r] = y;
            }
        }
    }
}
