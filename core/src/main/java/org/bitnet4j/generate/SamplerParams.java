package org.bitnet4j.generate;

import java.util.List;

/**
 * Generation settings, llama.cpp's names and defaults. temperature <= 0 means greedy.
 *
 * @param repeatLastN how many recent tokens the repetition penalty looks at (0: none, -1: whole context)
 * @param maxTokens   tokens to generate at most (-1: until end of generation or the context is full)
 * @param stop        strings that end generation; the text returned stops before them
 */
public record SamplerParams(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN,
                            float presencePenalty, float frequencyPenalty, long seed, int maxTokens, List<String> stop) {

    public static final SamplerParams DEFAULT = new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 0f, 0f, -1, -1, List.of());
    public static final SamplerParams GREEDY = new SamplerParams(0f, 0, 1f, 0f, 1f, 64, 0f, 0f, 0, -1, List.of());

    public SamplerParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (Float.isNaN(temperature) || temperature < 0) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        }
        if (!(repeatPenalty > 0)) {
            throw new IllegalArgumentException("repeat penalty must be > 0, got " + repeatPenalty);
        }
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }

    public SamplerParams withMaxTokens(int n) {
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty,
                seed, n, stop);
    }

    public SamplerParams withSeed(long s) {
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty,
                s, maxTokens, stop);
    }

    public SamplerParams withStop(List<String> s) {
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty,
                seed, maxTokens, s);
    }
}
