package org.bitnet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import picocli.CommandLine.Option;

/** The options every command that runs a model shares (llama.cpp's names). */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL.gguf",
            description = "GGUF model file (default: the embedded default model)")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "compute threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N",
            description = "context size in tokens (default: the model's, at most 4096)")
    int context = 0;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", description = "prompt tokens per forward pass (default: ${DEFAULT-VALUE})")
    int batch = 128;

    @Option(names = "--float-activations",
            description = "keep linear-layer inputs in float (reference mode for comparing with llama.cpp's F32 output) "
                    + "instead of BitNet's per-token int8 quantisation")
    boolean floatActivations;

    Model load() {
        Path p = model != null ? model : DefaultModel.path();
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException(model != null ? "model file not found: " + p
                    : "no -m given and the embedded default model is missing at " + p);
        }
        return Model.load(p);
    }

    SessionOptions session(Model m) {
        return session(m, 4096);
    }

    /** @param defaultContext used when -c is not given, capped at the model's context_length */
    SessionOptions session(Model m, int defaultContext) {
        int ctx = context > 0 ? context : Math.min(defaultContext, m.config.contextLength());
        if (context > m.config.contextLength()) {
            throw new IllegalArgumentException("-c " + context + " is larger than the model's context_length "
                    + m.config.contextLength());
        }
        return new SessionOptions(threads, ctx, batch, floatActivations ? ActivationMode.FLOAT : ActivationMode.INT8);
    }
}
