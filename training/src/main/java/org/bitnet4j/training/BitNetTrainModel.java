package org.bitnet4j.training;

import static org.bitnet4j.training.Ops.axpy;
import static org.bitnet4j.training.Ops.matmul;
import static org.bitnet4j.training.Ops.matmulBackward;

import java.util.Arrays;

/**
 * Forward and backward of the BitNet b1.58 transformer for one sequence, the math of the engine's int8 path:
 *
 * <pre>
 * x = E[tokens]                                                   [T][D]
 * per layer: h = rmsnorm(x) ; q,k,v = BitLinear(h) ; rope(q,k) ; a = attention(q,k,v) ; a = rmsnorm(a, sub)
 *            x += BitLinear_o(a) ; h = rmsnorm(x) ; f = relu(BitLinear_gate(h))^2 * BitLinear_up(h)
 *            f = rmsnorm(f, sub) ; x += BitLinear_down(f)
 * logits = rmsnorm(x) E^T                                         [T][V]
 * </pre>
 *
 * BitLinear(x) = (beta / s) * sum(t * q) with ternary t = RoundClip(W / beta) and per-token int8 q = rint(x * s),
 * s = 127 / max|x|, computed here as (q / s) . (beta * t) in float. Backward is the straight-through estimator:
 * the quantisers pass gradients unchanged, so dx = dy . (beta t) and dW = dy^T . (q / s).
 *
 * <p>With {@code quantize = false} the linears are plain float matmuls (for finite-difference gradient checks).
 */
final class BitNetTrainModel {
    final TrainConfig c;
    final Layout lay;
    final boolean quantize;
    private final float[] ropeCos, ropeSin;

    BitNetTrainModel(TrainConfig c, boolean quantize) {
        this.c = c;
        this.lay = new Layout(c);
        this.quantize = quantize;
        int half = c.headDim() / 2;
        ropeCos = new float[c.context() * half];
        ropeSin = new float[c.context() * half];
        for (int p = 0; p < c.context(); p++) {
            for (int i = 0; i < half; i++) {
                // exactly as the engine's Forward computes its table
                double angle = p * Math.pow(500000f, -2.0 * i / c.headDim());
                ropeCos[p * half + i] = (float) Math.cos(angle);
                ropeSin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /**
     * The weights the forward pass uses: the latent ones with every projection replaced by beta * t. Also returns
     * the per-tensor beta (indexed like lay.tensors) for export.
     */
    float[] effectiveWeights(float[] w, float[] betas) {
        float[] e = w.clone();
        if (!quantize) {
            return e;
        }
        for (int i = 0; i < lay.tensors.size(); i++) {
            Layout.Tensor t = lay.tensors.get(i);
            if (t.kind() != Layout.Kind.LINEAR) {
                continue;
            }
            double sum = 0;
            for (int j = 0; j < t.size(); j++) {
                sum += Math.abs(w[t.offset() + j]);
            }
            // beta is stored as it will be in the file: TQ2_0 keeps an fp16 copy, so use an fp16-exact beta everywhere
            float beta = Float.float16ToFloat(Float.floatToFloat16((float) (sum / t.size())));
            if (beta <= 0f) {
                beta = Float.float16ToFloat(Float.floatToFloat16(1e-4f));
            }
            betas[i] = beta;
            for (int j = 0; j < t.size(); j++) {
                e[t.offset() + j] = beta * ternary(w[t.offset() + j], beta);
            }
        }
        return e;
    }

    /** RoundClip(w / beta, -1, 1), round half to even (as the exporter's encoders do) */
    static int ternary(float w, float beta) {
        return (int) Math.max(-1, Math.min(1, Math.rint(w / beta)));
    }

    /** Activations of one sequence kept for the backward pass. */
    final class Acts {
        final int T;
        final int[] tokens;
        final float[][] xIn, hN, hQ, q, k, v, att, aN, aQ, x2, h2N, h2Q, g, u, f, fN, fQ, probs;
        final float[][] r1, r2, r3, r4; // 1 / rms per token of the four norms
        final float[] xFinal, xfN, rF, logits;

        Acts(int T) {
            this.T = T;
            int L = c.layers(), D = c.dim(), Q = c.qDim(), KV = c.kvDim(), F = c.ffn();
            tokens = new int[T];
            xIn = new float[L][T * D];
            hN = new float[L][T * D];
            hQ = new float[L][T * D];
            q = new float[L][T * Q];
            k = new float[L][T * KV];
            v = new float[L][T * KV];
            att = new float[L][T * Q];
            aN = new float[L][T * Q];
            aQ = new float[L][T * Q];
            x2 = new float[L][T * D];
            h2N = new float[L][T * D];
            h2Q = new float[L][T * D];
            g = new float[L][T * F];
            u = new float[L][T * F];
            f = new float[L][T * F];
            fN = new float[L][T * F];
            fQ = new float[L][T * F];
            probs = new float[L][c.heads() * T * T];
            r1 = new float[L][T];
            r2 = new float[L][T];
            r3 = new float[L][T];
            r4 = new float[L][T];
            xFinal = new float[T * D];
            xfN = new float[T * D];
            rF = new float[T];
            logits = new float[T * c.vocab()];
        }
    }

    Acts newActs(int T) {
        return new Acts(T);
    }

    /** Forward of tokens[0..T): fills a.logits [T][V]. */
    void forward(float[] w, int[] tokens, Acts a) {
        int T = a.T, D = c.dim(), Q = c.qDim(), KV = c.kvDim(), F = c.ffn(), V = c.vocab();
        System.arraycopy(tokens, 0, a.tokens, 0, T);
        float[] x = new float[T * D];
        for (int t = 0; t < T; t++) {
            System.arraycopy(w, lay.embd.offset() + tokens[t] * D, x, t * D, D);
        }
        float[] tmp = new float[T * D];
        for (int l = 0; l < c.layers(); l++) {
            System.arraycopy(x, 0, a.xIn[l], 0, T * D);
            rmsnorm(a.hN[l], a.r1[l], x, w, lay.attnNorm[l].offset(), T, D);
            actQuant(a.hQ[l], a.hN[l], T, D);
            matmul(a.q[l], a.hQ[l], w, lay.wq[l].offset(), T, D, Q);
            matmul(a.k[l], a.hQ[l], w, lay.wk[l].offset(), T, D, KV);
            matmul(a.v[l], a.hQ[l], w, lay.wv[l].offset(), T, D, KV);
            for (int t = 0; t < T; t++) {
                rope(a.q[l], t * Q, c.heads(), t, false);
                rope(a.k[l], t * KV, c.kvHeads(), t, false);
            }
            attention(a.att[l], a.probs[l], a.q[l], a.k[l], a.v[l], T);
            rmsnorm(a.aN[l], a.r2[l], a.att[l], w, lay.attnSub[l].offset(), T, Q);
            actQuant(a.aQ[l], a.aN[l], T, Q);
            matmul(tmp, a.aQ[l], w, lay.wo[l].offset(), T, Q, D);
            for (int i = 0; i < T * D; i++) {
                x[i] += tmp[i];
            }
            System.arraycopy(x, 0, a.x2[l], 0, T * D);
            rmsnorm(a.h2N[l], a.r3[l], x, w, lay.ffnNorm[l].offset(), T, D);
            actQuant(a.h2Q[l], a.h2N[l], T, D);
            matmul(a.g[l], a.h2Q[l], w, lay.wg[l].offset(), T, D, F);
            matmul(a.u[l], a.h2Q[l], w, lay.wu[l].offset(), T, D, F);
            for (int i = 0; i < T * F; i++) {
                float r = Math.max(a.g[l][i], 0f);
                a.f[l][i] = r * r * a.u[l][i];
            }
            rmsnorm(a.fN[l], a.r4[l], a.f[l], w, lay.ffnSub[l].offset(), T, F);
            actQuant(a.fQ[l], a.fN[l], T, F);
            matmul(tmp, a.fQ[l], w, lay.wd[l].offset(), T, F, D);
            for (int i = 0; i < T * D; i++) {
                x[i] += tmp[i];
            }
        }
        System.arraycopy(x, 0, a.xFinal, 0, T * D);
        rmsnorm(a.xfN, a.rF, x, w, lay.outNorm.offset(), T, D);
        matmul(a.logits, a.xfN, w, lay.embd.offset(), T, D, V);
    }

    /**
     * Mean cross-entropy of predicting targets[t] at positions [from, T) and, when grad is not null, its gradient
     * with respect to the logits (scaled by {@code scale}) written into dLogits.
     */
    double crossEntropy(Acts a, int[] targets, int from, float[] dLogits, float scale) {
        int V = c.vocab();
        double loss = 0;
        for (int t = 0; t < a.T; t++) {
            int o = t * V;
            if (t < from) {
                if (dLogits != null) {
                    Arrays.fill(dLogits, o, o + V, 0f);
                }
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) {
                max = Math.max(max, a.logits[o + i]);
            }
            double sum = 0;
            for (int i = 0; i < V; i++) {
                sum += Math.exp((double) a.logits[o + i] - max);
            }
            loss += Math.log(sum) - (a.logits[o + targets[t]] - max);
            if (dLogits != null) {
                for (int i = 0; i < V; i++) {
                    dLogits[o + i] = (float) (Math.exp((double) a.logits[o + i] - max) / sum) * scale;
                }
                dLogits[o + targets[t]] -= scale;
            }
        }
        return loss;
    }

    /** Sum of -log p(targets[t]) for t in [from, to). */
    double crossEntropyRange(Acts a, int[] targets, int from, int to) {
        int V = c.vocab();
        double loss = 0;
        for (int t = from; t < to; t++) {
            int o = t * V;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) {
                max = Math.max(max, a.logits[o + i]);
            }
            double sum = 0;
            for (int i = 0; i < V; i++) {
                sum += Math.exp((double) a.logits[o + i] - max);
            }
            loss += Math.log(sum) - ((double) a.logits[o + targets[t]] - max);
        }
        return loss;
    }

    /** Backward from dLogits [T][V]; accumulates into grad (same layout as w). */
    void backward(float[] w, Acts a, float[] dLogits, float[] grad) {
        int T = a.T, D = c.dim(), Q = c.qDim(), KV = c.kvDim(), F = c.ffn(), V = c.vocab();
        float[] dxfN = new float[T * D];
        // tied output head: logits = xfN E^T
        matmulBackward(dxfN, grad, lay.embd.offset(), dLogits, a.xfN, w, lay.embd.offset(), T, D, V);
        float[] dx = new float[T * D];
        rmsnormBackward(dx, grad, lay.outNorm.offset(), dxfN, a.xFinal, a.rF, w, lay.outNorm.offset(), T, D);
        float[] dQin = new float[T * Math.max(D, Math.max(Q, F))];
        float[] dN = new float[T * Math.max(D, Math.max(Q, F))];
        float[] df = new float[T * F], dg = new float[T * F], du = new float[T * F];
        float[] dq = new float[T * Q], dk = new float[T * KV], dv = new float[T * KV], datt = new float[T * Q];
        for (int l = c.layers() - 1; l >= 0; l--) {
            // ---- FFN: x += Wd fQ ----
            Arrays.fill(dQin, 0, T * F, 0f);
            matmulBackward(dQin, grad, lay.wd[l].offset(), dx, a.fQ[l], w, lay.wd[l].offset(), T, F, D);
            Arrays.fill(df, 0f);
            rmsnormBackward(df, grad, lay.ffnSub[l].offset(), dQin, a.f[l], a.r4[l], w, lay.ffnSub[l].offset(), T, F);
            for (int i = 0; i < T * F; i++) {
                float r = Math.max(a.g[l][i], 0f);
                du[i] = df[i] * r * r;
                dg[i] = a.g[l][i] > 0f ? df[i] * a.u[l][i] * 2f * r : 0f;
            }
            Arrays.fill(dQin, 0, T * D, 0f);
            matmulBackward(dQin, grad, lay.wg[l].offset(), dg, a.h2Q[l], w, lay.wg[l].offset(), T, D, F);
            matmulBackward(dQin, grad, lay.wu[l].offset(), du, a.h2Q[l], w, lay.wu[l].offset(), T, D, F);
            rmsnormBackward(dx, grad, lay.ffnNorm[l].offset(), dQin, a.x2[l], a.r3[l], w, lay.ffnNorm[l].offset(), T, D);
            // ---- attention: x += Wo aQ ----
            Arrays.fill(dQin, 0, T * Q, 0f);
            matmulBackward(dQin, grad, lay.wo[l].offset(), dx, a.aQ[l], w, lay.wo[l].offset(), T, Q, D);
            Arrays.fill(datt, 0f);
            rmsnormBackward(datt, grad, lay.attnSub[l].offset(), dQin, a.att[l], a.r2[l], w, lay.attnSub[l].offset(), T, Q);
            Arrays.fill(dq, 0f);
            Arrays.fill(dk, 0f);
            Arrays.fill(dv, 0f);
            attentionBackward(dq, dk, dv, datt, a.probs[l], a.q[l], a.k[l], a.v[l], T);
            for (int t = 0; t < T; t++) {
                rope(dq, t * Q, c.heads(), t, true);
                rope(dk, t * KV, c.kvHeads(), t, true);
            }
            Arrays.fill(dQin, 0, T * D, 0f);
            matmulBackward(dQin, grad, lay.wq[l].offset(), dq, a.hQ[l], w, lay.wq[l].offset(), T, D, Q);
            matmulBackward(dQin, grad, lay.wk[l].offset(), dk, a.hQ[l], w, lay.wk[l].offset(), T, D, KV);
            matmulBackward(dQin, grad, lay.wv[l].offset(), dv, a.hQ[l], w, lay.wv[l].offset(), T, D, KV);
            rmsnormBackward(dx, grad, lay.attnNorm[l].offset(), dQin, a.xIn[l], a.r1[l], w, lay.attnNorm[l].offset(), T, D);
        }
        for (int t = 0; t < T; t++) {
            axpy(1f, dx, t * D, grad, lay.embd.offset() + a.tokens[t] * D, D);
        }
    }

    /** out = x / sqrt(mean(x^2) + eps) * w; saves 1/rms per row. Sum of squares in double, as the engine. */
    void rmsnorm(float[] out, float[] rInv, float[] x, float[] w, int wOff, int T, int n) {
        for (int t = 0; t < T; t++) {
            double ss = 0;
            for (int i = 0; i < n; i++) {
                float e = x[t * n + i];
                ss += (double) e * e;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / n + 1e-5f));
            rInv[t] = inv;
            for (int i = 0; i < n; i++) {
                out[t * n + i] = x[t * n + i] * inv * w[wOff + i];
            }
        }
    }

    /**
     * dx += d(rmsnorm)/dx . dOut, dw += dOut * x * r. With y_i = x_i r w_i, r = (mean x^2 + eps)^-1/2:
     * dx_j = r (dOut_j w_j) - x_j r^3 / n * sum_i dOut_i w_i x_i.
     */
    void rmsnormBackward(float[] dx, float[] dw, int dwOff, float[] dOut, float[] x, float[] rInv, float[] w, int wOff, int T,
                         int n) {
        for (int t = 0; t < T; t++) {
            float r = rInv[t];
            double dot = 0;
            for (int i = 0; i < n; i++) {
                float dy = dOut[t * n + i];
                dot += (double) dy * w[wOff + i] * x[t * n + i];
                dw[dwOff + i] += dy * x[t * n + i] * r;
            }
            float k = (float) (dot * r * r * r / n);
            for (int i = 0; i < n; i++) {
                dx[t * n + i] += r * dOut[t * n + i] * w[wOff + i] - x[t * n + i] * k;
            }
        }
    }

    /** Per-token absmax int8 fake quantisation: out = clamp(rint(x * s), -128, 127) / s; identity when not quantising. */
    void actQuant(float[] out, float[] x, int T, int n) {
        if (!quantize) {
            System.arraycopy(x, 0, out, 0, T * n);
            return;
        }
        for (int t = 0; t < T; t++) {
            float amax = 0f;
            for (int i = 0; i < n; i++) {
                amax = Math.max(amax, Math.abs(x[t * n + i]));
            }
            float s = 127f / Math.max(amax, 1e-5f);
            for (int i = 0; i < n; i++) {
                float q = Math.max(-128f, Math.min(127f, (float) Math.rint(x[t * n + i] * s)));
                out[t * n + i] = q / s;
            }
        }
    }

    /** NEOX rotation of every head of one row by position pos (inverse rotation for the backward pass). */
    void rope(float[] vec, int off, int nHeads, int pos, boolean inverse) {
        int hd = c.headDim(), half = hd / 2;
        for (int h = 0; h < nHeads; h++) {
            int o = off + h * hd;
            for (int i = 0; i < half; i++) {
                float cos = ropeCos[pos * half + i], sin = inverse ? -ropeSin[pos * half + i] : ropeSin[pos * half + i];
                float x0 = vec[o + i], x1 = vec[o + i + half];
                vec[o + i] = x0 * cos - x1 * sin;
                vec[o + i + half] = x0 * sin + x1 * cos;
            }
        }
    }

    /** Causal GQA attention; saves the probabilities [head][t][s]. */
    void attention(float[] out, float[] probs, float[] q, float[] k, float[] v, int T) {
        int hd = c.headDim(), Q = c.qDim(), KV = c.kvDim(), group = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        Arrays.fill(out, 0, T * Q, 0f);
        for (int h = 0; h < c.heads(); h++) {
            int kvh = h / group;
            for (int t = 0; t < T; t++) {
                int po = (h * T + t) * T;
                float max = Float.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    float d = 0f;
                    for (int i = 0; i < hd; i++) {
                        d += q[t * Q + h * hd + i] * k[s * KV + kvh * hd + i];
                    }
                    d *= scale;
                    probs[po + s] = d;
                    max = Math.max(max, d);
                }
                float sum = 0f;
                for (int s = 0; s <= t; s++) {
                    float e = (float) Math.exp(probs[po + s] - max);
                    probs[po + s] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int s = 0; s <= t; s++) {
                    probs[po + s] *= inv;
                    float p = probs[po + s];
                    for (int i = 0; i < hd; i++) {
                        out[t * Q + h * hd + i] += p * v[s * KV + kvh * hd + i];
                    }
                }
            }
        }
    }

    void attentionBackward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] probs, float[] q, float[] k, float[] v, int T) {
        int hd = c.headDim(), Q = c.qDim(), KV = c.kvDim(), group = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] dp = new float[T];
        for (int h = 0; h < c.heads(); h++) {
            int kvh = h / group;
            for (int t = 0; t < T; t++) {
                int po = (h * T + t) * T;
                double dot = 0;
                for (int s = 0; s <= t; s++) {
                    float d = 0f;
                    for (int i = 0; i < hd; i++) {
                        d += dOut[t * Q + h * hd + i] * v[s * KV + kvh * hd + i];
                        dv[s * KV + kvh * hd + i] += probs[po + s] * dOut[t * Q + h * hd + i];
                    }
                    dp[s] = d;
                    dot += (double) d * probs[po + s];
                }
                for (int s = 0; s <= t; s++) {
                    float ds = probs[po + s] * (dp[s] - (float) dot) * scale;
                    for (int i = 0; i < hd; i++) {
                        dq[t * Q + h * hd + i] += ds * k[s * KV + kvh * hd + i];
                        dk[s * KV + kvh * hd + i] += ds * q[t * Q + h * hd + i];
                    }
                }
            }
        }
    }
}
