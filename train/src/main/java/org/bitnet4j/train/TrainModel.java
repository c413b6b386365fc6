package org.bitnet4j.train;

import java.util.Arrays;
import org.bitnet4j.model.ThreadPool;

/**
 * The BitNet b1.58 transformer of {@link TrainConfig} with a hand-written backward pass, over a batch of sequences laid
 * out as one matrix of rows (row = sequence * seqLen + position):
 *
 * <pre>
 * x = E16[tokens]                                                              [N][D]
 * per layer:
 *   h = RMSNorm(x, attn_norm); q, k, v = BitLinear(h); RoPE(q, k)              [N][qD], [N][kvD]
 *   a = attention(q, k, v); a = RMSNorm(a, attn_sub_norm); x += BitLinear_o(a)
 *   h = RMSNorm(x, ffn_norm); f = relu(BitLinear_gate(h))^2 * BitLinear_up(h)  [N][F]
 *   f = RMSNorm(f, ffn_sub_norm); x += BitLinear_down(f)
 * logits = RMSNorm(x, output_norm) E16^T                                        [N][V]
 * </pre>
 *
 * E16 is the embedding rounded to fp16 (the type it is exported in; the latent copy stays float and receives the
 * gradient straight through, like the ternary weights), so the exported file computes what was trained.
 * With {@code ternary = false} neither weights, activations nor the embedding are quantised.
 *
 * <p>Call {@link #prepare} after every change of the parameters and before a forward pass: it quantises each matrix
 * once for all the rows that follow. Not thread-safe; it runs its own parallel loops on the pool.
 */
public final class TrainModel implements AutoCloseable {
    public final TrainConfig config;
    public final ParamLayout layout;
    private final ThreadPool pool;
    private final boolean ownsPool;
    private final Rope rope;
    private final boolean ternary;
    private final int D, F, V, qD, kvD;

    // per-step quantised weights
    private final BitLinear.Weight[][] w; // [layer][q, k, v, o, gate, up, down]
    private final float[] emb;            // [V][D] the embedding as the forward pass sees it
    private final float[] embT;           // [D][V]

    private Workspace ws;

    static final int Q = 0, K = 1, VV = 2, O = 3, GATE = 4, UP = 5, DOWN = 6;
    /** rows of logits materialised at once (the head is the largest activation) */
    private static final int HEAD_ROWS = 256;

    public TrainModel(TrainConfig c, int threads) {
        this(c, new ThreadPool(threads), true);
    }

    TrainModel(TrainConfig c, ThreadPool pool, boolean ownsPool) {
        this.config = c;
        this.layout = new ParamLayout(c);
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.ternary = c.ternary();
        this.D = c.hidden();
        this.F = c.ffn();
        this.V = c.vocab();
        this.qD = c.qDim();
        this.kvD = c.kvDim();
        this.rope = new Rope(c.headDim(), c.context(), TrainConfig.ROPE_THETA);
        w = new BitLinear.Weight[c.layers()][];
        for (int l = 0; l < c.layers(); l++) {
            ParamLayout.Block b = layout.blocks[l];
            w[l] = new BitLinear.Weight[7];
            int i = 0;
            for (ParamLayout.Tensor t : b.linears()) {
                w[l][i++] = new BitLinear.Weight(t.rows(), t.cols());
            }
        }
        emb = new float[V * D];
        embT = new float[V * D];
    }

    public int threads() {
        return pool.threads();
    }

    ThreadPool pool() {
        return pool;
    }

    /** Quantises every matrix of params for the forward passes that follow. */
    public void prepare(float[] params) {
        for (int l = 0; l < config.layers(); l++) {
            int i = 0;
            for (ParamLayout.Tensor t : layout.blocks[l].linears()) {
                BitLinear.quantizeWeight(pool, params, t.offset(), ternary, w[l][i++]);
            }
        }
        int eo = layout.embedding.offset();
        for (int i = 0; i < V * D; i++) {
            float e = params[eo + i];
            emb[i] = ternary ? Float.float16ToFloat(Float.floatToFloat16(e)) : e;
        }
        Gemm.transpose(pool, emb, 0, V, D, D, embT, 0, V);
    }

    /** The quantised matrix the forward pass uses (after {@link #prepare}): beta and t [rows][cols]. */
    BitLinear.Weight weight(int layer, int which) {
        return w[layer][which];
    }

    /** The embedding the forward pass uses (fp16-rounded in ternary mode), [V][D]. */
    float[] embedding() {
        return emb;
    }

    /**
     * Forward and backward over {@code batch} sequences of {@code seqLen} tokens.
     *
     * @param inputs  [batch * seqLen] token ids
     * @param targets [batch * seqLen] next-token ids (negative: not scored)
     * @param grad    gradient array (layout order), increased by d(mean loss)/d(params)
     * @return the mean loss over the scored targets (nats/token)
     */
    public double forwardBackward(float[] params, int[] inputs, int[] targets, int batch, int seqLen, float[] grad) {
        Workspace s = workspace(batch, seqLen);
        int scored = 0;
        for (int i = 0; i < batch * seqLen; i++) {
            scored += targets[i] >= 0 ? 1 : 0;
        }
        forward(params, inputs, s);
        double loss = head(params, targets, s, true, 1f / Math.max(1, scored), grad);
        backward(params, inputs, s, grad);
        return loss / Math.max(1, scored);
    }

    /**
     * Forward only: the sum of -log p(target) over the scored targets, with the log-softmax in double (the engine's
     * perplexity arithmetic).
     */
    public double nllSum(float[] params, int[] inputs, int[] targets, int batch, int seqLen) {
        Workspace s = workspace(batch, seqLen);
        forward(params, inputs, s);
        return head(params, targets, s, false, 0f, null);
    }

    /**
     * Mean negative log-likelihood of {@code tokens[1..]} given the preceding tokens, one sequence evaluated from
     * position 0 with the quantised forward pass ({@link #prepare} must have been called). This is what the engine's
     * perplexity of the exported file must reproduce.
     *
     * @param tokens 2 .. context + 1 token ids
     */
    public double meanNll(float[] params, int[] tokens) {
        int n = tokens.length - 1;
        if (n < 1 || n > config.context()) {
            throw new IllegalArgumentException("meanNll needs 2 .. " + (config.context() + 1) + " tokens, got " + tokens.length);
        }
        int[] in = Arrays.copyOf(tokens, n);
        int[] tg = Arrays.copyOfRange(tokens, 1, n + 1);
        return nllSum(params, in, tg, 1, n) / n;
    }

    private Workspace workspace(int batch, int seqLen) {
        if (seqLen > config.context()) {
            throw new IllegalArgumentException("sequence of " + seqLen + " tokens > context " + config.context());
        }
        if (ws == null || ws.batch != batch || ws.seqLen != seqLen) {
            ws = null; // let the old buffers go before allocating new ones
            ws = new Workspace(batch, seqLen);
        }
        return ws;
    }

    /** Every activation the backward pass needs, sized for one (batch, seqLen). */
    private final class Workspace {
        final int batch, seqLen, n;
        final Attention attention;
        final float[][] xIn, q1, Qm, Km, Vm, P, att, qa, x2, q2, G, U, f, qf;
        final float[][] inv1, s1, invA, sa, inv2, s2, invF, sf;
        final float[] x, xn, invO;
        // scratch
        final float[] tmpD, tmpQ, tmpF, dx, dD, dQ, dK, dV, dA, dG, dU, dF, dyT, logits, xnT, dEmbT;
        final double[] nll;

        Workspace(int batch, int seqLen) {
            this.batch = batch;
            this.seqLen = seqLen;
            this.n = batch * seqLen;
            int L = config.layers();
            attention = new Attention(batch, seqLen, config.heads(), config.kvHeads(), config.headDim(), pool.threads());
            xIn = new float[L][n * D];
            q1 = new float[L][n * D];
            Qm = new float[L][n * qD];
            Km = new float[L][n * kvD];
            Vm = new float[L][n * kvD];
            P = new float[L][batch * config.heads() * seqLen * seqLen];
            att = new float[L][n * qD];
            qa = new float[L][n * qD];
            x2 = new float[L][n * D];
            q2 = new float[L][n * D];
            G = new float[L][n * F];
            U = new float[L][n * F];
            f = new float[L][n * F];
            qf = new float[L][n * F];
            inv1 = new float[L][n];
            s1 = new float[L][n];
            invA = new float[L][n];
            sa = new float[L][n];
            inv2 = new float[L][n];
            s2 = new float[L][n];
            invF = new float[L][n];
            sf = new float[L][n];
            x = new float[n * D];
            xn = new float[n * D];
            invO = new float[n];
            tmpD = new float[n * D];
            tmpQ = new float[n * qD];
            tmpF = new float[n * F];
            dx = new float[n * D];
            dD = new float[n * D];
            dQ = new float[n * qD];
            dK = new float[n * kvD];
            dV = new float[n * kvD];
            dA = new float[n * qD];
            dG = new float[n * F];
            dU = new float[n * F];
            dF = new float[n * F];
            dyT = new float[n * Math.max(Math.max(D, F), qD)];
            int hr = Math.min(n, HEAD_ROWS);
            logits = new float[hr * V];
            xnT = new float[D * hr];
            dEmbT = new float[D * V];
            nll = new double[n];
        }
    }

    private void forward(float[] p, int[] tokens, Workspace s) {
        final int n = s.n;
        for (int r = 0; r < n; r++) {
            int t = tokens[r];
            if (t < 0 || t >= V) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary 0.." + (V - 1));
            }
            System.arraycopy(emb, t * D, s.x, r * D, D);                                // x = E16[token]
        }
        for (int l = 0; l < config.layers(); l++) {
            ParamLayout.Block b = layout.blocks[l];
            BitLinear.Weight[] W = w[l];
            System.arraycopy(s.x, 0, s.xIn[l], 0, n * D);
            RmsNorm.forward(pool, n, D, s.x, p, b.attnNorm().offset(), s.tmpD, s.inv1[l]);  // h = rmsnorm(x)
            BitLinear.quantizeActivations(pool, s.tmpD, n, D, ternary, s.q1[l], s.s1[l]);
            BitLinear.forward(pool, n, s.q1[l], s.s1[l], W[Q], s.Qm[l]);                   // q [N][qD]
            BitLinear.forward(pool, n, s.q1[l], s.s1[l], W[K], s.Km[l]);                   // k [N][kvD]
            BitLinear.forward(pool, n, s.q1[l], s.s1[l], W[VV], s.Vm[l]);                  // v [N][kvD]
            rope.apply(pool, s.Qm[l], n, config.heads(), s.seqLen, false);
            rope.apply(pool, s.Km[l], n, config.kvHeads(), s.seqLen, false);
            s.attention.forward(pool, s.Qm[l], s.Km[l], s.Vm[l], s.P[l], s.att[l]);        // att [N][qD]
            RmsNorm.forward(pool, n, qD, s.att[l], p, b.attnSubNorm().offset(), s.tmpQ, s.invA[l]);
            BitLinear.quantizeActivations(pool, s.tmpQ, n, qD, ternary, s.qa[l], s.sa[l]);
            BitLinear.forward(pool, n, s.qa[l], s.sa[l], W[O], s.tmpD);                   // o [N][D]
            add(s.x, s.tmpD, n * D);                                                       // x += o
            System.arraycopy(s.x, 0, s.x2[l], 0, n * D);
            RmsNorm.forward(pool, n, D, s.x, p, b.ffnNorm().offset(), s.tmpD, s.inv2[l]);
            BitLinear.quantizeActivations(pool, s.tmpD, n, D, ternary, s.q2[l], s.s2[l]);
            BitLinear.forward(pool, n, s.q2[l], s.s2[l], W[GATE], s.G[l]);                 // g [N][F]
            BitLinear.forward(pool, n, s.q2[l], s.s2[l], W[UP], s.U[l]);                   // u [N][F]
            ReluSquaredGate.forward(pool, n * F, s.G[l], s.U[l], s.f[l]);                  // f = relu(g)^2 u
            RmsNorm.forward(pool, n, F, s.f[l], p, b.ffnSubNorm().offset(), s.tmpF, s.invF[l]);
            BitLinear.quantizeActivations(pool, s.tmpF, n, F, ternary, s.qf[l], s.sf[l]);
            BitLinear.forward(pool, n, s.qf[l], s.sf[l], W[DOWN], s.tmpD);                 // d [N][D]
            add(s.x, s.tmpD, n * D);                                                       // x += d
        }
        RmsNorm.forward(pool, n, D, s.x, p, layout.outputNorm.offset(), s.xn, s.invO);    // xn = rmsnorm(x)
    }

    /**
     * logits = xn E16^T in blocks of rows, then the loss; with training, also d xn (into s.dD) and dE (into grad).
     *
     * @return the sum of the losses of the scored rows
     */
    private double head(float[] p, int[] targets, Workspace s, boolean train, float gradScale, float[] grad) {
        final int n = s.n;
        int eo = layout.embedding.offset();
        for (int r0 = 0; r0 < n; r0 += HEAD_ROWS) {
            int rows = Math.min(HEAD_ROWS, n - r0);
            Gemm.gemm(pool, rows, V, D, 1f, s.xn, r0 * D, D, embT, 0, V, s.logits, 0, V, false);   // [rows][V]
            if (!train) {
                CrossEntropy.nll(pool, rows, V, s.logits, targets, r0, s.nll, r0);
                continue;
            }
            CrossEntropy.forwardBackward(pool, rows, V, s.logits, targets, r0, s.nll, r0, gradScale); // dlogits
            Gemm.gemm(pool, rows, D, V, 1f, s.logits, 0, V, emb, 0, D, s.dD, r0 * D, D, false);     // dxn = dl E16
            // dE^T [D][V] += xn^T dl: the small operand is transposed, the big one is read as it is
            Gemm.transpose(s.xn, r0 * D, rows, D, D, s.xnT, 0, rows);
            Gemm.gemm(pool, D, V, rows, 1f, s.xnT, 0, rows, s.logits, 0, V, s.dEmbT, 0, V, r0 > 0);
        }
        if (train) {
            // grad_E += (dE^T)^T, blocked, rows of E split over threads
            BitLinear.forRows(pool, V, D, (v0, v1) -> {
                for (int v = v0; v < v1; v++) {
                    int g = eo + v * D;
                    for (int d = 0; d < D; d++) {
                        grad[g + d] += s.dEmbT[d * V + v];
                    }
                }
            });
        }
        double sum = 0;
        for (int r = 0; r < n; r++) {
            sum += s.nll[r];
        }
        return sum;
    }

    private void backward(float[] p, int[] tokens, Workspace s, float[] grad) {
        final int n = s.n;
        // final norm: s.dD holds d xn
        RmsNorm.backward(pool, n, D, s.x, s.invO, p, layout.outputNorm.offset(), s.dD, s.dx, false, grad,
                layout.outputNorm.offset());
        for (int l = config.layers() - 1; l >= 0; l--) {
            ParamLayout.Block b = layout.blocks[l];
            BitLinear.Weight[] W = w[l];
            // x_out = x2 + down(rmsnorm(f)): d(normalised f) from the down projection
            BitLinear.backward(pool, n, s.qf[l], s.sf[l], W[DOWN], s.dx, s.dF, false, grad, b.down().offset(), s.dyT);
            RmsNorm.backward(pool, n, F, s.f[l], s.invF[l], p, b.ffnSubNorm().offset(), s.dF, s.tmpF, false, grad,
                    b.ffnSubNorm().offset());                                               // tmpF = df
            ReluSquaredGate.backward(pool, n * F, s.G[l], s.U[l], s.tmpF, s.dG, s.dU);
            BitLinear.backward(pool, n, s.q2[l], s.s2[l], W[GATE], s.dG, s.dD, false, grad, b.gate().offset(), s.dyT);
            BitLinear.backward(pool, n, s.q2[l], s.s2[l], W[UP], s.dU, s.dD, true, grad, b.up().offset(), s.dyT);
            RmsNorm.backward(pool, n, D, s.x2[l], s.inv2[l], p, b.ffnNorm().offset(), s.dD, s.dx, true, grad,
                    b.ffnNorm().offset());                                                  // dx += through ffn_norm
            // x2 = xIn + o(rmsnorm(att))
            BitLinear.backward(pool, n, s.qa[l], s.sa[l], W[O], s.dx, s.dA, false, grad, b.o().offset(), s.dyT);
            RmsNorm.backward(pool, n, qD, s.att[l], s.invA[l], p, b.attnSubNorm().offset(), s.dA, s.tmpQ, false, grad,
                    b.attnSubNorm().offset());                                              // tmpQ = d att
            s.attention.backward(pool, s.Qm[l], s.Km[l], s.Vm[l], s.P[l], s.tmpQ, s.dQ, s.dK, s.dV);
            rope.apply(pool, s.dQ, n, config.heads(), s.seqLen, true);
            rope.apply(pool, s.dK, n, config.kvHeads(), s.seqLen, true);
            BitLinear.backward(pool, n, s.q1[l], s.s1[l], W[Q], s.dQ, s.dD, false, grad, b.q().offset(), s.dyT);
            BitLinear.backward(pool, n, s.q1[l], s.s1[l], W[K], s.dK, s.dD, true, grad, b.k().offset(), s.dyT);
            BitLinear.backward(pool, n, s.q1[l], s.s1[l], W[VV], s.dV, s.dD, true, grad, b.v().offset(), s.dyT);
            RmsNorm.backward(pool, n, D, s.xIn[l], s.inv1[l], p, b.attnNorm().offset(), s.dD, s.dx, true, grad,
                    b.attnNorm().offset());
        }
        // embedding lookup: dE[token] += dx, columns split over threads, rows in order
        int eo = layout.embedding.offset();
        BitLinear.forRows(pool, D, n, (c0, c1) -> {
            for (int r = 0; r < n; r++) {
                int base = eo + tokens[r] * D;
                for (int c = c0; c < c1; c++) {
                    grad[base + c] += s.dx[r * D + c];
                }
            }
        });
    }

    private static void add(float[] acc, float[] d, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += d[i];
        }
    }

    @Override
    public void close() {
        if (ownsPool) {
            pool.close();
        }
    }
}
