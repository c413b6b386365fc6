package org.bitnet4j.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bitnet4j.gguf.GgmlType;

/**
 * A whole run, as {@code bitnet4j train} does it: read the texts, learn (or, on resume, reload) the BPE vocabulary,
 * tokenise, train with checkpoints, then validate on all of the validation text, export GGUF files, let the engine
 * score the I2_S file, compute the count baselines, and write loss.png and results.txt.
 *
 * <p>Output folder: {@code tokenizer.bpe}, {@code config.txt}, {@code checkpoint.bin}, {@code loss.tsv},
 * {@code model-i2_s.gguf}, {@code model-tq2_0.gguf}, {@code model-f32.gguf}, {@code loss.png}, {@code results.txt}.
 */
public final class TrainingRun {
    private TrainingRun() {}

    /**
     * @param exports projection types to write (those the shapes do not allow are skipped with a message)
     */
    public record Options(List<TextSource> data, TextSource val, Path out, TrainConfig config, boolean resume,
                          int threads, List<GgmlType> exports, boolean engineCheck) {}

    /**
     * @param valLoss       trainer's mean NLL over every validation sequence (nats/token)
     * @param engineValLoss the engine's on the exported I2_S file (NaN when not checked)
     */
    public record Result(Path out, TrainConfig config, long parameters, long trainTokens, long valTokens, int steps,
                         long tokensSeen, double seconds, double valLoss, double engineValLoss, Baselines baselines,
                         List<Path> models) {
        public double valPerplexity() {
            return Math.exp(valLoss);
        }
    }

    /** Trainer events plus free-text messages. */
    public interface Listener extends Trainer.Listener {
        default void message(String text) {}
    }

    public static final String TOKENIZER = "tokenizer.bpe", CONFIG = "config.txt", RESULTS = "results.txt",
            PLOT = "loss.png";

    public static Result run(Options o, Listener listener) throws IOException {
        Listener l = listener == null ? new Listener() {} : listener;
        long t0 = System.nanoTime();
        Path out = o.out();
        Files.createDirectories(out);
        if (!o.resume() && Files.exists(out.resolve(Trainer.CHECKPOINT))) {
            throw new IOException(out.resolve(Trainer.CHECKPOINT) + " exists: add --resume to continue that run, or "
                    + "choose another --out folder");
        }
        TrainConfig c = o.config();
        if (o.resume() && Files.exists(out.resolve(CONFIG))) {
            TrainConfig saved = TrainConfig.fromText(Files.readString(out.resolve(CONFIG)));
            if (!saved.equals(c)) {
                l.message("resuming with the configuration saved in " + out.resolve(CONFIG));
                c = saved;
            }
        }
        List<String> trainTexts = TextSource.readTraining(o.data(), o.val());
        String valText = o.val().read(List.of());
        // vocabulary
        Bpe bpe;
        Path tokFile = out.resolve(TOKENIZER);
        if (o.resume() && Files.exists(tokFile)) {
            bpe = Bpe.load(tokFile);
        } else {
            l.message("learning a " + c.vocab() + "-token byte-level BPE vocabulary on the training text");
            bpe = Bpe.train(trainTexts, c.vocab(), l::message);
            bpe.save(tokFile);
        }
        if (bpe.size() != c.vocab()) {
            throw new IOException(tokFile + ": holds " + bpe.size() + " tokens but the config asks for " + c.vocab());
        }
        AtomicFiles.write(out.resolve(CONFIG), c.toText().getBytes(StandardCharsets.UTF_8));
        // tokens: training files joined by EOS
        l.message("tokenising");
        Bpe.IntBuffer tb = new Bpe.IntBuffer(1 << 20);
        for (String t : trainTexts) {
            tb.addAll(bpe.encode(t));
            tb.add(bpe.eos());
        }
        int[] train = tb.toArray();
        int[] val = bpe.encode(valText);
        l.message(String.format(Locale.ROOT, "%,d training tokens (%.2f bytes/token), %,d validation tokens", train.length,
                trainTexts.stream().mapToLong(s -> s.getBytes(StandardCharsets.UTF_8).length).sum() / (double) train.length,
                val.length));
        List<Path> models = new ArrayList<>();
        double valLoss, engine = Double.NaN;
        int steps;
        long params;
        try (Trainer trainer = new Trainer(c, train, val, bpe.bos(), o.threads())) {
            params = trainer.params().length;
            if (o.resume() && Files.exists(out.resolve(Trainer.CHECKPOINT))) {
                trainer.load(out);
                l.message("resumed at step " + trainer.step() + " of " + c.steps());
            }
            trainer.run(out, l);
            steps = trainer.step();
            l.message("validating on all " + trainer.validationChunks() + " validation sequences");
            valLoss = trainer.validate(Integer.MAX_VALUE);
            TrainModel model = trainer.model();
            model.prepare(trainer.params());
            for (GgmlType type : o.exports()) {
                if (!GgufExport.fits(c, type)) {
                    l.message("skipping " + type + ": hidden and ffn must be multiples of " + type.blockSize);
                    continue;
                }
                if (type != GgmlType.F32 && !c.ternary()) {
                    continue;
                }
                Path file = out.resolve("model-" + type.name().toLowerCase(Locale.ROOT) + ".gguf");
                GgufExport.write(file, model, trainer.params(), bpe, type, "bitnet4j-" + c.layers() + "L-" + c.hidden());
                models.add(file);
                l.message("wrote " + file);
            }
            if (o.engineCheck() && !models.isEmpty()) {
                Path judged = models.getFirst();
                l.message("engine scores " + judged.getFileName() + " on the same validation sequences");
                engine = EngineCheck.meanNll(judged, val, c.context(), Integer.MAX_VALUE, o.threads());
            }
            Baselines base = Baselines.compute(train, val, c.vocab(), c.context());
            List<Object[]> lines = List.of(
                    new Object[] {String.format(Locale.ROOT, "unigram baseline (val) %.3f", base.unigram()), base.unigram()},
                    new Object[] {String.format(Locale.ROOT, "bigram KN baseline (val) %.3f", base.bigram()), base.bigram()});
            LossPlot.write(out.resolve(PLOT), String.format(Locale.ROOT,
                    "bitnet4j %s %dL x %d, %,d params: validation PPL %.2f", c.ternary() ? "b1.58" : "float", c.layers(),
                    c.hidden(), params, Math.exp(valLoss)), trainer.log(), lines);
            double seconds = (System.nanoTime() - t0) / 1e9;
            Result r = new Result(out, c, params, train.length, val.length, steps, (long) steps * trainer.tokensPerStep(),
                    seconds, valLoss, engine, base, models);
            writeResults(out.resolve(RESULTS), r, bpe);
            return r;
        }
    }

    private static void writeResults(Path file, Result r, Bpe bpe) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("parameters", Long.toString(r.parameters()));
        m.put("non_embedding_parameters", Long.toString(r.parameters() - (long) r.config().vocab() * r.config().hidden()));
        m.put("vocab", Integer.toString(bpe.size()));
        m.put("train_tokens", Long.toString(r.trainTokens()));
        m.put("val_tokens_scored", Long.toString((r.valTokens() / r.config().context()) * r.config().context()));
        m.put("steps", Integer.toString(r.steps()));
        m.put("tokens_seen", Long.toString(r.tokensSeen()));
        m.put("val_loss", String.format(Locale.ROOT, "%.6f", r.valLoss()));
        m.put("val_ppl", String.format(Locale.ROOT, "%.4f", r.valPerplexity()));
        if (!Double.isNaN(r.engineValLoss())) {
            m.put("engine_val_loss", String.format(Locale.ROOT, "%.6f", r.engineValLoss()));
            m.put("engine_minus_trainer", String.format(Locale.ROOT, "%.3e", r.engineValLoss() - r.valLoss()));
        }
        m.put("unigram_val_loss", String.format(Locale.ROOT, "%.6f", r.baselines().unigram()));
        m.put("unigram_val_ppl", String.format(Locale.ROOT, "%.4f", r.baselines().unigramPerplexity()));
        m.put("bigram_kn_val_loss", String.format(Locale.ROOT, "%.6f", r.baselines().bigram()));
        m.put("bigram_kn_val_ppl", String.format(Locale.ROOT, "%.4f", r.baselines().bigramPerplexity()));
        m.put("seconds_this_session", String.format(Locale.ROOT, "%.0f", r.seconds()));
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
