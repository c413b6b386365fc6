package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;
import org.bitnet4j.tensor.QuantizedActivations;
import org.bitnet4j.tensor.Ternary;

/**
 * BitLinear of BitNet b1.58: {@code y = (beta / s) * sum_i t_i q_i} with
 * <ul>
 *   <li>weights: beta = mean|W| over the whole matrix (rounded to fp16 so that TQ2_0's fp16 block scale and I2_S's
 *       float32 scale both store it exactly), t = RoundClip(W / beta, -1, 1) by {@link Ternary#ternarize}, the same
 *       function the exporters' encoders use;</li>
 *   <li>activations, per token: s = 127 / max(max|x|, 1e-5), q = clamp(rint(x s), -128, 127), as
 *       {@link QuantizedActivations} (the engine's quantiser; a test checks they agree byte for byte).</li>
 * </ul>
 * The forward pass multiplies the integer-valued float matrices q [n][in] and t^T [in][out]: every partial sum is an
 * integer below 2^24, so the float product is the exact integer sum, and {@code y = isum * (beta / s)} is the
 * engine's {@link Ternary#output} expression, bit for bit.
 *
 * <p>Backward is the straight-through estimator of BitNet's training code ({@code x + (Q(x) - x).detach()} on both
 * operands): gradients flow as through y = Q(x) Q(W)^T with identity quantiser derivatives, so
 * {@code dx = dy (beta t)} and {@code dW = dy^T Q(x)} with Q(x) = q / s.
 *
 * <p>With {@code ternary = false} nothing is quantised (q = x, s = 1, t = W, beta = 1): an ordinary linear layer, used
 * by the float baseline and by the finite-difference tests.
 */
final class BitLinear {
    private BitLinear() {}

    /** fp16 stores the scale of TQ2_0 blocks; beta is kept on that grid so that every format holds it exactly */
    static float betaOf(float[] w, int off, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.abs(w[off + i]);
        }
        float mean = (float) Math.max(sum / n, QuantizedActivations.EPS);
        return Float.float16ToFloat(Float.floatToFloat16(mean));
    }

    /** A matrix as the forward pass uses it in one step: t [rows][cols], its transpose, and beta. */
    static final class Weight {
        final int rows, cols;
        final float[] t, tT;
        float beta;

        Weight(int rows, int cols) {
            this.rows = rows;
            this.cols = cols;
            this.t = new float[rows * cols];
            this.tT = new float[rows * cols];
        }

        /** The dequantised weight beta * t (what the exported file holds). */
        float[] dequantized() {
            float[] out = new float[t.length];
            for (int i = 0; i < t.length; i++) {
                out[i] = beta * t[i];
            }
            return out;
        }
    }

    /** Ternarises (or, in float mode, copies) the latent weight w[off ..] into wq. */
    static void quantizeWeight(ThreadPool pool, float[] w, int off, boolean ternary, Weight wq) {
        int n = wq.rows * wq.cols;
        if (ternary) {
            float beta = betaOf(w, off, n);
            wq.beta = beta;
            for (int i = 0; i < n; i++) {
                wq.t[i] = Ternary.ternarize(w[off + i], beta);
            }
        } else {
            wq.beta = 1f;
            System.arraycopy(w, off, wq.t, 0, n);
        }
        Gemm.transpose(pool, wq.t, 0, wq.rows, wq.cols, wq.cols, wq.tT, 0, wq.rows);
    }

    /**
     * Per-token absmax quantisation of x [n][cols] into q (integer values as float) and s; float mode copies x and sets
     * s = 1. The arithmetic is QuantizedActivations.quantizeRow's.
     */
    static void quantizeActivations(ThreadPool pool, float[] x, int n, int cols, boolean ternary, float[] q, float[] s) {
        if (!ternary) {
            System.arraycopy(x, 0, q, 0, n * cols);
            java.util.Arrays.fill(s, 0, n, 1f);
            return;
        }
        forRows(pool, n, cols, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                float amax = 0f;
                for (int i = 0; i < cols; i++) {
                    amax = Math.max(amax, Math.abs(x[o + i]));
                }
                float sc = 127f / Math.max(amax, QuantizedActivations.EPS);
                for (int i = 0; i < cols; i++) {
                    float v = (float) Math.rint(x[o + i] * sc);
                    q[o + i] = Math.max(-128f, Math.min(127f, v));
                }
                s[r] = sc;
            }
        });
    }

    /** y [n][rows] = (beta / s) * (q . t^T) */
    static void forward(ThreadPool pool, int n, float[] q, float[] s, Weight w, float[] y) {
        Gemm.gemm(pool, n, w.rows, w.cols, 1f, q, 0, w.cols, w.tT, 0, w.rows, y, 0, w.rows, false);
        final int rows = w.rows;
        final float beta = w.beta;
        forRows(pool, n, rows, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                float scale = beta / s[r];
                for (int o = r * rows, e = o + rows; o < e; o++) {
                    y[o] = y[o] * scale;
                }
            }
        });
    }

    /**
     * Straight-through backward.
     *
     * @param dx       [n][cols]: set to (or, with accumulateDx, increased by) dy . (beta t)
     * @param dW       gradient array, the matrix at dwOff [rows][cols] is increased by dy^T . (q / s)
     * @param scratch  at least rows * n floats
     */
    static void backward(ThreadPool pool, int n, float[] q, float[] s, Weight w, float[] dy, float[] dx,
                         boolean accumulateDx, float[] dW, int dwOff, float[] scratch) {
        Gemm.gemm(pool, n, w.cols, w.rows, w.beta, dy, 0, w.rows, w.t, 0, w.cols, dx, 0, w.cols, accumulateDx);
        // dyT[o][r] = dy[r][o] / s[r]: folds Q(x) = q / s into the left operand so that q stays integer
        final int rows = w.rows;
        Gemm.transpose(pool, dy, 0, n, rows, rows, scratch, 0, n);
        forRows(pool, rows, n, (o0, o1) -> {
            for (int o = o0; o < o1; o++) {
                for (int r = 0, i = o * n; r < n; r++, i++) {
                    scratch[i] = scratch[i] / s[r];
                }
            }
        });
        Gemm.gemm(pool, rows, w.cols, n, 1f, scratch, 0, n, q, 0, w.cols, dW, dwOff, w.cols, true);
    }

    @FunctionalInterface
    interface RowRange {
        void run(int r0, int r1);
    }

    /** Parallel loop over rows in chunks; each row is handled by one thread, so results do not depend on threads. */
    static void forRows(ThreadPool pool, int rows, int width, RowRange body) {
        if (pool == null || pool.threads() == 1 || (long) rows * width < 16384) {
            body.run(0, rows);
            return;
        }
        int grain = Math.max(1, 4096 / Math.max(1, width));
        pool.forRange(rows, grain, (r0, r1, t) -> body.run(r0, r1));
    }
}
