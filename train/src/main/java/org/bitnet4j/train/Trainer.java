package org.bitnet4j.train;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The training loop: data order, forward/backward, AdamW with the two-stage schedule, validation, checkpoints and the
 * loss log. Every number depends only on the config, the token streams and the step, never on timing or the thread
 * count, so a run resumed from a checkpoint continues with exactly the losses of an uninterrupted one.
 *
 * <p>Files in the output folder (all replaced atomically): {@code checkpoint.bin} (config, data fingerprint, step,
 * weights, Adam moments) every {@code save-every} steps and at the end, and {@code loss.tsv} (step, loss, lr,
 * gradient norm, validation loss) rewritten from memory at each checkpoint, so it never runs ahead of the checkpoint.
 */
public final class Trainer implements AutoCloseable {
    /** Receives progress; every method has a no-op default. Called on the training thread. */
    public interface Listener {
        default void started(int startStep, TrainConfig config, long parameters, long tokensPerStep) {}

        default void step(StepStats stats) {}

        default void validated(int step, double loss) {}

        default void checkpointed(int step, Path file) {}
    }

    /**
     * @param step             steps done (1-based: the first step reports 1)
     * @param loss             mean training loss of this step's batch (nats/token)
     * @param tokensPerSecond  training tokens per second since the run (or resume) started
     * @param etaSeconds       estimated seconds to the last step
     */
    public record StepStats(int step, int steps, double loss, float lr, double gradNorm, long tokens,
                            double tokensPerSecond, double etaSeconds) {}

    /** One line of loss.tsv. */
    public record LogRow(int step, double loss, float lr, double gradNorm, double valLoss) {
        String tsv() {
            return String.format(Locale.ROOT, "%d\t%.6f\t%.6e\t%.4f\t%s", step, loss, lr, gradNorm,
                    Double.isNaN(valLoss) ? "" : String.format(Locale.ROOT, "%.6f", valLoss));
        }
    }

    static final String CHECKPOINT = "checkpoint.bin", LOSS_LOG = "loss.tsv";
    private static final long MAGIC = 0x54504B434A344E42L; // "BN4JCKPT" little-endian
    private static final int VERSION = 1;

    public final TrainConfig config;
    private final TrainModel model;
    private final AdamW adam;
    private final float[] params, grad;
    private final DataOrder order;
    private final int[] val;
    private final int bos;
    private final long fingerprint;
    private final int[] inputs, targets;
    private final List<LogRow> log = new ArrayList<>();
    private int step;

    /**
     * @param train training token stream (files joined by EOS)
     * @param val   validation token stream
     * @param bos   id placed at position 0 of every sequence
     */
    public Trainer(TrainConfig config, int[] train, int[] val, int bos, int threads) {
        this.config = config;
        this.model = new TrainModel(config, threads);
        this.adam = new AdamW(model.layout);
        this.params = model.layout.initialWeights(Rng.derive(config.seed(), 0x1417));
        this.grad = new float[params.length];
        this.order = new DataOrder(train, config.context(), bos, config.seed());
        if (val.length < config.context()) {
            throw new IllegalArgumentException("the validation text has " + val.length + " tokens; it needs at least one "
                    + "sequence of the context length " + config.context());
        }
        this.val = val;
        this.bos = bos;
        this.fingerprint = fingerprint(config, train, val, bos);
        this.inputs = new int[config.batch() * config.context()];
        this.targets = new int[inputs.length];
    }

    public TrainModel model() {
        return model;
    }

    /** The latent weights (live: changes with every step). */
    public float[] params() {
        return params;
    }

    /** Steps done. */
    public int step() {
        return step;
    }

    public List<LogRow> log() {
        return List.copyOf(log);
    }

    public long tokensPerStep() {
        return (long) config.batch() * config.context();
    }

    /** One optimiser step on the next batch; returns its mean loss. */
    public LogRow trainStep() {
        order.batch(step, config.batch(), inputs, targets);
        model.prepare(params);
        java.util.Arrays.fill(grad, 0f);
        double loss = model.forwardBackward(params, inputs, targets, config.batch(), config.context(), grad);
        float lr = config.learningRate(step);
        double norm = adam.step(model.pool(), params, grad, step + 1, lr, config.weightDecay(step), config.clip());
        step++;
        LogRow row = new LogRow(step, loss, lr, norm, Double.NaN);
        log.add(row);
        return row;
    }

    /** Validation sequences: chunk c is [BOS, val[cT .. cT+T-1)] with targets val[cT .. cT+T). */
    public int validationChunks() {
        return val.length / config.context();
    }

    /**
     * Mean validation loss (nats/token) with the quantised forward pass and the engine's log-softmax arithmetic.
     *
     * @param chunks how many sequences, evenly spread over the validation text (all of them if >= the number)
     */
    public double validate(int chunks) {
        int total = validationChunks();
        int n = Math.min(chunks, total);
        int T = config.context(), B = config.batch();
        model.prepare(params);
        int[] in = new int[B * T], tg = new int[B * T];
        double sum = 0;
        long scored = 0;
        for (int c0 = 0; c0 < n; c0 += B) {
            int rows = Math.min(B, n - c0);
            java.util.Arrays.fill(tg, -1);
            java.util.Arrays.fill(in, bos);
            for (int b = 0; b < rows; b++) {
                int chunk = (int) ((long) (c0 + b) * total / n);
                int o = b * T;
                for (int t = 0; t < T; t++) {
                    if (t > 0) {
                        in[o + t] = val[chunk * T + t - 1];
                    }
                    tg[o + t] = val[chunk * T + t];
                }
                scored += T;
            }
            sum += model.nllSum(params, in, tg, B, T);
        }
        return sum / scored;
    }

    /**
     * Trains until config.steps, validating and checkpointing at the configured intervals.
     *
     * @param out folder for checkpoint.bin and loss.tsv (null: keep nothing on disk)
     */
    public void run(Path out, Listener listener) throws IOException {
        Listener l = listener == null ? new Listener() {} : listener;
        l.started(step, config, params.length, tokensPerStep());
        long t0 = System.nanoTime();
        int startStep = step;
        while (step < config.steps()) {
            LogRow row = trainStep();
            double secs = (System.nanoTime() - t0) / 1e9;
            int done = step - startStep;
            double tps = done * tokensPerStep() / Math.max(secs, 1e-9);
            double eta = secs / done * (config.steps() - step);
            boolean last = step == config.steps();
            if ((config.evalEvery() > 0 && step % config.evalEvery() == 0) || last) {
                double v = validate(config.valChunks());
                row = new LogRow(row.step(), row.loss(), row.lr(), row.gradNorm(), v);
                log.set(log.size() - 1, row);
                l.validated(step, v);
            }
            l.step(new StepStats(step, config.steps(), row.loss(), row.lr(), row.gradNorm(), step * tokensPerStep(), tps,
                    eta));
            if (out != null && (step % config.saveEvery() == 0 || last)) {
                save(out);
                l.checkpointed(step, out.resolve(CHECKPOINT));
            }
        }
    }

    /** Writes checkpoint.bin and loss.tsv into out (each atomically; the checkpoint first). */
    public void save(Path out) throws IOException {
        byte[] cfg = config.toText().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(out.resolve(CHECKPOINT), ch -> {
            ByteBuffer h = ByteBuffer.allocate(64 + cfg.length).order(ByteOrder.LITTLE_ENDIAN);
            h.putLong(MAGIC).putInt(VERSION).putInt(cfg.length).put(cfg).putLong(fingerprint).putInt(step)
                    .putInt(params.length).putInt(log.size());
            h.flip();
            writeFully(ch, h);
            ByteBuffer rows = ByteBuffer.allocate(log.size() * 32).order(ByteOrder.LITTLE_ENDIAN);
            for (LogRow r : log) {
                rows.putInt(r.step()).putDouble(r.loss()).putFloat(r.lr()).putDouble(r.gradNorm()).putDouble(r.valLoss());
            }
            rows.flip();
            writeFully(ch, rows);
            writeFloats(ch, params);
            writeFloats(ch, adam.m);
            writeFloats(ch, adam.v);
        });
        StringBuilder sb = new StringBuilder("step\tloss\tlr\tgrad_norm\tval_loss\n");
        for (LogRow r : log) {
            sb.append(r.tsv()).append('\n');
        }
        AtomicFiles.write(out.resolve(LOSS_LOG), sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Restores a checkpoint written by {@link #save} for the same config and data.
     *
     * @throws IOException naming the file when it is not a checkpoint, is truncated, or belongs to another config or
     *                     other data
     */
    public void load(Path out) throws IOException {
        Path file = out.resolve(CHECKPOINT);
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no checkpoint to resume from");
        }
        try (InputStream is = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            DataInputStream in = new DataInputStream(is);
            if (Long.reverseBytes(in.readLong()) != MAGIC) {
                throw new IOException(file + ": not a bitnet4j checkpoint");
            }
            int version = Integer.reverseBytes(in.readInt());
            if (version != VERSION) {
                throw new IOException(file + ": checkpoint version " + version + ", this build reads " + VERSION);
            }
            int cfgLen = Integer.reverseBytes(in.readInt());
            if (cfgLen < 0 || cfgLen > 1 << 16) {
                throw new IOException(file + ": corrupt header (config length " + cfgLen + ")");
            }
            byte[] cfg = in.readNBytes(cfgLen);
            TrainConfig saved = TrainConfig.fromText(new String(cfg, StandardCharsets.UTF_8));
            if (!saved.equals(config)) {
                throw new IOException(file + ": was written with a different configuration; resume with the same one ("
                        + differences(saved, config) + ")");
            }
            long fp = Long.reverseBytes(in.readLong());
            if (fp != fingerprint) {
                throw new IOException(file + ": was written for different training or validation text (or vocabulary)");
            }
            int savedStep = Integer.reverseBytes(in.readInt());
            int n = Integer.reverseBytes(in.readInt());
            int rows = Integer.reverseBytes(in.readInt());
            if (n != params.length || savedStep < 0 || savedStep > config.steps() || rows < 0 || rows > savedStep) {
                throw new IOException(file + ": corrupt header");
            }
            List<LogRow> restored = new ArrayList<>();
            ByteBuffer rb = ByteBuffer.wrap(in.readNBytes(rows * 32)).order(ByteOrder.LITTLE_ENDIAN);
            if (rb.remaining() != rows * 32) {
                throw new IOException(file + ": truncated");
            }
            for (int i = 0; i < rows; i++) {
                restored.add(new LogRow(rb.getInt(), rb.getDouble(), rb.getFloat(), rb.getDouble(), rb.getDouble()));
            }
            readFloats(in, params, file);
            readFloats(in, adam.m, file);
            readFloats(in, adam.v, file);
            step = savedStep;
            log.clear();
            log.addAll(restored);
        } catch (java.io.EOFException e) {
            throw new IOException(file + ": truncated");
        }
    }

    private static String differences(TrainConfig a, TrainConfig b) {
        List<String> d = new ArrayList<>();
        var ma = a.toMap();
        var mb = b.toMap();
        for (String k : ma.keySet()) {
            if (!ma.get(k).equals(mb.get(k))) {
                d.add(k + " " + ma.get(k) + " in the checkpoint, " + mb.get(k) + " now");
            }
        }
        return String.join("; ", d);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void writeFloats(FileChannel ch, float[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < a.length; ) {
            b.clear();
            int n = Math.min(a.length - i, b.capacity() / 4);
            b.asFloatBuffer().put(a, i, n);
            b.limit(n * 4);
            writeFully(ch, b);
            i += n;
        }
    }

    private static void readFloats(DataInputStream in, float[] a, Path file) throws IOException {
        byte[] buf = new byte[1 << 20];
        for (int i = 0; i < a.length; ) {
            int n = Math.min(a.length - i, buf.length / 4);
            in.readFully(buf, 0, n * 4);
            ByteBuffer.wrap(buf, 0, n * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a, i, n);
            i += n;
        }
    }

    /** Identifies the data a checkpoint belongs to: the token streams and the BOS id. */
    private static long fingerprint(TrainConfig c, int[] train, int[] val, int bos) {
        long h = Rng.derive(train.length, val.length, bos, c.vocab());
        for (int t : train) {
            h = Rng.mix(h + t);
        }
        for (int t : val) {
            h = Rng.mix(h ^ t);
        }
        return h;
    }

    @Override
    public void close() {
        model.close();
    }
}
