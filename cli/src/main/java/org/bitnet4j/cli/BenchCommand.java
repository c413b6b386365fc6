package org.bitnet4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/**
 * llama-bench's two tests: ppN evaluates N random tokens as one batch from an empty cache; tgN decodes N tokens
 * one at a time from an empty cache. Each is repeated -r times after one warm-up run; mean and standard deviation
 * of tokens/s are reported per thread count.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark prompt processing (pp) and token generation (tg) speed, like llama-bench.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf", description = "GGUF model file")
    Path model;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", split = ",", description = "prompt lengths (default: 128; 0 skips)")
    int[] prompt = {128};

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", split = ",", description = "generated tokens (default: 64; 0 skips)")
    int[] gen = {64};

    @Option(names = {"-t", "--threads"}, paramLabel = "N,N", split = ",", description = "thread counts (default: all cores)")
    int[] threads = {Runtime.getRuntime().availableProcessors()};

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", description = "repetitions (default: ${DEFAULT-VALUE})")
    int reps = 3;

    @Option(names = "--float-activations", description = "float activations instead of int8")
    boolean floatActivations;

    @Option(names = "--json", description = "print JSON instead of the table")
    boolean json;

    record Row(String model, String type, long sizeBytes, long params, int threads, String test, double tokensPerSecond,
               double stddev, long peakRssBytes, double energyJoulesPerToken, double bandwidthBoundTokensPerSecond) {}

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("model file not found: " + model);
        }
        if (reps < 1) {
            throw new IllegalArgumentException("-r must be >= 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Row> rows = new ArrayList<>();
        try (Model m = Model.load(model)) {
            ModelConfig c = m.config;
            String type = weightTypes(m);
            long size = Files.size(model);
            long params = m.parameterCount();
            if (!json) {
                out.printf("| %-28s | %10s | %8s | %7s | %6s | %16s | %9s | %10s |%n", "model", "size", "params", "threads",
                        "test", "t/s", "peak RSS", "mJ/token");
                out.println("| ---------------------------- | ---------: | -------: | ------: | -----: | ---------------: | --------: | ---------: |");
            }
            for (int t : threads) {
                for (int p : prompt) {
                    if (p > 0) {
                        rows.add(measure(m, type, size, params, t, "pp" + p, p, true));
                        print(out, rows.getLast());
                    }
                }
                for (int n : gen) {
                    if (n > 0) {
                        rows.add(measure(m, type, size, params, t, "tg" + n, n, false));
                        print(out, rows.getLast());
                    }
                }
            }
        }
        if (json) {
            ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            out.println(om.writeValueAsString(rows));
        }
        return 0;
    }

    private void print(PrintWriter out, Row r) {
        if (json) {
            return;
        }
        out.printf("| %-28s | %10s | %8s | %7d | %6s | %7.2f ± %6.2f | %9s | %10.4g |%n",
                r.model() + " " + r.type(), bytes(r.sizeBytes()), count(r.params()), r.threads(), r.test(),
                r.tokensPerSecond(), r.stddev(), bytes(r.peakRssBytes()), r.energyJoulesPerToken() * 1e3);
        out.flush();
    }

    static String bytes(long b) {
        return b >= 1L << 30 ? String.format("%.2f GiB", b / (double) (1L << 30)) : String.format("%.1f MiB", b / (double) (1L << 20));
    }

    static String count(long n) {
        return n >= 1_000_000_000L ? String.format("%.2f B", n / 1e9) : String.format("%.2f M", n / 1e6);
    }

    private Row measure(Model m, String type, long size, long params, int t, String test, int n, boolean prefill) {
        int ctx = Math.min(m.config.contextLength(), Math.max(n + 1, 16));
        SessionOptions so = new SessionOptions(t, ctx, prefill ? n : 1,
                floatActivations ? ActivationMode.FLOAT : ActivationMode.INT8);
        SplittableRandom rnd = new SplittableRandom(1234);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = rnd.nextInt(m.config.vocab());
        }
        double[] tps = new double[reps];
        try (Session s = new Session(m, so)) {
            int[] one = new int[1];
            for (int rep = -1; rep < reps; rep++) { // rep -1 is the warm-up
                s.reset();
                long t0 = System.nanoTime();
                if (prefill) {
                    s.append(tokens, null);
                } else {
                    for (int i = 0; i < n; i++) {
                        one[0] = tokens[i];
                        s.append(one, null);
                    }
                }
                long dt = System.nanoTime() - t0;
                if (rep >= 0) {
                    tps[rep] = n * 1e9 / dt;
                }
            }
        }
        double mean = 0;
        for (double v : tps) {
            mean += v / reps;
        }
        double var = 0;
        for (double v : tps) {
            var += (v - mean) * (v - mean);
        }
        double sd = reps > 1 ? Math.sqrt(var / (reps - 1)) : 0;
        String name = m.path().getFileName().toString();
        return new Row(name, type, size, params, t, test, mean, sd, peakRss(), Energy.joulesPerToken(m, floatActivations),
                0);
    }

    /** "I2_S + F16" style: the ternary weights' type and the embedding's. */
    static String weightTypes(Model m) {
        Map<String, Long> bytesByType = new LinkedHashMap<>();
        for (GgufTensorInfo ti : m.file().tensors()) {
            if (ti.dims().length == 2 && !ti.name().startsWith("token_embd") && !ti.name().startsWith("output.")) {
                bytesByType.merge(ti.type().name(), ti.byteSize(), Long::sum);
            }
        }
        String lin = bytesByType.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse("?");
        GgufTensorInfo e = m.file().tensor("token_embd.weight");
        return lin + (e != null ? " + " + e.type().name() : "");
    }

    /** VmHWM of this process (Linux), or 0 where /proc is not there. */
    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
