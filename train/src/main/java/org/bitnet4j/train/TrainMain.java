package org.bitnet4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bitnet4j.gguf.GgmlType;

/**
 * A plain command line for {@link TrainingRun} without the CLI module (for scripted runs and for a machine without
 * picocli on the class path); prints one progress line per step.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp core.jar:train.jar org.bitnet4j.train.TrainMain \
 *     --data FILE[:FROM-TO][,FILE...] --val FILE[:FROM-TO] --out DIR [--config tiny|small|default]
 *     [--set key=value,...] [--resume] [--seed N] [-t THREADS]
 * </pre>
 */
public final class TrainMain {
    private TrainMain() {}

    public static void main(String[] args) throws Exception {
        List<TextSource> data = new ArrayList<>();
        TextSource val = null;
        Path out = null;
        String preset = "default";
        Map<String, String> set = new LinkedHashMap<>();
        boolean resume = false;
        int threads = Runtime.getRuntime().availableProcessors();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--data" -> {
                        for (String s : args[++i].split(",")) {
                            data.add(TextSource.parse(s));
                        }
                    }
                    case "--val" -> val = TextSource.parse(args[++i]);
                    case "--out" -> out = Path.of(args[++i]);
                    case "--config" -> preset = args[++i];
                    case "--set" -> {
                        for (String kv : args[++i].split(",")) {
                            int eq = kv.indexOf('=');
                            if (eq < 1) {
                                throw new IllegalArgumentException("--set expects key=value, got '" + kv + "'");
                            }
                            set.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
                        }
                    }
                    case "--seed" -> set.put("seed", args[++i]);
                    case "--resume" -> resume = true;
                    case "-t", "--threads" -> threads = Integer.parseInt(args[++i]);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (data.isEmpty() || val == null || out == null) {
                throw new IllegalArgumentException("--data, --val and --out are required");
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            System.err.println("error: an option lacks its value");
            System.exit(2);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
        TrainConfig c = TrainConfig.preset(preset).with(set);
        var o = new TrainingRun.Options(data, val, out, c, resume, threads,
                List.of(GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.F32), true);
        TrainingRun.Result r = TrainingRun.run(o, new TrainingRun.Listener() {
            double lastVal = Double.NaN;

            @Override
            public void message(String text) {
                System.out.println(text);
            }

            @Override
            public void started(int startStep, TrainConfig config, long parameters, long tokensPerStep) {
                System.out.printf(Locale.ROOT, "model: %,d parameters; %,d tokens per step; steps %d..%d%n", parameters,
                        tokensPerStep, startStep + 1, config.steps());
            }

            @Override
            public void validated(int step, double loss) {
                lastVal = loss;
            }

            @Override
            public void step(Trainer.StepStats s) {
                System.out.printf(Locale.ROOT, "step %d/%d loss %.4f val %.4f lr %.2e |g| %.3f %.0f tok/s eta %s%n",
                        s.step(), s.steps(), s.loss(), lastVal, s.lr(), s.gradNorm(), s.tokensPerSecond(),
                        duration(s.etaSeconds()));
            }
        });
        System.out.printf(Locale.ROOT, "validation loss %.4f nats/token (perplexity %.2f) over all %,d validation tokens; "
                        + "engine on %s: %.6f; unigram PPL %.2f, bigram (Kneser-Ney) PPL %.2f%n", r.valLoss(),
                r.valPerplexity(), r.valTokens(), r.models().isEmpty() ? "-" : r.models().getFirst().getFileName(),
                r.engineValLoss(), r.baselines().unigramPerplexity(), r.baselines().bigramPerplexity());
    }

    static String duration(double s) {
        long t = Math.round(s);
        return String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    }
}
