package org.bitnet4j.train;

import org.bitnet4j.model.ThreadPool;

/**
 * BitNet b1.58's gated FFN activation {@code f = relu(g)^2 * u} (evaluated as the engine does: (r * r) * u).
 * Backward: {@code dg = dy * 2 r u} where g > 0 (else 0), {@code du = dy * r^2}.
 */
final class ReluSquaredGate {
    private ReluSquaredGate() {}

    static void forward(ThreadPool pool, int n, float[] g, float[] u, float[] f) {
        BitLinear.forRows(pool, n, 1, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float r = Math.max(g[i], 0f);
                f[i] = r * r * u[i];
            }
        });
    }

    static void backward(ThreadPool pool, int n, float[] g, float[] u, float[] dy, float[] dg, float[] du) {
        BitLinear.forRows(pool, n, 1, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float r = Math.max(g[i], 0f);
                float d = dy[i];
                dg[i] = d * 2f * r * u[i];
                du[i] = d * r * r;
            }
        });
    }
}
