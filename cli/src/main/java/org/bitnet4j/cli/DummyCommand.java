package org.bitnet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.model.DummyModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

@Command(name = "dummy", mixinStandardHelpOptions = true,
        description = "Write a random-weight BitNet model: BitNet-b1.58-2B-4T's shape (2B4T) or one of bitnet.cpp's dummy "
                + "sizes (125M 350M 1B 1.5B 2.7B 3.8B 7B 13B 30B 70B 100B). The same seed gives the same ternary weights in "
                + "every type, so conversions between them are lossless.")
final class DummyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--shape", required = true, paramLabel = "SHAPE", description = "2B4T, 125M ... 100B (or tiny)")
    String shape;

    @Option(names = "--type", required = true, paramLabel = "TYPE", description = "i2_s, tq1_0, tq2_0, f16 or f32")
    String type;

    @Option(names = "--embedding", paramLabel = "TYPE", description = "token embedding type: f16 (default), q6_k, q8_0, f32")
    String embedding = "f16";

    @Option(names = "--vocab", paramLabel = "VOCAB.gguf", description = "copy the tokenizer of this GGUF (e.g. Llama 3's)")
    Path vocab;

    @Option(names = "--seed", paramLabel = "N", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "output GGUF")
    Path out;

    @Option(names = "--force", description = "overwrite an existing output file")
    boolean force;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() {
        DummyModel.Shape s = DummyModel.shape(shape);
        GgmlType lin = parseType(type, "--type", "i2_s, tq1_0, tq2_0, f16, f32", GgmlType.I2_S, GgmlType.TQ1_0,
                GgmlType.TQ2_0, GgmlType.F16, GgmlType.F32);
        GgmlType emb = parseType(embedding, "--embedding", "f16, q6_k, q8_0, f32", GgmlType.F16, GgmlType.Q6_K,
                GgmlType.Q8_0, GgmlType.F32);
        if (vocab != null && !Files.isRegularFile(vocab)) {
            throw new IllegalArgumentException("vocabulary file not found: " + vocab);
        }
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
        }
        int v = DummyModel.vocabSize(s, vocab);
        long total = DummyModel.dataBytes(s, v, lin, emb);
        long t0 = System.nanoTime();
        boolean small = total < (64L << 20); // a tiny model would show 0/0 MiB
        try (ProgressBar pb = new ProgressBarBuilder().setTaskName("dummy " + s.name()).setInitialMax(Math.max(1, total >> 10))
                .setUnit(small ? " KiB" : " MiB", small ? 1 : 1024).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer(System.err)).build()) {
            DummyModel.write(s, lin, emb, vocab, seed, out, force, threads, done -> pb.stepTo(done >> 10));
        }
        spec.commandLine().getErr().printf("wrote %s: %s, %s weights + %s embedding, %.2f GiB in %.1f s%n", out, s.name(),
                lin, emb, total / (double) (1L << 30), (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static GgmlType parseType(String v, String opt, String allowed, GgmlType... types) {
        for (GgmlType t : types) {
            if (t.name().equalsIgnoreCase(v.trim())) {
                return t;
            }
        }
        throw new IllegalArgumentException(opt + " " + v.toLowerCase(Locale.ROOT) + " is not supported (use " + allowed + ")");
    }
}
