package org.bitnet4j.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SamplerTest {
    static SamplerParams params(float temp, int topK, float topP, float minP, float repeat, long seed) {
        return new SamplerParams(temp, topK, topP, minP, repeat, 64, 0f, 0f, seed, -1, List.of());
    }

    static float[] logitsFor(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    @Test
    void greedyPicksTheArgmaxWithLowestIdOnTies() {
        Sampler s = new Sampler(SamplerParams.GREEDY, 5);
        assertEquals(3, s.sample(new float[] {0f, 1f, 2f, 5f, 4f}, 0, new int[0], 0));
        assertEquals(1, s.sample(new float[] {0f, 5f, 2f, 5f, 4f}, 0, new int[0], 0));
    }

    @Test
    void temperatureOneDrawsFromTheSoftmax() {
        double[] p = {0.5, 0.25, 0.125, 0.0625, 0.0625};
        Sampler s = new Sampler(params(1f, 0, 1f, 0f, 1f, 42), p.length);
        int[] counts = new int[p.length];
        int n = 200_000;
        float[] l = logitsFor(p);
        for (int i = 0; i < n; i++) {
            counts[s.sample(l, 0, new int[0], 0)]++;
        }
        for (int i = 0; i < p.length; i++) {
            // binomial standard deviation is < 0.0012 here; 5 sigma
            assertEquals(p[i], counts[i] / (double) n, 0.006, "token " + i);
        }
    }

    @Test
    void sameSeedSameTokens() {
        float[] l = logitsFor(0.3, 0.3, 0.2, 0.1, 0.1);
        Sampler a = new Sampler(params(0.9f, 0, 1f, 0f, 1f, 7), 5);
        Sampler b = new Sampler(params(0.9f, 0, 1f, 0f, 1f, 7), 5);
        for (int i = 0; i < 100; i++) {
            assertEquals(a.sample(l, 0, new int[0], 0), b.sample(l, 0, new int[0], 0));
        }
    }

    @Test
    void topKTopPAndMinPCutTheTail() {
        float[] l = logitsFor(0.5, 0.3, 0.15, 0.05);
        int[] seen = new int[4];
        Sampler k2 = new Sampler(params(1f, 2, 1f, 0f, 1f, 1), 4);
        Sampler p07 = new Sampler(params(1f, 0, 0.7f, 0f, 1f, 2), 4);   // 0.5 + 0.3 >= 0.7: two tokens
        Sampler min = new Sampler(params(1f, 0, 1f, 0.2f, 1f, 3), 4);  // keeps p >= 0.2 * 0.5 = 0.1: three tokens
        int[] seenMin = new int[4];
        for (int i = 0; i < 5000; i++) {
            seen[k2.sample(l, 0, new int[0], 0)]++;
            seen[p07.sample(l, 0, new int[0], 0)]++;
            seenMin[min.sample(l, 0, new int[0], 0)]++;
        }
        assertEquals(0, seen[2] + seen[3]);
        assertTrue(seen[0] > 0 && seen[1] > 0);
        assertEquals(0, seenMin[3]);
        assertTrue(seenMin[2] > 0);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        // token 0 leads by a little; after being penalised token 1 wins; negative token 2 is pushed further down
        Sampler s = new Sampler(new SamplerParams(0f, 0, 1f, 0f, 1.5f, 64, 0f, 0f, 0, -1, List.of()), 3);
        float[] l = {3f, 2.5f, -1f};
        assertEquals(0, s.sample(l, 0, new int[] {2}, 1));
        assertEquals(1, s.sample(l, 0, new int[] {0, 2}, 2));
        // only the last repeatLastN tokens count
        Sampler s1 = new Sampler(new SamplerParams(0f, 0, 1f, 0f, 1.5f, 1, 0f, 0f, 0, -1, List.of()), 3);
        assertEquals(0, s1.sample(l, 0, new int[] {0, 2}, 2));
    }

    @Test
    void invalidSettingsAreRejectedWithTheirName() {
        assertEquals("top-p must be in (0, 1], got 1.5",
                assertThrows(IllegalArgumentException.class, () -> params(1f, 0, 1.5f, 0f, 1f, 0)).getMessage());
        assertEquals("temperature must be >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> params(-1f, 0, 1f, 0f, 1f, 0)).getMessage());
    }
}
