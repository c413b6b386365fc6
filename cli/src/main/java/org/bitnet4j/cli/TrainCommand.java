package org.bitnet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.bitnet4j.trainer.TrainConfig;
import org.bitnet4j.trainer.Trainer;
import org.bitnet4j.trainer.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a BitNet b1.58 model: ternary weights and int8 activations in the forward pass, "
                + "straight-through gradients, AdamW with BitNet's two-stage schedule, a byte-level BPE vocabulary "
                + "learned on the data.",
                "Writes DIR/checkpoint.bin, loss.tsv, loss.png, summary.txt and model-i2_s.gguf, model-tq2_0.gguf, "
                        + "model-f32.gguf (all loadable by the engine).",
                "Example: train --data kjv.txt,austen.txt --val austen.txt:Persuasion --out runs/x"})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, split = ",", paramLabel = "FILE", description = "training text files (UTF-8)")
    List<Path> data;

    @Option(names = "--val", required = true, paramLabel = "FILE[:TITLE]",
            description = "validation text; FILE:TITLE takes the section of FILE starting at the line TITLE up to the next "
                    + "novel (\"By Jane Austen\") and leaves it out of the training text")
    String val;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Option(names = "--preset", paramLabel = "NAME", description = "tiny or default (default: ${DEFAULT-VALUE})")
    String preset = "default";

    @Option(names = "--steps", paramLabel = "N", description = "optimiser steps (default: the preset's)")
    Integer steps;

    @Option(names = "--batch", paramLabel = "N", description = "sequences per step (default: the preset's)")
    Integer batch;

    @Option(names = "--context", paramLabel = "N", description = "tokens per sequence (default: the preset's)")
    Integer context;

    @Option(names = "--lr", paramLabel = "X", description = "peak learning rate; stage 2 starts at 2/3 of it")
    Double lr;

    @Option(names = "--seed", paramLabel = "N", description = "seed of initial weights and data order")
    Long seed;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--resume", description = "continue from DIR/checkpoint.bin (its configuration wins)")
    boolean resume;

    @Override
    public Integer call() {
        TrainConfig c = TrainConfig.preset(preset);
        if (steps != null) c = c.withSteps(steps);
        if (batch != null) c = c.withBatch(batch);
        if (context != null) c = c.withContext(context);
        if (lr != null) c = c.withLr(lr);
        if (seed != null) c = c.withSeed(seed);
        PrintWriter err = spec.commandLine().getErr();
        final int total = c.steps();
        try (ProgressBar pb = new ProgressBarBuilder().setTaskName("train").setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer(System.err))
                .build()) {
            double[] lastVal = {Double.NaN};
            TrainingRun.Summary s = TrainingRun.run(c, data, val, out, threads, resume, new Trainer.Listener() {
                @Override
                public void step(int step, int steps, double loss, double lrNow, double tps, double eta) {
                    pb.maxHint(steps);
                    pb.stepTo(step);
                    pb.setExtraMessage(String.format(Locale.ROOT, "loss %.3f val %.3f lr %.2e %.0f tok/s ETA %s", loss,
                            lastVal[0], lrNow, tps, duration(eta)));
                }

                @Override
                public void validated(int step, double valLoss) {
                    lastVal[0] = valLoss;
                    err.printf(Locale.ROOT, "%nstep %d: validation loss %.4f (perplexity %.2f)%n", step, valLoss, Math.exp(valLoss));
                    err.flush();
                }
            }, msg -> {
                err.println(msg);
                err.flush();
            });
            pb.close();
            err.println();
            err.print(s.toText());
            err.flush();
        }
        return 0;
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
