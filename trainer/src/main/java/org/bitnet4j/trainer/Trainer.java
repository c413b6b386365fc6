package org.bitnet4j.trainer;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Quantisation-aware training of a {@link BitNetModel}: AdamW (0.9, 0.95, eps 1e-8) with BitNet's two-stage
 * schedule ({@link TrainConfig#lrAt}), weight decay on the ternary matrices in the first half only, global-norm
 * clipping. Each step's batch is split statically over the threads (thread k takes sequences
 * [k B / n, (k+1) B / n)) with one gradient buffer per thread, summed in thread order: a run is bit-reproducible
 * for a given seed and thread count. Training windows are a pure function of (seed, step, sequence), so the
 * step number is the whole data position and resuming from a checkpoint continues the identical run.
 */
public final class Trainer implements AutoCloseable {
    /** One row of loss.tsv; val is NaN where no validation ran. */
    public record Row(int step, double train, double val, double lr) {}

    public interface Listener {
        void step(int step, int steps, double loss, double lr, double tokensPerSecond, double etaSeconds);

        default void validated(int step, double valLoss) {}
    }

    static final float BETA1 = 0.9f, BETA2 = 0.95f, ADAM_EPS = 1e-8f;
    private static final long MAGIC = 0x424E344A434B5031L; // "BN4JCKP1"

    public final TrainConfig c;
    public final BitNetModel model;
    public final BpeTrainer.Vocab vocab;
    private final int[] train, val;
    private final int threads;
    private final ExecutorService pool;
    private final BitNetModel.Workspace[] ws;
    private final float[][] grads;
    final float[] params, m, v;
    private final float[] grad;
    private int step;
    private final List<Row> history = new ArrayList<>();

    public Trainer(TrainConfig c, BpeTrainer.Vocab vocab, int[] train, int[] val, int threads) {
        if (vocab.tokens().size() != c.vocab()) {
            throw new IllegalArgumentException("config vocab " + c.vocab() + " != vocabulary size " + vocab.tokens().size());
        }
        if (train.length < c.context() + 2) {
            throw new IllegalArgumentException("training text has " + train.length + " tokens, fewer than one context of "
                    + c.context());
        }
        this.c = c;
        this.model = new BitNetModel(c);
        this.vocab = vocab;
        this.train = train;
        this.val = val;
        this.threads = Math.max(1, Math.min(threads, c.batch()));
        this.pool = Executors.newFixedThreadPool(this.threads, r -> {
            Thread t = new Thread(r, "bitnet4j-train");
            t.setDaemon(true);
            return t;
        });
        this.ws = new BitNetModel.Workspace[this.threads];
        this.grads = new float[this.threads][];
        for (int k = 0; k < this.threads; k++) {
            ws[k] = model.workspace(c.context());
            grads[k] = new float[model.size];
        }
        this.params = model.init(c.seed());
        this.m = new float[model.size];
        this.v = new float[model.size];
        this.grad = new float[model.size];
    }

    public int step() {
        return step;
    }

    public List<Row> history() {
        return List.copyOf(history);
    }

    public float[] params() {
        return params;
    }

    public int threads() {
        return threads;
    }

    static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Sequence b of step s: a window of context+1 training tokens; BOS replaces its first token, as in eval. */
    void window(int s, int b, int[] in, int[] target) {
        int T = c.context();
        int start = new SplittableRandom(mix(c.seed(), (long) s * c.batch() + b)).nextInt(train.length - T);
        for (int t = 0; t < T; t++) {
            in[t] = t == 0 ? vocab.bos() : train[start + t];
            target[t] = train[start + t + 1];
        }
    }

    /** One optimiser step; returns the mean training loss of its batch (nats/token). */
    public double trainStep() {
        final int s = step, B = c.batch(), T = c.context();
        final BitNetModel.Quantized qw = model.quantizeWeights(params);
        final float gscale = 1f / (B * T);
        double[] losses = new double[threads];
        List<Future<?>> fs = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            final int kk = k;
            fs.add(pool.submit(() -> {
                float[] g = grads[kk];
                java.util.Arrays.fill(g, 0f);
                int[] in = new int[T], tg = new int[T];
                double sum = 0;
                for (int b = kk * B / threads; b < (kk + 1) * B / threads; b++) {
                    window(s, b, in, tg);
                    sum += model.forwardBackward(params, qw, in, tg, T, gscale, g, ws[kk]);
                }
                losses[kk] = sum;
            }));
        }
        join(fs);
        // sum the per-thread gradients in thread order, in parallel over index ranges
        parallelRanges(model.size, (a, e) -> {
            for (int i = a; i < e; i++) {
                float x = grads[0][i];
                for (int k = 1; k < threads; k++) {
                    x += grads[k][i];
                }
                grad[i] = x;
            }
        });
        double loss = 0;
        for (double l : losses) {
            loss += l;
        }
        loss /= (double) B * T;
        double norm2 = 0;
        for (float g : grad) {
            norm2 += (double) g * g;
        }
        double norm = Math.sqrt(norm2);
        float clip = c.clip() > 0 && norm > c.clip() ? (float) (c.clip() / norm) : 1f;
        double lr = c.lrAt(s);
        adamw(s + 1, (float) lr, (float) c.wdAt(s), clip);
        step++;
        history.add(new Row(step, loss, Double.NaN, lr));
        return loss;
    }

    private void adamw(int t, float lr, float wd, float clip) {
        float bc1 = (float) (1 - Math.pow(BETA1, t)), bc2 = (float) (1 - Math.pow(BETA2, t));
        List<Future<?>> fs = new ArrayList<>();
        for (BitNetModel.Tensor ten : model.tensors) {
            float decay = ten.kind() == BitNetModel.Kind.TERNARY ? wd : 0f;
            int a = ten.offset(), e = ten.offset() + ten.size();
            fs.add(pool.submit(() -> {
                for (int i = a; i < e; i++) {
                    float g = grad[i] * clip;
                    m[i] = BETA1 * m[i] + (1 - BETA1) * g;
                    v[i] = BETA2 * v[i] + (1 - BETA2) * g * g;
                    float mh = m[i] / bc1, vh = v[i] / bc2;
                    params[i] -= lr * (mh / ((float) Math.sqrt(vh) + ADAM_EPS) + decay * params[i]);
                }
            }));
        }
        join(fs);
    }

    private interface Range {
        void run(int from, int to);
    }

    private void parallelRanges(int n, Range r) {
        List<Future<?>> fs = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            int a = (int) ((long) n * k / threads), e = (int) ((long) n * (k + 1) / threads);
            fs.add(pool.submit(() -> r.run(a, e)));
        }
        join(fs);
    }

    private static void join(List<Future<?>> fs) {
        try {
            for (Future<?> f : fs) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("training interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Mean NLL (nats/token) of the quantised model on tokens with llama-perplexity's method, as
     * {@code org.bitnet4j.generate.Perplexity} does it: chunks of context tokens, BOS in place of each chunk's
     * first token, positions context/2 .. context-2 scored on the next token.
     *
     * @param fp16Embedding evaluate with the embedding rounded to fp16, as an export with an F16 token_embd holds it
     */
    public double evalLoss(int[] tokens, int maxChunks, boolean fp16Embedding) {
        int T = c.context();
        int chunks = tokens.length / T;
        if (maxChunks >= 0) {
            chunks = Math.min(chunks, maxChunks);
        }
        if (chunks < 1) {
            throw new IllegalArgumentException("validation text has " + tokens.length + " tokens, fewer than one context of " + T);
        }
        float[] p = params;
        if (fp16Embedding) {
            p = params.clone();
            int e = model.embd.offset() + model.embd.size();
            for (int i = model.embd.offset(); i < e; i++) {
                p[i] = Float.float16ToFloat(Float.floatToFloat16(p[i]));
            }
        }
        final float[] pp = p;
        final BitNetModel.Quantized qw = model.quantizeWeights(params);
        final int nChunks = chunks, first = T / 2, V = c.vocab();
        double[] nll = new double[nChunks];
        List<Future<?>> fs = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            final int kk = k;
            fs.add(pool.submit(() -> {
                int[] chunk = new int[T];
                for (int j = kk; j < nChunks; j += threads) {
                    System.arraycopy(tokens, j * T, chunk, 0, T);
                    chunk[0] = vocab.bos();
                    model.forward(pp, qw, chunk, T, ws[kk]);
                    double s = 0;
                    for (int pos = first; pos < T - 1; pos++) {
                        s += Ops.crossEntropy(ws[kk].logits, pos * V, V, chunk[pos + 1], null, 0, 0f);
                    }
                    nll[j] = s;
                }
            }));
        }
        join(fs);
        double sum = 0;
        for (double x : nll) {
            sum += x;
        }
        return sum / ((long) nChunks * (T - 1 - first));
    }

    /** Trains until the configured number of steps, validating, checkpointing and reporting on the way. */
    public void run(Path outDir, Listener listener) {
        long t0 = System.nanoTime();
        int startStep = step;
        while (step < c.steps()) {
            double loss = trainStep();
            double el = (System.nanoTime() - t0) / 1e9;
            int done = step - startStep;
            double tps = done * (double) c.batch() * c.context() / el;
            double eta = el / done * (c.steps() - step);
            boolean eval = val != null && (step % c.evalEvery() == 0 || step == c.steps());
            if (eval) {
                double vl = evalLoss(val, c.evalChunks(), true);
                Row r = history.removeLast();
                history.add(new Row(r.step(), r.train(), vl, r.lr()));
                listener.validated(step, vl);
            }
            listener.step(step, c.steps(), loss, history.getLast().lr(), tps, eta);
            if (outDir != null && (step % c.saveEvery() == 0 || step == c.steps())) {
                save(outDir.resolve("checkpoint.bin"));
                writeLossTsv(outDir.resolve("loss.tsv"));
            }
        }
    }

    public void writeLossTsv(Path file) {
        StringBuilder sb = new StringBuilder("step\ttrain_loss\tval_loss\tlr\n");
        for (Row r : history) {
            sb.append(r.step()).append('\t').append(String.format(java.util.Locale.ROOT, "%.6f", r.train())).append('\t')
                    .append(Double.isNaN(r.val()) ? "" : String.format(java.util.Locale.ROOT, "%.6f", r.val())).append('\t')
                    .append(String.format(java.util.Locale.ROOT, "%.6g", r.lr())).append('\n');
        }
        writeAtomically(file, sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static void writeAtomically(Path file, byte[] data) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.write(tmp, data);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    // ---- checkpoints: config, vocabulary, step, history, weights and both Adam moments ----

    public void save(Path file) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
                out.writeLong(MAGIC);
                writeConfig(out, c);
                out.writeInt(vocab.merges().size());
                for (String mg : vocab.merges()) {
                    out.writeUTF(mg);
                }
                out.writeInt(step);
                out.writeInt(history.size());
                for (Row r : history) {
                    out.writeInt(r.step());
                    out.writeDouble(r.train());
                    out.writeDouble(r.val());
                    out.writeDouble(r.lr());
                }
                writeFloats(out, params);
                writeFloats(out, m);
                writeFloats(out, v);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    /** What a checkpoint holds before the weights: enough to rebuild the trainer. */
    public record Header(TrainConfig config, BpeTrainer.Vocab vocab) {}

    public static Header readHeader(Path file) {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            return readHeader(in, file);
        } catch (IOException e) {
            throw new TrainingException(file + ": cannot read checkpoint: " + e.getMessage());
        }
    }

    private static Header readHeader(DataInputStream in, Path file) throws IOException {
        if (in.readLong() != MAGIC) {
            throw new TrainingException(file + ": not a bitnet4j trainer checkpoint (bad magic)");
        }
        TrainConfig c = readConfig(in);
        int n = in.readInt();
        List<String> merges = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            merges.add(in.readUTF());
        }
        return new Header(c, BpeTrainer.Vocab.fromMerges(merges));
    }

    /** Restores weights, moments, step and history saved by {@link #save} into this trainer (same config). */
    public void load(Path file) {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            Header h = readHeader(in, file);
            if (!h.config().equals(c.withSteps(h.config().steps())) || !h.vocab().equals(vocab)) {
                throw new TrainingException(file + ": checkpoint was written for another configuration or vocabulary");
            }
            step = in.readInt();
            int rows = in.readInt();
            history.clear();
            for (int i = 0; i < rows; i++) {
                history.add(new Row(in.readInt(), in.readDouble(), in.readDouble(), in.readDouble()));
            }
            readFloats(in, params);
            readFloats(in, m);
            readFloats(in, v);
        } catch (java.io.EOFException e) {
            throw new TrainingException(file + ": checkpoint is truncated");
        } catch (IOException e) {
            throw new TrainingException(file + ": cannot read checkpoint: " + e.getMessage());
        }
    }

    private static void writeConfig(DataOutputStream o, TrainConfig c) throws IOException {
        for (int x : new int[] {c.vocab(), c.dim(), c.layers(), c.heads(), c.kvHeads(), c.ffn(), c.context(), c.batch(),
                c.steps(), c.warmup(), c.evalEvery(), c.evalChunks(), c.saveEvery()}) {
            o.writeInt(x);
        }
        for (double x : new double[] {c.lr(), c.lr2(), c.wd(), c.clip()}) {
            o.writeDouble(x);
        }
        o.writeLong(c.seed());
    }

    private static TrainConfig readConfig(DataInputStream in) throws IOException {
        int[] i = new int[13];
        for (int k = 0; k < i.length; k++) {
            i[k] = in.readInt();
        }
        double lr = in.readDouble(), lr2 = in.readDouble(), wd = in.readDouble(), clip = in.readDouble();
        long seed = in.readLong();
        return new TrainConfig(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8], lr, lr2, i[9], wd, clip, seed,
                i[10], i[11], i[12]);
    }

    private static void writeFloats(DataOutputStream o, float[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        o.writeInt(a.length);
        o.write(b.array());
    }

    private static void readFloats(DataInputStream in, float[] a) throws IOException {
        int n = in.readInt();
        if (n != a.length) {
            throw new IOException("array of " + n + " floats where " + a.length + " were expected");
        }
        byte[] bytes = new byte[n * 4];
        in.readFully(bytes);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
