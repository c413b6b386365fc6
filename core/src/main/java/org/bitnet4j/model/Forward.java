package org.bitnet4j.model;

import org.bitnet4j.tensor.Matrix;
import org.bitnet4j.tensor.QuantizedActivations;

/**
 * The forward pass, top to bottom, for a batch of rows. Each row is one token of some sequence at some
 * position with its own KV cache: a prompt prefill is n rows of one sequence at consecutive positions, a
 * continuous-batching decode step is one row per sequence. Keys and values of all rows are written before
 * attention runs, so rows of one sequence see each other causally.
 *
 * <p>Holds every scratch buffer (sized once for {@code maxBatch} rows): nothing is allocated per token.
 * Not thread-safe; one instance per decoding thread of control.
 */
public final class Forward {
    private final Model model;
    private final ModelConfig c;
    private final ThreadPool pool;
    public final int maxBatch;
    private final int maxContext;

    // activations, row-major [row][width]
    private final float[] x;      // [B][dim] residual stream
    private final float[] xb;     // [B][max(dim, qDim)] normalised input of a linear
    private final float[] q;      // [B][qDim]
    private final float[] k;      // [B][kvDim]
    private final float[] v;      // [B][kvDim]
    private final float[] att;    // [B][qDim] attention output
    private final float[] hb;     // [B][ffn] gate, then the FFN activation
    private final float[] hb2;    // [B][ffn] up
    private final float[] tmp;    // [B][dim] a projection's output before the residual add
    private final float[][] scores; // [thread][maxContext] attention scores
    private final QuantizedActivations qDim;  // inputs of width dim (q/k/v, gate/up)
    private final QuantizedActivations qAtt;  // inputs of width qDim (attn_output)
    private final QuantizedActivations qFfn;  // inputs of width ffn (ffn_down)
    private final float[] ropeCos;   // [maxContext][ropeDim/2]
    private final float[] ropeSin;

    public Forward(Model model, ThreadPool pool, int maxBatch, int maxContext) {
        this.model = model;
        this.c = model.config;
        this.pool = pool;
        this.maxBatch = maxBatch;
        this.maxContext = maxContext;
        int qd = c.qDim(), kvd = c.kvDim(), dim = c.dim(), ffn = c.ffnDim();
        x = new float[maxBatch * dim];
        xb = new float[maxBatch * Math.max(dim, qd)];
        q = new float[maxBatch * qd];
        k = new float[maxBatch * kvd];
        v = new float[maxBatch * kvd];
        att = new float[maxBatch * qd];
        hb = new float[maxBatch * ffn];
        hb2 = new float[maxBatch * ffn];
        tmp = new float[maxBatch * dim];
        scores = new float[pool.threads()][maxContext];
        qDim = new QuantizedActivations(dim, maxBatch);
        qAtt = new QuantizedActivations(qd, maxBatch);
        qFfn = new QuantizedActivations(ffn, maxBatch);
        int half = c.ropeDim() / 2;
        ropeCos = new float[maxContext * half];
        ropeSin = new float[maxContext * half];
        for (int p = 0; p < maxContext; p++) {
            for (int i = 0; i < half; i++) {
                // theta_i = base^(-2i/ropeDim), computed in double then rounded once
                double angle = p * Math.pow(c.ropeTheta(), -2.0 * i / c.ropeDim());
                ropeCos[p * half + i] = (float) Math.cos(angle);
                ropeSin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    public Model model() {
        return model;
    }

    /**
     * Evaluates n rows. Logits are written for rows with wantLogits[r] (or all rows when wantLogits is null),
     * in row order, packed: logits[j * vocab ...] for the j-th wanted row.
     *
     * @return the number of logit rows written
     */
    public int forward(int n, int[] tokens, int[] positions, KvCache[] caches, boolean[] wantLogits, float[] logits,
                       ActivationMode mode) {
        if (n < 1 || n > maxBatch) {
            throw new IllegalArgumentException("batch of " + n + " rows, buffers hold 1.." + maxBatch);
        }
        final int dim = c.dim(), qd = c.qDim(), kvd = c.kvDim(), ffn = c.ffnDim();
        for (int r = 0; r < n; r++) {
            int p = positions[r];
            if (p < 0 || p >= caches[r].contextLength || p >= maxContext) {
                throw new ModelException("position " + p + " is beyond the context of "
                        + Math.min(caches[r].contextLength, maxContext) + " tokens");
            }
            if (tokens[r] < 0 || tokens[r] >= c.vocab()) {
                throw new ModelException("token id " + tokens[r] + " is outside the vocabulary 0.." + (c.vocab() - 1));
            }
            model.embedding.dequantizeRow(tokens[r], x, r * dim);   // x[r] = token_embd[token]
        }
        boolean int8 = mode == ActivationMode.INT8;
        for (int l = 0; l < c.layers(); l++) {
            Layer L = model.layers[l];
            // ---- attention ----
            rmsnorm(xb, x, L.attnNorm(), n, dim);                            // xb = rmsnorm(x) [n][dim]
            QuantizedActivations in = quantizeIfNeeded(int8, xb, n, qDim, L.wq(), L.wk(), L.wv());
            matmul(L.wq(), in, xb, n, q, L.scales()[Layer.Q]);               // q = xb Wq^T   [n][qDim]
            matmul(L.wk(), in, xb, n, k, L.scales()[Layer.K]);               // k = xb Wk^T   [n][kvDim]
            matmul(L.wv(), in, xb, n, v, L.scales()[Layer.V]);               // v = xb Wv^T   [n][kvDim]
            for (int r = 0; r < n; r++) {
                rope(q, r * qd, c.heads(), positions[r]);
                rope(k, r * kvd, c.kvHeads(), positions[r]);
                System.arraycopy(k, r * kvd, caches[r].keys[l], positions[r] * kvd, kvd);
                System.arraycopy(v, r * kvd, caches[r].values[l], positions[r] * kvd, kvd);
            }
            attention(l, n, positions, caches);                              // att [n][qDim]
            if (L.attnSubNorm() != null) {
                rmsnorm(att, att, L.attnSubNorm(), n, qd);                   // att = rmsnorm(att, attn_sub_norm)
            }
            in = quantizeIfNeeded(int8, att, n, qAtt, L.wo());
            matmul(L.wo(), in, att, n, tmp, L.scales()[Layer.O]);            // tmp = att Wo^T [n][dim]
            add(x, tmp, n * dim);                                            // x += tmp
            // ---- feed-forward ----
            rmsnorm(xb, x, L.ffnNorm(), n, dim);                             // xb = rmsnorm(x, ffn_norm)
            in = quantizeIfNeeded(int8, xb, n, qDim, L.wGate(), L.wUp());
            matmul(L.wGate(), in, xb, n, hb, L.scales()[Layer.GATE]);        // hb  = xb Wgate^T [n][ffn]
            matmul(L.wUp(), in, xb, n, hb2, L.scales()[Layer.UP]);           // hb2 = xb Wup^T   [n][ffn]
            gatedActivation(n * ffn);                                        // hb = act(hb) * hb2
            if (L.ffnSubNorm() != null) {
                rmsnorm(hb, hb, L.ffnSubNorm(), n, ffn);                     // hb = rmsnorm(hb, ffn_sub_norm)
            }
            in = quantizeIfNeeded(int8, hb, n, qFfn, L.wDown());
            matmul(L.wDown(), in, hb, n, tmp, L.scales()[Layer.DOWN]);       // tmp = hb Wdown^T [n][dim]
            add(x, tmp, n * dim);
        }
        // ---- output head, only for the rows that want logits ----
        int m = 0;
        for (int r = 0; r < n; r++) {
            if (wantLogits == null || wantLogits[r]) {
                rmsnormRow(xb, m * dim, x, r * dim, model.outputNorm, dim);  // xb[m] = rmsnorm(x[r], output_norm)
                m++;
            }
        }
        final int rows = m;
        Matrix out = model.output;
        pool.forRange(out.rows(), 64, (r0, r1, t) -> out.matmul(xb, rows, logits, r0, r1)); // [m][vocab]
        return m;
    }

    /** BitLinear inputs are quantised once and shared by the matrices that read them. */
    private QuantizedActivations quantizeIfNeeded(boolean int8, float[] in, int n, QuantizedActivations qa, Matrix... readers) {
        if (!int8) {
            return null;
        }
        boolean any = c.arch().bitLinear;
        for (Matrix m : readers) {
            any |= m.isTernary();
        }
        if (!any) {
            return null;
        }
        return qa.quantize(in, n);
    }

    private void matmul(Matrix w, QuantizedActivations qa, float[] in, int n, float[] out, float scale) {
        if (qa != null && (c.arch().bitLinear || w.isTernary())) {
            pool.forRange(w.rows(), 16, (r0, r1, t) -> w.matmul(qa, n, out, r0, r1));
        } else {
            pool.forRange(w.rows(), 16, (r0, r1, t) -> w.matmul(in, n, out, r0, r1));
        }
        if (scale != 1f) {
            int total = n * w.rows();
            for (int i = 0; i < total; i++) {
                out[i] *= scale;
            }
        }
    }

    private void rmsnorm(float[] out, float[] in, float[] w, int n, int width) {
        for (int r = 0; r < n; r++) {
            rmsnormRow(out, r * width, in, r * width, w, width);
        }
    }

    /** out = in / sqrt(mean(in^2) + eps) * w; the sum of squares in double so long rows lose nothing. */
    private void rmsnormRow(float[] out, int outOff, float[] in, int inOff, float[] w, int width) {
        double ss = 0;
        for (int i = 0; i < width; i++) {
            float e = in[inOff + i];
            ss += (double) e * e;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / width + c.rmsEps()));
        for (int i = 0; i < width; i++) {
            out[outOff + i] = in[inOff + i] * inv * w[i];
        }
    }

    /** Rotates the first ropeDim dimensions of each head of one row by its position. */
    private void rope(float[] vec, int off, int nHeads, int pos) {
        int hd = c.headDim(), half = c.ropeDim() / 2;
        int base = pos * half;
        boolean neox = c.arch().rope == Architecture.RopeStyle.NEOX;
        for (int h = 0; h < nHeads; h++) {
            int o = off + h * hd;
            for (int i = 0; i < half; i++) {
                int a = neox ? o + i : o + 2 * i;          // NEOX pairs (i, i+d/2); NORMAL pairs (2i, 2i+1)
                int b = neox ? o + i + half : o + 2 * i + 1;
                float cos = ropeCos[base + i], sin = ropeSin[base + i];
                float x0 = vec[a], x1 = vec[b];
                vec[a] = x0 * cos - x1 * sin;
                vec[b] = x0 * sin + x1 * cos;
            }
        }
    }

    /** Causal grouped-query attention, one task per (row, head). */
    private void attention(int layer, int n, int[] positions, KvCache[] caches) {
        final int hd = c.headDim(), qd = c.qDim(), kvd = c.kvDim();
        final int group = c.heads() / c.kvHeads();
        final float scale = (float) (1.0 / Math.sqrt(hd));
        pool.run(n * c.heads(), (task, thread) -> {
            int r = task / c.heads(), h = task % c.heads();
            int kvh = h / group;                                  // query head h reads kv head h / group
            float[] keys = caches[r].keys[layer], vals = caches[r].values[layer];
            float[] s = scores[thread];
            int len = positions[r] + 1;
            int qo = r * qd + h * hd;
            float max = Float.NEGATIVE_INFINITY;
            for (int p = 0; p < len; p++) {
                int ko = p * kvd + kvh * hd;
                float dot = 0f;
                for (int i = 0; i < hd; i++) {
                    dot += q[qo + i] * keys[ko + i];
                }
                dot *= scale;
                s[p] = dot;
                max = Math.max(max, dot);
            }
            float sum = 0f;
            for (int p = 0; p < len; p++) {
                float e = (float) Math.exp(s[p] - max);
                s[p] = e;
                sum += e;
            }
            float inv = 1f / sum;
            int ao = r * qd + h * hd;
            for (int i = 0; i < hd; i++) {
                att[ao + i] = 0f;
            }
            for (int p = 0; p < len; p++) {
                float w = s[p] * inv;
                int vo = p * kvd + kvh * hd;
                for (int i = 0; i < hd; i++) {
                    att[ao + i] += w * vals[vo + i];
                }
            }
        });
    }

    private void gatedActivation(int total) {
        if (c.arch().ffn == Architecture.Ffn.RELU2) {
            for (int i = 0; i < total; i++) {
                float g = Math.max(hb[i], 0f);
                hb[i] = g * g * hb2[i];                  // relu(g)^2 * u
            }
        } else {
            for (int i = 0; i < total; i++) {
                float g = hb[i];
                hb[i] = g / (1f + (float) Math.exp(-g)) * hb2[i];   // silu(g) * u
            }
        }
    }

    private static void add(float[] acc, float[] d, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += d[i];
        }
    }
}
