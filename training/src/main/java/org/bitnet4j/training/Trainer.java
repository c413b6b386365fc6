package org.bitnet4j.training;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;
import org.bitnet4j.model.ThreadPool;

/**
 * The training loop: AdamW (0.9, 0.95) on latent float weights, BitNet's two-stage learning rate and weight decay,
 * global-norm clipping. A step's batch is drawn from (seed, step) alone and the batch is split over threads in a
 * fixed way with per-thread gradients summed in thread order, so a run (and a resumed run) is bit-reproducible
 * for a given seed and thread count.
 */
public final class Trainer implements AutoCloseable {
    /** Progress callbacks (the CLI draws a progress bar). */
    public interface Listener {
        void step(int step, double loss, float lr, double tokensPerSecond);

        void eval(int step, double valLoss);
    }

    final TrainConfig c;
    final BitNetTrainModel model;
    final float[] w, m, v;
    final int[] train, val;
    final int bos;
    private final int threads;
    private final ThreadPool pool;
    private final float[][] grads;
    private final BitNetTrainModel.Acts[] acts;
    private final float[][] dLogits;
    int step;

    public Trainer(TrainConfig c, int[] train, int[] val, int bos, int threads) {
        this(c, train, val, bos, threads, true);
    }

    /** @param ternary false trains the same architecture in full precision (the papers' baseline) */
    public Trainer(TrainConfig c, int[] train, int[] val, int bos, int threads, boolean ternary) {
        this.c = c;
        this.bos = bos;
        this.model = new BitNetTrainModel(c, ternary);
        this.train = train;
        this.val = val;
        if (train.length < c.context() + 2) {
            throw new IllegalArgumentException("the training text has " + train.length + " tokens; it needs more than the context "
                    + c.context());
        }
        int n = model.lay.size;
        this.w = new float[n];
        this.m = new float[n];
        this.v = new float[n];
        this.threads = threads;
        this.pool = new ThreadPool(threads);
        this.grads = new float[threads][n];
        this.acts = new BitNetTrainModel.Acts[threads];
        this.dLogits = new float[threads][];
        for (int t = 0; t < threads; t++) {
            acts[t] = model.newActs(c.context());
            dLogits[t] = new float[c.context() * c.vocab()];
        }
        init();
    }

    /** Gaussian init (std 0.02, projections scaled by depth as in GPT-2), norms at 1. */
    private void init() {
        SplittableRandom r = new SplittableRandom(c.seed());
        for (Layout.Tensor t : model.lay.tensors) {
            float std = switch (t.kind()) {
                case NORM -> 0f;
                case EMBEDDING -> 0.02f;
                case LINEAR -> t.name().endsWith("attn_output.weight") || t.name().endsWith("ffn_down.weight")
                        ? (float) (0.02 / Math.sqrt(2.0 * c.layers())) : 0.02f;
            };
            for (int i = 0; i < t.size(); i++) {
                w[t.offset() + i] = t.kind() == Layout.Kind.NORM ? 1f : (float) (r.nextGaussian() * std);
            }
        }
    }

    public int step() {
        return step;
    }

    /** Runs until the configured number of steps, evaluating and checkpointing on the way. */
    public void run(Path checkpoint, Listener listener) {
        run(checkpoint, listener, c.steps());
    }

    /** Runs until step {@code until} (a killed run, in tests), checkpointing as configured. */
    public void run(Path checkpoint, Listener listener, int until) {
        long t0 = System.nanoTime();
        int startStep = step;
        while (step < Math.min(until, c.steps())) {
            float lr = c.learningRate(step);
            double loss = trainStep(lr, c.weightDecay(step));
            step++;
            double secs = (System.nanoTime() - t0) / 1e9;
            listener.step(step, loss, lr, (step - startStep) * (double) c.batch() * c.context() / secs);
            if (c.evalEvery() > 0 && step % c.evalEvery() == 0 || step == c.steps()) {
                listener.eval(step, evalLoss());
            }
            if (checkpoint != null && (step % c.saveEvery() == 0 || step == c.steps())) {
                save(checkpoint);
            }
        }
    }

    /** One optimisation step; returns the mean training loss of the batch. */
    double trainStep(float lr, float wd) {
        float[] betas = new float[model.lay.tensors.size()];
        float[] eff = model.effectiveWeights(w, betas);
        int T = c.context(), B = c.batch();
        int[][] seqs = new int[B][];
        SplittableRandom r = new SplittableRandom(c.seed() * 0x9E3779B97F4A7C15L + step);
        for (int b = 0; b < B; b++) {
            int start = r.nextInt(train.length - T - 1);
            seqs[b] = java.util.Arrays.copyOfRange(train, start, start + T + 1);
        }
        double[] losses = new double[threads];
        float scale = 1f / (B * T);
        pool.run(threads, (task, thread) -> {
            float[] g = grads[task];
            java.util.Arrays.fill(g, 0f);
            for (int b = task; b < B; b += threads) { // fixed split: the same sequences on the same thread every run
                int[] in = java.util.Arrays.copyOf(seqs[b], T);
                int[] target = java.util.Arrays.copyOfRange(seqs[b], 1, T + 1);
                model.forward(eff, in, acts[task]);
                losses[task] += model.crossEntropy(acts[task], target, 0, dLogits[task], scale);
                model.backward(eff, acts[task], dLogits[task], g);
            }
        });
        float[] g = grads[0];
        for (int t = 1; t < threads; t++) {
            float[] o = grads[t];
            for (int i = 0; i < g.length; i++) {
                g[i] += o[i];
            }
        }
        double norm = 0;
        for (float x : g) {
            norm += (double) x * x;
        }
        norm = Math.sqrt(norm);
        float clip = norm > c.clip() ? (float) (c.clip() / norm) : 1f;
        adamw(g, clip, lr, wd);
        double loss = 0;
        for (double l : losses) {
            loss += l;
        }
        return loss / (B * T);
    }

    private void adamw(float[] g, float clip, float lr, float wd) {
        float b1 = 0.9f, b2 = 0.95f, eps = 1e-8f;
        int t = step + 1;
        float c1 = 1f - (float) Math.pow(b1, t), c2 = 1f - (float) Math.pow(b2, t);
        for (Layout.Tensor ten : model.lay.tensors) {
            boolean decay = ten.kind() == Layout.Kind.LINEAR;
            for (int i = ten.offset(), end = ten.offset() + ten.size(); i < end; i++) {
                float gi = g[i] * clip;
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                float update = (m[i] / c1) / ((float) Math.sqrt(v[i] / c2) + eps);
                if (decay) {
                    w[i] -= lr * wd * w[i];
                }
                w[i] -= lr * update;
            }
        }
    }

    /**
     * Mean NLL per scored token on the validation tokens with llama-perplexity's chunking (chunks of the context,
     * BOS first, second half scored), the quantised forward and an fp16-rounded embedding: what the engine
     * computes on the exported file.
     */
    public double evalLoss() {
        return evalLoss(c.evalChunks());
    }

    public double evalLoss(int maxChunks) {
        float[] betas = new float[model.lay.tensors.size()];
        float[] eff = model.effectiveWeights(w, betas);
        Layout.Tensor e = model.lay.embd;
        for (int i = e.offset(); i < e.offset() + e.size(); i++) {
            eff[i] = Float.float16ToFloat(Float.floatToFloat16(eff[i]));
        }
        int T = c.context();
        int chunks = Math.min(maxChunks, val.length / T);
        double[] nll = new double[threads];
        long[] count = new long[threads];
        pool.run(threads, (task, thread) -> {
            for (int ch = task; ch < chunks; ch += threads) {
                int[] in = java.util.Arrays.copyOfRange(val, ch * T, ch * T + T);
                in[0] = bos;
                int[] target = new int[T];
                System.arraycopy(in, 1, target, 0, T - 1);
                model.forward(eff, in, acts[task]);
                // positions T/2 .. T-2 predict tokens T/2+1 .. T-1
                nll[task] += model.crossEntropyRange(acts[task], target, T / 2, T - 1);
                count[task] += T - 1 - T / 2;
            }
        });
        double s = 0;
        long n = 0;
        for (int t = 0; t < threads; t++) {
            s += nll[t];
            n += count[t];
        }
        return s / n;
    }

    /** Exports weights for the engine: the effective (ternary) projections with their betas. */
    float[] effectiveWeights(float[] betas) {
        return model.effectiveWeights(w, betas);
    }

    // ---- checkpoints: atomic (temp file + rename), bit-exact resume ----
    private static final int MAGIC = 0x424E5443; // "BNTC"

    public void save(Path file) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
            out.writeInt(MAGIC);
            out.writeInt(w.length);
            out.writeInt(step);
            for (float[] a : new float[][] {w, m, v}) {
                for (float x : a) {
                    out.writeFloat(x);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + tmp + ": " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move checkpoint into place " + file + ": " + e.getMessage(), e);
        }
    }

    public void load(Path file) {
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            if (in.readInt() != MAGIC) {
                throw new IllegalArgumentException(file + ": not a bitnet4j checkpoint");
            }
            int n = in.readInt();
            if (n != w.length) {
                throw new IllegalArgumentException(file + ": checkpoint holds " + n + " parameters, this configuration has "
                        + w.length + " (resume with the same --preset/--config)");
            }
            step = in.readInt();
            for (float[] a : new float[][] {w, m, v}) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = in.readFloat();
                }
            }
        } catch (java.io.EOFException e) {
            throw new IllegalArgumentException(file + ": checkpoint is truncated");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
