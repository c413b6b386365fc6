package org.bitnet4j.trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * A whole run as the {@code train} command does it: read the texts, learn (or, on resume, restore) the BPE
 * vocabulary, tokenise with the engine's tokenizer, train, and write loss.tsv, loss.png, the three GGUF exports
 * and baselines.txt into the output folder.
 */
public final class TrainingRun {
    private TrainingRun() {}

    /** Training and validation text after the split. */
    public record Texts(List<String> train, String val) {}

    /**
     * Reads the data files and the validation spec {@code FILE} or {@code FILE:TITLE}; with a title the validation
     * text is the section of FILE that starts at the line equal to TITLE and ends before the next novel (a title
     * line followed by a blank line and "By Jane Austen"), and that section is left out of the training text when
     * FILE is also a data file.
     */
    public static Texts readTexts(List<Path> data, String valSpec) {
        String title = null;
        Path valFile = Path.of(valSpec);
        int colon = valSpec.lastIndexOf(':');
        if (colon > 0 && !Files.exists(valFile)) {
            valFile = Path.of(valSpec.substring(0, colon));
            title = valSpec.substring(colon + 1);
        }
        String valText = read(valFile);
        String section = valText;
        if (title != null) {
            List<String> lines = valText.lines().toList();
            int from = -1;
            for (int i = 0; i < lines.size() && from < 0; i++) {
                if (lines.get(i).trim().equals(title)) {
                    from = i;
                }
            }
            if (from < 0) {
                throw new TrainingException(valFile + ": no line reads '" + title + "' (the start of the validation section)");
            }
            int to = lines.size();
            for (int i = from + 1; i + 2 < lines.size(); i++) {
                if (!lines.get(i).isBlank() && lines.get(i + 1).isBlank() && lines.get(i + 2).trim().equals("By Jane Austen")) {
                    to = i;
                    break;
                }
            }
            section = String.join("\n", lines.subList(from, to)) + "\n";
            String rest = String.join("\n", lines.subList(0, from)) + "\n" + String.join("\n", lines.subList(to, lines.size())) + "\n";
            valText = rest;
        }
        List<String> train = new ArrayList<>();
        for (Path p : data) {
            try {
                boolean same = title != null && Files.isSameFile(p, valFile);
                train.add(same ? valText : read(p));
            } catch (IOException e) {
                throw new TrainingException(p + ": cannot read: " + e.getMessage());
            }
        }
        return new Texts(train, section);
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TrainingException(p + ": cannot read: " + e.getMessage());
        }
    }

    public static int[] tokenize(Tokenizer tok, List<String> texts) {
        List<int[]> parts = new ArrayList<>();
        int n = 0;
        for (String t : texts) {
            int[] ids = tok.encode(t, false, false);
            parts.add(ids);
            n += ids.length;
        }
        int[] all = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, all, o, p.length);
            o += p.length;
        }
        return all;
    }

    /** Progress of the phases before and after training, for the command line. */
    public interface Log {
        void info(String message);
    }

    /** Runs (or resumes) training and writes every output; returns the trainer (closed) for its figures. */
    public static Summary run(TrainConfig requested, List<Path> data, String valSpec, Path out, int threads, boolean resume,
                              Trainer.Listener listener, Log log) {
        long t0 = System.nanoTime();
        Texts texts = readTexts(data, valSpec);
        Path ckpt = out.resolve("checkpoint.bin");
        TrainConfig c;
        BpeTrainer.Vocab vocab;
        if (resume) {
            if (!Files.exists(ckpt)) {
                throw new TrainingException(ckpt + ": no checkpoint to resume from");
            }
            Trainer.Header h = Trainer.readHeader(ckpt);
            c = h.config();
            vocab = h.vocab();
            log.info("resuming from " + ckpt);
        } else {
            log.info("learning a " + requested.vocab() + "-token BPE vocabulary...");
            vocab = BpeTrainer.train(texts.train(), requested.vocab());
            c = requested.withVocab(vocab.tokens().size());
        }
        Tokenizer tok = vocab.tokenizer();
        int[] train = tokenize(tok, texts.train());
        int[] val = tok.encode(texts.val(), false, false);
        log.info(String.format(Locale.ROOT, "%,d training tokens, %,d validation tokens, vocabulary %d", train.length,
                val.length, c.vocab()));
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new TrainingException(out + ": cannot create: " + e.getMessage());
        }
        try (Trainer tr = new Trainer(c, vocab, train, val, threads)) {
            if (resume) {
                tr.load(ckpt);
            }
            log.info(String.format(Locale.ROOT, "model: %,d ternary weights + %,d embedding, %d threads",
                    tr.model.ternaryParameters(), (long) c.vocab() * c.dim(), tr.threads()));
            long tt = System.nanoTime();
            int startStep = tr.step();
            tr.run(out, listener);
            double trainSeconds = (System.nanoTime() - tt) / 1e9;
            tr.writeLossTsv(out.resolve("loss.tsv"));
            LossPlot.write(tr.history(), out.resolve("loss.png"));
            double valF16 = tr.evalLoss(val, -1, true);
            String name = "bitnet4j trained " + c.dim() + "x" + c.layers() + " step " + tr.step();
            GgufExport.write(tr.model, tr.params(), vocab, GgmlType.I2_S, GgmlType.F16, name, out.resolve("model-i2_s.gguf"));
            if (GgufExport.supports(c, GgmlType.TQ2_0)) {
                GgufExport.write(tr.model, tr.params(), vocab, GgmlType.TQ2_0, GgmlType.F16, name, out.resolve("model-tq2_0.gguf"));
            } else {
                log.info("no TQ2_0 export: dim and ffn must be multiples of 256");
            }
            GgufExport.write(tr.model, tr.params(), vocab, GgmlType.F32, GgmlType.F32, name, out.resolve("model-f32.gguf"));
            Baselines.Result b = Baselines.compute(train, val, c.vocab());
            Summary s = new Summary(c, tr.step(), (long) tr.step() * c.batch() * c.context(), valF16, Math.exp(valF16),
                    (long) (val.length / c.context()), b.unigramPpl(), b.bigramPpl(), trainSeconds, startStep,
                    (System.nanoTime() - t0) / 1e9, train.length, val.length);
            Trainer.writeAtomically(out.resolve("summary.txt"), s.toText().getBytes(StandardCharsets.UTF_8));
            return s;
        }
    }

    /** The figures of a finished run (validation: every full chunk of the validation text, F16 embedding). */
    public record Summary(TrainConfig config, int steps, long tokensSeen, double valLoss, double valPpl, long valChunks,
                          double unigramPpl, double bigramPpl, double trainSeconds, int resumedFrom, double totalSeconds,
                          int trainTokens, int valTokens) {
        public String toText() {
            return String.format(Locale.ROOT, """
                    config            %s
                    steps             %d (this invocation started at step %d)
                    tokens seen       %,d
                    training tokens   %,d
                    validation tokens %,d (%d chunks of %d scored llama-perplexity style)
                    val loss          %.4f nats/token
                    val perplexity    %.2f
                    unigram ppl       %.2f (add-one smoothing, same tokens)
                    bigram ppl        %.2f (add-one smoothing, same tokens)
                    training time     %.0f s (whole command %.0f s)
                    """, config, steps, resumedFrom, tokensSeen, trainTokens, valTokens, valChunks, config.context(),
                    valLoss, valPpl, unigramPpl, bigramPpl, trainSeconds, totalSeconds);
        }
    }
}
