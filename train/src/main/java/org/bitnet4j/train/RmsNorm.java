package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;

/**
 * RMSNorm(x, w) = x / sqrt(mean(x^2) + eps) * w per row, in the engine's arithmetic (sum of squares in double, one
 * float reciprocal r per row, then {@code x * r * w}).
 *
 * <p>Backward, with xhat = x r and g = dy w: {@code dx = r (g - xhat mean(g xhat))}, {@code dw = sum_rows dy xhat}.
 */
final class RmsNorm {
    private RmsNorm() {}

    /**
     * @param x   [n][width]
     * @param w   weights at wOff [width]
     * @param y   [n][width] output (may be x)
     * @param inv [n] receives r per row (for backward)
     */
    static void forward(ThreadPool pool, int n, int width, float[] x, float[] w, int wOff, float[] y, float[] inv) {
        BitLinear.forRows(pool, n, width, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * width;
                double ss = 0;
                for (int i = 0; i < width; i++) {
                    float e = x[o + i];
                    ss += (double) e * e;
                }
                float ri = (float) (1.0 / Math.sqrt(ss / width + TrainConfig.RMS_EPS));
                inv[r] = ri;
                for (int i = 0; i < width; i++) {
                    y[o + i] = x[o + i] * ri * w[wOff + i];
                }
            }
        });
    }

    /**
     * @param dx  [n][width]: set to, or with accumulate increased by, the input gradient
     * @param dw  gradient array; dw[dwOff ..] += weight gradient
     */
    static void backward(ThreadPool pool, int n, int width, float[] x, float[] inv, float[] w, int wOff, float[] dy,
                         float[] dx, boolean accumulate, float[] dw, int dwOff) {
        BitLinear.forRows(pool, n, width, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * width;
                float ri = inv[r];
                double dot = 0;
                for (int i = 0; i < width; i++) {
                    dot += (double) dy[o + i] * w[wOff + i] * (x[o + i] * ri);
                }
                float mean = (float) (dot / width);
                for (int i = 0; i < width; i++) {
                    float xhat = x[o + i] * ri;
                    float g = ri * (dy[o + i] * w[wOff + i] - xhat * mean);
                    dx[o + i] = accumulate ? dx[o + i] + g : g;
                }
            }
        });
        // weight gradient: columns split over threads, each summing its columns over all rows in row order
        BitLinear.forRows(pool, width, n, (c0, c1) -> {
            for (int r = 0; r < n; r++) {
                int o = r * width;
                float ri = inv[r];
                for (int i = c0; i < c1; i++) {
                    dw[dwOff + i] += dy[o + i] * (x[o + i] * ri);
                }
            }
        });
    }
}
