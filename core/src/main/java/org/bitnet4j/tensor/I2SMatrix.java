package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;

/**
 * I2_S weights (see {@link I2_SFormat}): one float32 scale per tensor. The vector kernel runs on a bit-plane
 * repack ({@link TernaryPlanes}) made at construction; the scalar reference decodes the file bytes.
 */
final class I2SMatrix extends TernaryMatrix {
    private final TernaryPlanes planes;

    I2SMatrix(MemorySegment data, int rows, int cols, Matrices.Kernel kernel) {
        super(GgmlType.I2_S, data, rows, cols, kernel);
        if (kernel == Matrices.Kernel.VECTOR) {
            planes = TernaryPlanes.fromI2S(data, rows, cols); // also refuses code 3
        } else {
            planes = null;
            TernaryPlanes.checkBytes(data, 0, (long) rows * cols / 4);
        }
    }

    @Override
    int code(int r, int c) {
        return I2_SFormat.code(data, (long) r * cols + c);
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
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < nTok; t++) {
                out[t * rows + r] = beta * planes.dot(r, 0, cols, x, t * cols);
            }
        }
    }
}
