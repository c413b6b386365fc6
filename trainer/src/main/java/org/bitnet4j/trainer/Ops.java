package org.bitnet4j.trainer;

/**
 * Forward and backward of each operation of the BitNet b1.58 block on row-major float arrays ([T][width]).
 * Forward passes follow the engine's arithmetic ({@code org.bitnet4j.model.Forward}) so that evaluation of
 * an exported model agrees with the trainer; backward passes accumulate (+=) into their gradient arrays.
 */
final class Ops {
    private Ops() {}

    /** out = x / sqrt(mean(x^2) + eps) * w per row; rinv[t] keeps 1/sqrt(...) for the backward pass. */
    static void rmsnorm(float[] x, int xOff, float[] w, int wOff, float[] out, int outOff, float[] rinv, int T, int D) {
        for (int t = 0; t < T; t++) {
            int o = t * D;
            double ss = 0;
            for (int i = 0; i < D; i++) {
                float e = x[xOff + o + i];
                ss += (double) e * e;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / D + TrainConfig.RMS_EPS));
            rinv[t] = inv;
            for (int i = 0; i < D; i++) {
                out[outOff + o + i] = x[xOff + o + i] * inv * w[wOff + i];
            }
        }
    }

    /**
     * y_i = x_i r w_i, r = (mean(x^2) + eps)^-1/2:  dw_i += dy_i x_i r,
     * dx_i += r dy_i w_i - x_i r^3 / D * sum_j dy_j w_j x_j.
     */
    static void rmsnormBackward(float[] dy, int dyOff, float[] x, int xOff, float[] w, int wOff, float[] rinv,
                                float[] dx, int dxOff, float[] dw, int dwOff, int T, int D) {
        for (int t = 0; t < T; t++) {
            int o = t * D;
            float r = rinv[t];
            double dot = 0;
            for (int i = 0; i < D; i++) {
                dot += (double) dy[dyOff + o + i] * w[wOff + i] * x[xOff + o + i];
            }
            float c = (float) (dot * r * r * r / D);
            for (int i = 0; i < D; i++) {
                float g = dy[dyOff + o + i];
                float xi = x[xOff + o + i];
                dw[dwOff + i] += g * xi * r;
                dx[dxOff + o + i] += r * g * w[wOff + i] - xi * c;
            }
        }
    }

    /** BitNet's per-token absmax int8 quantisation; q holds the integer codes as floats, s the scales. */
    static void quantize(float[] x, int xOff, float[] q, float[] s, int T, int D) {
        for (int t = 0; t < T; t++) {
            int o = xOff + t * D;
            float amax = 0f;
            for (int i = 0; i < D; i++) {
                amax = Math.max(amax, Math.abs(x[o + i]));
            }
            float sc = 127f / Math.max(amax, 1e-5f);
            s[t] = sc;
            for (int i = 0; i < D; i++) {
                q[t * D + i] = Math.max(-128f, Math.min(127f, (float) Math.rint(x[o + i] * sc)));
            }
        }
    }

    /** cos/sin tables [T][hd/2] exactly as the engine builds them (angle in double, rounded once). */
    static float[][] ropeTables(int T, int hd) {
        int half = hd / 2;
        float[] cos = new float[T * half], sin = new float[T * half];
        for (int p = 0; p < T; p++) {
            for (int i = 0; i < half; i++) {
                double a = p * Math.pow(TrainConfig.ROPE_THETA, -2.0 * i / hd);
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        }
        return new float[][] {cos, sin};
    }

    /** NEOX RoPE in place: pairs (i, i + hd/2) of every head of row t rotated by angle t * theta_i. */
    static void rope(float[] v, int T, int heads, int hd, float[] cos, float[] sin, boolean inverse) {
        int half = hd / 2, w = heads * hd;
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < heads; h++) {
                int o = t * w + h * hd;
                for (int i = 0; i < half; i++) {
                    float c = cos[t * half + i], s = inverse ? -sin[t * half + i] : sin[t * half + i];
                    float x0 = v[o + i], x1 = v[o + i + half];
                    v[o + i] = x0 * c - x1 * s;
                    v[o + i + half] = x0 * s + x1 * c;
                }
            }
        }
    }

    /**
     * Causal GQA attention. q [T][H*hd], k, v [T][KVH*hd], probs [H][T][T] (row t holds t+1 entries), out [T][H*hd].
     */
    static void attention(float[] q, float[] k, float[] v, float[] probs, float[] out, int T, int H, int KVH, int hd) {
        int qd = H * hd, kvd = KVH * hd, group = H / KVH;
        float scale = (float) (1.0 / Math.sqrt(hd));
        java.util.Arrays.fill(out, 0, T * qd, 0f);
        for (int h = 0; h < H; h++) {
            int kh = h / group;
            for (int t = 0; t < T; t++) {
                int po = (h * T + t) * T;
                int qo = t * qd + h * hd;
                float max = Float.NEGATIVE_INFINITY;
                for (int p = 0; p <= t; p++) {
                    float d = Kernels.dot(q, qo, k, p * kvd + kh * hd, hd) * scale;
                    probs[po + p] = d;
                    max = Math.max(max, d);
                }
                float sum = 0f;
                for (int p = 0; p <= t; p++) {
                    float e = (float) Math.exp(probs[po + p] - max);
                    probs[po + p] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int p = 0; p <= t; p++) {
                    float pr = probs[po + p] * inv;
                    probs[po + p] = pr;
                    Kernels.axpy(pr, v, p * kvd + kh * hd, out, qo, hd);
                }
            }
        }
    }

    /** Backward of {@link #attention}; dq, dk, dv accumulate. dp is scratch of at least T floats. */
    static void attentionBackward(float[] dout, float[] q, float[] k, float[] v, float[] probs, float[] dq, float[] dk,
                                  float[] dv, float[] dp, int T, int H, int KVH, int hd) {
        int qd = H * hd, kvd = KVH * hd, group = H / KVH;
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int h = 0; h < H; h++) {
            int kh = h / group;
            for (int t = 0; t < T; t++) {
                int po = (h * T + t) * T;
                int qo = t * qd + h * hd;
                double sum = 0;
                for (int p = 0; p <= t; p++) {
                    float d = Kernels.dot(dout, qo, v, p * kvd + kh * hd, hd);   // dP = dO . V
                    dp[p] = d;
                    sum += (double) d * probs[po + p];
                    Kernels.axpy(probs[po + p], dout, qo, dv, p * kvd + kh * hd, hd); // dV += P dO
                }
                float s = (float) sum;
                for (int p = 0; p <= t; p++) {
                    float ds = probs[po + p] * (dp[p] - s) * scale;       // softmax backward, then the scale
                    Kernels.axpy(ds, k, p * kvd + kh * hd, dq, qo, hd);
                    Kernels.axpy(ds, q, qo, dk, p * kvd + kh * hd, hd);
                }
            }
        }
    }

    /** f = relu(g)^2 * u */
    static void relu2Gate(float[] g, float[] u, float[] f, int n) {
        for (int i = 0; i < n; i++) {
            float r = Math.max(g[i], 0f);
            f[i] = r * r * u[i];
        }
    }

    static void relu2GateBackward(float[] df, float[] g, float[] u, float[] dg, float[] du, int n) {
        for (int i = 0; i < n; i++) {
            float r = Math.max(g[i], 0f);
            du[i] += df[i] * r * r;
            dg[i] += df[i] * u[i] * 2f * r;
        }
    }

    /**
     * Softmax cross-entropy of one row: returns -log p[target] (double) and, when grad != null, writes
     * (softmax - onehot) * gscale into grad.
     */
    static double crossEntropy(float[] logits, int off, int V, int target, float[] grad, int gOff, float gscale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < V; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < V; i++) {
            sum += Math.exp((double) logits[off + i] - max);
        }
        double lse = Math.log(sum);
        if (grad != null) {
            for (int i = 0; i < V; i++) {
                grad[gOff + i] = (float) (Math.exp((double) logits[off + i] - max - lse) * gscale);
            }
            grad[gOff + target] -= gscale;
        }
        return -((double) logits[off + target] - max - lse);
    }
}
