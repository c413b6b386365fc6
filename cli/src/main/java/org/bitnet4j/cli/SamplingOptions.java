package org.bitnet4j.cli;

import java.util.ArrayList;
import java.util.List;
import org.bitnet4j.generate.SamplerParams;
import picocli.CommandLine.Option;

/** Sampling flags, llama.cpp's names and defaults. */
final class SamplingOptions {
    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", description = "tokens to generate (-1: until end or context full; default: ${DEFAULT-VALUE})")
    int maxTokens = -1;

    @Option(names = "--temp", paramLabel = "T", description = "temperature, 0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature = 0.8f;

    @Option(names = "--top-k", paramLabel = "K", description = "top-k, 0 = off (default: ${DEFAULT-VALUE})")
    int topK = 40;

    @Option(names = "--top-p", paramLabel = "P", description = "top-p (default: ${DEFAULT-VALUE})")
    float topP = 0.95f;

    @Option(names = "--min-p", paramLabel = "P", description = "min-p (default: ${DEFAULT-VALUE})")
    float minP = 0.05f;

    @Option(names = "--repeat-penalty", paramLabel = "X", description = "repetition penalty, 1 = off (default: ${DEFAULT-VALUE})")
    float repeatPenalty = 1.0f;

    @Option(names = "--repeat-last-n", paramLabel = "N", description = "tokens the penalty looks back (default: ${DEFAULT-VALUE})")
    int repeatLastN = 64;

    @Option(names = "--seed", paramLabel = "N", description = "random seed, -1 = random (default: ${DEFAULT-VALUE})")
    long seed = -1;

    @Option(names = {"-r", "--reverse-prompt", "--stop"}, paramLabel = "TEXT", description = "stop when this text is generated (repeatable)")
    List<String> stop = new ArrayList<>();

    SamplerParams params() {
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, 0f, 0f, seed, maxTokens, stop);
    }
}
