package org.bitnet4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.bitnet4j.training.TrainConfig;
import org.bitnet4j.training.Trainer;
import org.bitnet4j.training.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a BitNet b1.58 model (ternary weights and int8 activations on the forward pass, straight-"
                + "through estimator backward) with a byte-level BPE vocabulary learned on the data; writes checkpoints, "
                + "loss.tsv, loss.png and model-{i2_s,tq2_0,f32}.gguf into --out.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, split = ",", paramLabel = "FILE", description = "training text files")
    List<Path> data;

    @Option(names = "--val", required = true, paramLabel = "FILE[:FROM-TO]",
            description = "validation text, or a line range of it (those lines are then left out of the training text)")
    String val;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Option(names = "--preset", paramLabel = "NAME", description = "tiny or default (default: ${DEFAULT-VALUE})")
    String preset = "default";

    @Option(names = "--config", paramLabel = "KEY=VALUE", split = ",",
            description = "overrides: vocab, dim, layers, heads, kvHeads, ffn, context, batch, steps, lr, lr2, warmup, wd, "
                    + "clip, seed, evalEvery, saveEvery, evalChunks")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--resume", description = "continue from DIR/checkpoint.bin")
    boolean resume;

    @Option(names = "--full-precision",
            description = "train the same architecture with float weights and activations (the papers' baseline); "
                    + "writes only model-f32.gguf, to be run with --float-activations")
    boolean fullPrecision;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() {
        TrainConfig c = TrainConfig.preset(preset).with(overrides);
        var err = spec.commandLine().getErr();
        try (ProgressBar pb = new ProgressBarBuilder().setTaskName("train").setInitialMax(c.steps())
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer(System.err))
                .showSpeed().build()) {
            double[] lastVal = {Double.NaN};
            TrainingRun.Result r = TrainingRun.run(c, data, TrainingRun.Source.parse(val), out, resume, threads, !fullPrecision, new Trainer.Listener() {
                @Override
                public void step(int step, double loss, float lr, double tps) {
                    pb.stepTo(step);
                    pb.setExtraMessage(String.format("loss %.3f val %.3f lr %.2e %.0f tok/s", loss, lastVal[0], lr, tps));
                }

                @Override
                public void eval(int step, double valLoss) {
                    lastVal[0] = valLoss;
                }
            });
            pb.close();
            err.printf("done: %d steps, %,d tokens, %.0f s; validation loss %.4f nats/token (perplexity %.2f); model: %s%n",
                    r.steps(), r.tokensSeen(), r.seconds(), r.valLoss(), Math.exp(r.valLoss()), r.i2s());
        }
        return 0;
    }
}
