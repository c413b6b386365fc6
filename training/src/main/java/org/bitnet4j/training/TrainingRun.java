package org.bitnet4j.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * A whole run as the CLI does it: learn the BPE vocabulary on the training text (or reuse the one saved in the
 * output folder), tokenise with the engine's tokenizer, train (resuming from DIR/checkpoint.bin when asked), and
 * export DIR/model-{i2_s,tq2_0,f32}.gguf, DIR/loss.tsv and DIR/loss.png.
 */
public final class TrainingRun {
    private TrainingRun() {}

    public record Result(double valLoss, int steps, long tokensSeen, double seconds, Path i2s) {}

    /** A text file, or the lines [from, to] (1-based, inclusive) of it. */
    public record Source(Path file, int from, int to) {
        public static Source parse(String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon > 0 && spec.substring(colon + 1).matches("\\d+-\\d+")) {
                String[] r = spec.substring(colon + 1).split("-");
                return new Source(Path.of(spec.substring(0, colon)), Integer.parseInt(r[0]), Integer.parseInt(r[1]));
            }
            return new Source(Path.of(spec), 1, Integer.MAX_VALUE);
        }
    }

    public static Result run(TrainConfig c, List<Path> data, Source valSource, Path out, boolean resume, int threads,
                             Trainer.Listener listener) {
        return run(c, data, valSource, out, resume, threads, true, listener);
    }

    /**
     * @param ternary false: the full-precision baseline of the same shape (float weights and activations); only
     *                the F32 file is written, to be run with the engine's --float-activations
     */
    public static Result run(TrainConfig c, List<Path> data, Source valSource, Path out, boolean resume, int threads,
                             boolean ternary, Trainer.Listener listener) {
        try {
            Files.createDirectories(out);
            // the validation lines are cut out of a training file that contains them
            StringBuilder tb = new StringBuilder(), vb = new StringBuilder();
            for (Path p : data) {
                List<String> lines = readLines(p);
                boolean same = Files.isSameFile(p, valSource.file());
                for (int i = 0; i < lines.size(); i++) {
                    boolean inVal = same && i + 1 >= valSource.from() && i + 1 <= valSource.to();
                    if (!inVal) {
                        tb.append(lines.get(i)).append('\n');
                    }
                }
            }
            List<String> vl = readLines(valSource.file());
            for (int i = Math.max(0, valSource.from() - 1); i < Math.min(vl.size(), valSource.to()); i++) {
                vb.append(vl.get(i)).append('\n');
            }
            String trainText = tb.toString();
            String valText = vb.toString();
            Path vocabFile = out.resolve("vocab.txt");
            Vocab vocab;
            if (resume && Files.exists(vocabFile)) {
                vocab = readVocab(vocabFile);
            } else {
                vocab = Vocab.fromBpe(Bpe.train(trainText, c.vocab() - 256 - 3));
                writeVocab(vocab, vocabFile);
            }
            if (vocab.size() != c.vocab()) {
                c = c.with(java.util.Map.of("vocab", Integer.toString(vocab.size())));
            }
            Tokenizer tok = vocab.tokenizer();
            int[] train = tok.encode(trainText, false, false);
            int[] val = tok.encode(valText, false, false);
            Path ckpt = out.resolve("checkpoint.bin");
            Path tsv = out.resolve("loss.tsv");
            long t0 = System.nanoTime();
            try (Trainer tr = new Trainer(c, train, val, vocab.bos(), threads, ternary)) {
                if (resume && Files.exists(ckpt)) {
                    tr.load(ckpt);
                } else {
                    Files.writeString(tsv, "step\ttrain_loss\tval_loss\tlr\n");
                }
                TrainConfig cc = c;
                tr.run(ckpt, new Trainer.Listener() {
                    @Override
                    public void step(int step, double loss, float lr, double tps) {
                        append(tsv, String.format(Locale.ROOT, "%d\t%.6f\t\t%.6g%n", step, loss, lr));
                        listener.step(step, loss, lr, tps);
                    }

                    @Override
                    public void eval(int step, double valLoss) {
                        append(tsv, String.format(Locale.ROOT, "%d\t\t%.6f\t%n", step, valLoss));
                        listener.eval(step, valLoss);
                    }
                });
                double val1 = tr.evalLoss();
                Files.writeString(out.resolve("baselines.txt"), String.format(Locale.ROOT,
                        "validation tokens %d, training tokens %d, vocabulary %d%nunigram (add-one) %.4f nats/token, perplexity %.2f%n"
                                + "bigram (add-one) %.4f nats/token, perplexity %.2f%n", val.length, train.length, vocab.size(),
                        Baselines.unigram(train, val, vocab.size()), Math.exp(Baselines.unigram(train, val, vocab.size())),
                        Baselines.bigram(train, val, vocab.size()), Math.exp(Baselines.bigram(train, val, vocab.size()))));
                GgmlType[] types = ternary ? new GgmlType[] {GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.F32}
                        : new GgmlType[] {GgmlType.F32};
                for (GgmlType t : types) {
                    Exporter.write(tr, vocab, t, out.resolve("model-" + t.name().toLowerCase(Locale.ROOT) + ".gguf"), true);
                }
                LossPlot.write(tsv, out.resolve("loss.png"));
                return new Result(val1, tr.step(), (long) tr.step() * cc.batch() * cc.context(), (System.nanoTime() - t0) / 1e9,
                        out.resolve(ternary ? "model-i2_s.gguf" : "model-f32.gguf"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** Tokens of the training and validation text as a run splits them, with the vocabulary saved in dir. */
    public static int[][] tokens(Path vocabFile, List<Path> data, Source valSource) throws IOException {
        Vocab vocab = readVocab(vocabFile);
        StringBuilder tb = new StringBuilder(), vb = new StringBuilder();
        for (Path p : data) {
            List<String> lines = readLines(p);
            boolean same = Files.isSameFile(p, valSource.file());
            for (int i = 0; i < lines.size(); i++) {
                if (!(same && i + 1 >= valSource.from() && i + 1 <= valSource.to())) {
                    tb.append(lines.get(i)).append('\n');
                }
            }
        }
        List<String> vl = readLines(valSource.file());
        for (int i = Math.max(0, valSource.from() - 1); i < Math.min(vl.size(), valSource.to()); i++) {
            vb.append(vl.get(i)).append('\n');
        }
        Tokenizer tok = vocab.tokenizer();
        return new int[][] {tok.encode(tb.toString(), false, false), tok.encode(vb.toString(), false, false), {vocab.size()}};
    }

    static List<String> readLines(Path p) throws IOException {
        try {
            return Files.readAllLines(p, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("text file not found: " + p);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IllegalArgumentException(p + " is not valid UTF-8 text");
        }
    }

    private static void append(Path p, String line) {
        try {
            Files.writeString(p, line, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeVocab(Vocab v, Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("# bitnet4j BPE merges, one per line (tokens are bytes + merges + 3 control tokens)");
        lines.addAll(v.merges());
        Files.write(file, lines, StandardCharsets.UTF_8);
    }

    static Vocab readVocab(Path file) throws IOException {
        List<String> merges = new ArrayList<>();
        for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!l.startsWith("#")) {
                merges.add(l);
            }
        }
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(Bpe.byteToUnicode(b));
        }
        for (String m : merges) {
            tokens.add(m.replace(" ", ""));
        }
        return Vocab.fromBpe(new Bpe.Result(tokens, merges));
    }
}
