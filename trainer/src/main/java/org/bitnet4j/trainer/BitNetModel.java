package org.bitnet4j.trainer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parameter layout and the forward / backward pass of one sequence of the bitnet-b1.58 architecture.
 * All parameters live in one float array (so AdamW, clipping, checkpoints and the per-thread gradient sums
 * are loops over one array); {@link #tensors} names each slice as the GGUF export does.
 *
 * <p>BitLinear: the latent weights W are ternarised once per step ({@link #quantizeWeights}) into
 * T = RoundClip(W / beta, -1, 1), beta = fp16(mean|W|) (fp16-exact so TQ2_0's fp16 block scale is the same
 * beta), activations per token to int8 codes q with scale s, and y = (T . q) * (beta / s), the engine's exact
 * expression (T . q is an exact integer in float). Backward is the straight-through estimator:
 * dx = dy . (beta T), dW = dy^T . (q / s).
 */
public final class BitNetModel {
    public enum Kind { EMBEDDING, NORM, TERNARY }

    /** One parameter slice: [rows][cols] row-major at offset; a vector has rows = 1. */
    public record Tensor(String name, int rows, int cols, int offset, Kind kind, int ternaryIndex) {
        public int size() {
            return rows * cols;
        }
    }

    public final TrainConfig c;
    public final List<Tensor> tensors = new ArrayList<>();
    public final int size;
    final Tensor embd, outNorm;
    final Tensor[][] layer; // per layer: attnNorm, q, k, v, attnSub, o, ffnNorm, gate, up, ffnSub, down
    static final int AN = 0, WQ = 1, WK = 2, WV = 3, AS = 4, WO = 5, FN = 6, WG = 7, WU = 8, FS = 9, WD = 10;
    final int ternaryCount;

    public BitNetModel(TrainConfig c) {
        this.c = c;
        int[] off = {0};
        int[] tern = {0};
        embd = add("token_embd.weight", c.vocab(), c.dim(), Kind.EMBEDDING, off, tern);
        outNorm = add("output_norm.weight", 1, c.dim(), Kind.NORM, off, tern);
        layer = new Tensor[c.layers()][];
        int D = c.dim(), KV = c.kvDim(), F = c.ffn();
        for (int l = 0; l < c.layers(); l++) {
            String b = "blk." + l + ".";
            layer[l] = new Tensor[] {
                    add(b + "attn_norm.weight", 1, D, Kind.NORM, off, tern),
                    add(b + "attn_q.weight", D, D, Kind.TERNARY, off, tern),
                    add(b + "attn_k.weight", KV, D, Kind.TERNARY, off, tern),
                    add(b + "attn_v.weight", KV, D, Kind.TERNARY, off, tern),
                    add(b + "attn_sub_norm.weight", 1, D, Kind.NORM, off, tern),
                    add(b + "attn_output.weight", D, D, Kind.TERNARY, off, tern),
                    add(b + "ffn_norm.weight", 1, D, Kind.NORM, off, tern),
                    add(b + "ffn_gate.weight", F, D, Kind.TERNARY, off, tern),
                    add(b + "ffn_up.weight", F, D, Kind.TERNARY, off, tern),
                    add(b + "ffn_sub_norm.weight", 1, F, Kind.NORM, off, tern),
                    add(b + "ffn_down.weight", D, F, Kind.TERNARY, off, tern)};
        }
        size = off[0];
        ternaryCount = tern[0];
    }

    private Tensor add(String name, int rows, int cols, Kind kind, int[] off, int[] tern) {
        Tensor t = new Tensor(name, rows, cols, off[0], kind, kind == Kind.TERNARY ? tern[0]++ : -1);
        tensors.add(t);
        off[0] = Math.addExact(off[0], rows * cols);
        return t;
    }

    public long ternaryParameters() {
        long n = 0;
        for (Tensor t : tensors) {
            if (t.kind == Kind.TERNARY) {
                n += t.size();
            }
        }
        return n;
    }

    /** Initial weights: N(0, 0.02) for matrices and embedding, 1 for norms; drawn from the seed alone. */
    public float[] init(long seed) {
        float[] p = new float[size];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (Tensor t : tensors) {
            for (int i = 0; i < t.size(); i++) {
                p[t.offset + i] = t.kind == Kind.NORM ? 1f : (float) (0.02 * rnd.nextGaussian());
            }
        }
        return p;
    }

    /** Forward weights of one step: ternary codes (as floats, in the ternary slots of tw) and betas. */
    public static final class Quantized {
        public final float[] tw;
        public final float[] beta;
        public final boolean int8;

        Quantized(float[] tw, float[] beta, boolean int8) {
            this.tw = tw;
            this.beta = beta;
            this.int8 = int8;
        }
    }

    /** beta = fp16(mean |W|) in double, then T = RoundClip(W / beta, -1, 1), round half to even. */
    public Quantized quantizeWeights(float[] p) {
        float[] tw = new float[size];
        float[] beta = new float[ternaryCount];
        for (Tensor t : tensors) {
            if (t.kind != Kind.TERNARY) {
                continue;
            }
            double s = 0;
            for (int i = 0; i < t.size(); i++) {
                s += Math.abs(p[t.offset + i]);
            }
            float b = Float.float16ToFloat(Float.floatToFloat16((float) (s / t.size())));
            beta[t.ternaryIndex] = b;
            for (int i = 0; i < t.size(); i++) {
                tw[t.offset + i] = org.bitnet4j.tensor.Ternary.ternarize(p[t.offset + i], b);
            }
        }
        return new Quantized(tw, beta, true);
    }

    /** The float path (no quantisation at all): used to test every backward against finite differences. */
    public Quantized floatWeights(float[] p) {
        float[] beta = new float[ternaryCount];
        Arrays.fill(beta, 1f);
        return new Quantized(p, beta, false);
    }

    /** Scratch for one sequence of up to T tokens: every activation the backward pass needs. */
    public final class Workspace {
        final int T;
        final float[][] x0, h1, hq1, s1, r1, q, k, v, probs, att, r2, a, aq, s2, x1, r3, h2, hq2, s3, g, u, f, r4, fn, fq, s4;
        final float[] xL, rOut, xf, logits;
        final float[] dx, dh, dq, dk, dv, datt, dF1, dF2, dF3, dys, dp, dlogits;
        final float[] cos, sin;

        Workspace(int T) {
            this.T = T;
            int Ly = c.layers(), D = c.dim(), KV = c.kvDim(), F = c.ffn(), H = c.heads();
            x0 = new float[Ly][T * D]; h1 = new float[Ly][T * D]; hq1 = new float[Ly][T * D]; s1 = new float[Ly][T];
            r1 = new float[Ly][T]; q = new float[Ly][T * D]; k = new float[Ly][T * KV]; v = new float[Ly][T * KV];
            probs = new float[Ly][H * T * T]; att = new float[Ly][T * D]; r2 = new float[Ly][T]; a = new float[Ly][T * D];
            aq = new float[Ly][T * D]; s2 = new float[Ly][T]; x1 = new float[Ly][T * D]; r3 = new float[Ly][T];
            h2 = new float[Ly][T * D]; hq2 = new float[Ly][T * D]; s3 = new float[Ly][T]; g = new float[Ly][T * F];
            u = new float[Ly][T * F]; f = new float[Ly][T * F]; r4 = new float[Ly][T]; fn = new float[Ly][T * F];
            fq = new float[Ly][T * F]; s4 = new float[Ly][T];
            xL = new float[T * D]; rOut = new float[T]; xf = new float[T * D]; logits = new float[T * c.vocab()];
            dx = new float[T * D]; dh = new float[T * D]; dq = new float[T * D]; dk = new float[T * KV]; dv = new float[T * KV];
            datt = new float[T * D]; dF1 = new float[T * F]; dF2 = new float[T * F]; dF3 = new float[T * F];
            dys = new float[T * Math.max(F, Math.max(D, c.vocab()))]; dp = new float[T];
            dlogits = new float[T * c.vocab()];
            float[][] cs = Ops.ropeTables(T, c.headDim());
            cos = cs[0];
            sin = cs[1];
        }

        /** Logits of the last forward pass, [T][vocab]. */
        public float[] logits() {
            return logits;
        }
    }

    public Workspace workspace(int T) {
        return new Workspace(T);
    }

    /** y [T][O] = BitLinear(x) with weight tensor w; xa holds codes (int8 mode) or x itself, s the scales. */
    void linear(Quantized qw, Tensor w, float[] xa, float[] s, int T, float[] y) {
        Kernels.matmulT(xa, 0, T, w.cols, qw.tw, w.offset, w.rows, y, 0);
        if (qw.int8) {
            float beta = qw.beta[w.ternaryIndex];
            for (int t = 0; t < T; t++) {
                float f = beta / s[t];                      // the engine's isum * (beta / s)
                for (int o = 0; o < w.rows; o++) {
                    y[t * w.rows + o] *= f;
                }
            }
        }
    }

    /** STE backward: dx += dy . (beta T);  dW += (dy / s)^T . q. Uses ws.dys as scratch. */
    void linearBackward(Quantized qw, Tensor w, float[] dy, float[] xa, float[] s, int T, float[] dx, float[] grad,
                                Workspace ws) {
        float beta = qw.beta[w.ternaryIndex];
        int O = w.rows, I = w.cols;
        float[] sc = ws.dys;
        for (int t = 0; t < T; t++) {
            for (int o = 0; o < O; o++) {
                sc[t * O + o] = dy[t * O + o] * beta;
            }
        }
        Kernels.matmulAcc(sc, 0, T, O, qw.tw, w.offset, I, dx, 0);
        for (int t = 0; t < T; t++) {
            float inv = qw.int8 ? 1f / s[t] : 1f;
            for (int o = 0; o < O; o++) {
                sc[t * O + o] = dy[t * O + o] * inv;
            }
        }
        Kernels.outerAcc(sc, 0, T, O, xa, 0, I, grad, w.offset);
    }

    private static void prepareInput(boolean int8, float[] x, float[] q, float[] s, int T, int D) {
        if (int8) {
            Ops.quantize(x, 0, q, s, T, D);
        } else {
            System.arraycopy(x, 0, q, 0, T * D);
            Arrays.fill(s, 0, T, 1f);
        }
    }

    /** Forward pass of tokens[0..T) at positions 0..T-1; logits land in ws.logits ([T][vocab]). */
    public void forward(float[] p, Quantized qw, int[] tokens, int T, Workspace ws) {
        int D = c.dim(), KV = c.kvDim(), F = c.ffn(), H = c.heads(), hd = c.headDim();
        boolean int8 = qw.int8;
        float[] x = ws.xL;
        for (int t = 0; t < T; t++) {
            System.arraycopy(p, embd.offset + tokens[t] * D, x, t * D, D);
        }
        for (int l = 0; l < c.layers(); l++) {
            Tensor[] L = layer[l];
            System.arraycopy(x, 0, ws.x0[l], 0, T * D);
            Ops.rmsnorm(x, 0, p, L[AN].offset, ws.h1[l], 0, ws.r1[l], T, D);
            prepareInput(int8, ws.h1[l], ws.hq1[l], ws.s1[l], T, D);
            linear(qw, L[WQ], ws.hq1[l], ws.s1[l], T, ws.q[l]);
            linear(qw, L[WK], ws.hq1[l], ws.s1[l], T, ws.k[l]);
            linear(qw, L[WV], ws.hq1[l], ws.s1[l], T, ws.v[l]);
            Ops.rope(ws.q[l], T, H, hd, ws.cos, ws.sin, false);
            Ops.rope(ws.k[l], T, c.kvHeads(), hd, ws.cos, ws.sin, false);
            Ops.attention(ws.q[l], ws.k[l], ws.v[l], ws.probs[l], ws.att[l], T, H, c.kvHeads(), hd);
            Ops.rmsnorm(ws.att[l], 0, p, L[AS].offset, ws.a[l], 0, ws.r2[l], T, D);
            prepareInput(int8, ws.a[l], ws.aq[l], ws.s2[l], T, D);
            linear(qw, L[WO], ws.aq[l], ws.s2[l], T, ws.dh);          // dh as scratch for the projection
            for (int i = 0; i < T * D; i++) {
                x[i] += ws.dh[i];
            }
            System.arraycopy(x, 0, ws.x1[l], 0, T * D);
            Ops.rmsnorm(x, 0, p, L[FN].offset, ws.h2[l], 0, ws.r3[l], T, D);
            prepareInput(int8, ws.h2[l], ws.hq2[l], ws.s3[l], T, D);
            linear(qw, L[WG], ws.hq2[l], ws.s3[l], T, ws.g[l]);
            linear(qw, L[WU], ws.hq2[l], ws.s3[l], T, ws.u[l]);
            Ops.relu2Gate(ws.g[l], ws.u[l], ws.f[l], T * F);
            Ops.rmsnorm(ws.f[l], 0, p, L[FS].offset, ws.fn[l], 0, ws.r4[l], T, F);
            prepareInput(int8, ws.fn[l], ws.fq[l], ws.s4[l], T, F);
            linear(qw, L[WD], ws.fq[l], ws.s4[l], T, ws.dh);
            for (int i = 0; i < T * D; i++) {
                x[i] += ws.dh[i];
            }
        }
        Ops.rmsnorm(x, 0, p, outNorm.offset, ws.xf, 0, ws.rOut, T, D);
        Kernels.matmulT(ws.xf, 0, T, D, p, embd.offset, c.vocab(), ws.logits, 0);
    }

    /**
     * Forward and backward of one sequence: cross-entropy of predicting targets[t] at every position,
     * gradients (scaled by gscale) added into grad. Returns the summed loss (nats).
     */
    public double forwardBackward(float[] p, Quantized qw, int[] tokens, int[] targets, int T, float gscale,
                                  float[] grad, Workspace ws) {
        forward(p, qw, tokens, T, ws);
        int V = c.vocab(), D = c.dim(), KV = c.kvDim(), F = c.ffn(), H = c.heads(), hd = c.headDim();
        boolean int8 = qw.int8;
        double loss = 0;
        for (int t = 0; t < T; t++) {
            loss += Ops.crossEntropy(ws.logits, t * V, V, targets[t], ws.dlogits, t * V, gscale);
        }
        // logits = xf . E^T
        Kernels.outerAcc(ws.dlogits, 0, T, V, ws.xf, 0, D, grad, embd.offset);
        float[] dxf = ws.dh;
        Arrays.fill(dxf, 0, T * D, 0f);
        Kernels.matmulAcc(ws.dlogits, 0, T, V, p, embd.offset, D, dxf, 0);
        float[] dx = ws.dx;
        Arrays.fill(dx, 0, T * D, 0f);
        Ops.rmsnormBackward(dxf, 0, ws.xL, 0, p, outNorm.offset, ws.rOut, dx, 0, grad, outNorm.offset, T, D);
        for (int l = c.layers() - 1; l >= 0; l--) {
            Tensor[] L = layer[l];
            // ---- FFN: x2 = x1 + down(fq); dx carries d x2 and becomes d x1 ----
            float[] dfq = ws.dF1;
            Arrays.fill(dfq, 0, T * F, 0f);
            linearBackward(qw, L[WD], dx, ws.fq[l], ws.s4[l], T, dfq, grad, ws);
            float[] df = ws.dF2;
            Arrays.fill(df, 0, T * F, 0f);
            Ops.rmsnormBackward(dfq, 0, ws.f[l], 0, p, L[FS].offset, ws.r4[l], df, 0, grad, L[FS].offset, T, F);
            float[] dg = ws.dF1, du = ws.dF3;
            Arrays.fill(dg, 0, T * F, 0f);
            Arrays.fill(du, 0, T * F, 0f);
            Ops.relu2GateBackward(df, ws.g[l], ws.u[l], dg, du, T * F);
            float[] dh2 = ws.dh;
            Arrays.fill(dh2, 0, T * D, 0f);
            linearBackward(qw, L[WG], dg, ws.hq2[l], ws.s3[l], T, dh2, grad, ws);
            linearBackward(qw, L[WU], du, ws.hq2[l], ws.s3[l], T, dh2, grad, ws);
            Ops.rmsnormBackward(dh2, 0, ws.x1[l], 0, p, L[FN].offset, ws.r3[l], dx, 0, grad, L[FN].offset, T, D);
            // ---- attention: x1 = x0 + o(aq); dx becomes d x0 ----
            float[] da = ws.dh;
            Arrays.fill(da, 0, T * D, 0f);
            linearBackward(qw, L[WO], dx, ws.aq[l], ws.s2[l], T, da, grad, ws);
            float[] datt = ws.datt;
            Arrays.fill(datt, 0, T * D, 0f);
            Ops.rmsnormBackward(da, 0, ws.att[l], 0, p, L[AS].offset, ws.r2[l], datt, 0, grad, L[AS].offset, T, D);
            Arrays.fill(ws.dq, 0, T * D, 0f);
            Arrays.fill(ws.dk, 0, T * KV, 0f);
            Arrays.fill(ws.dv, 0, T * KV, 0f);
            Ops.attentionBackward(datt, ws.q[l], ws.k[l], ws.v[l], ws.probs[l], ws.dq, ws.dk, ws.dv, ws.dp, T, H,
                    c.kvHeads(), hd);
            Ops.rope(ws.dq, T, H, hd, ws.cos, ws.sin, true);
            Ops.rope(ws.dk, T, c.kvHeads(), hd, ws.cos, ws.sin, true);
            float[] dh1 = ws.dh;
            Arrays.fill(dh1, 0, T * D, 0f);
            linearBackward(qw, L[WQ], ws.dq, ws.hq1[l], ws.s1[l], T, dh1, grad, ws);
            linearBackward(qw, L[WK], ws.dk, ws.hq1[l], ws.s1[l], T, dh1, grad, ws);
            linearBackward(qw, L[WV], ws.dv, ws.hq1[l], ws.s1[l], T, dh1, grad, ws);
            Ops.rmsnormBackward(dh1, 0, ws.x0[l], 0, p, L[AN].offset, ws.r1[l], dx, 0, grad, L[AN].offset, T, D);
        }
        for (int t = 0; t < T; t++) {
            int e = embd.offset + tokens[t] * D;
            for (int i = 0; i < D; i++) {
                grad[e + i] += dx[t * D + i];
            }
        }
        return loss;
    }
}
