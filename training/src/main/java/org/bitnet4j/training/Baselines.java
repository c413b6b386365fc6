package org.bitnet4j.training;

import java.util.HashMap;
import java.util.Map;

/**
 * Count-based baselines on the same tokens, for the README's comparison: a unigram and a bigram model with
 * add-one (Laplace) smoothing over the vocabulary, fitted on the training tokens and scored on every validation
 * token after the first (the bigram needs a previous token).
 */
public final class Baselines {
    private Baselines() {}

    /** Mean NLL (nats per token) of the add-one unigram model. */
    public static double unigram(int[] train, int[] val, int vocab) {
        long[] counts = new long[vocab];
        for (int t : train) {
            counts[t]++;
        }
        double total = train.length + (double) vocab;
        double nll = 0;
        for (int i = 1; i < val.length; i++) {
            nll -= Math.log((counts[val[i]] + 1) / total);
        }
        return nll / (val.length - 1);
    }

    /** Mean NLL of the add-one bigram model p(b | a) = (n(a, b) + 1) / (n(a) + V). */
    public static double bigram(int[] train, int[] val, int vocab) {
        Map<Long, Integer> pairs = new HashMap<>();
        long[] first = new long[vocab];
        for (int i = 0; i + 1 < train.length; i++) {
            pairs.merge((long) train[i] * vocab + train[i + 1], 1, Integer::sum);
            first[train[i]]++;
        }
        double nll = 0;
        for (int i = 1; i < val.length; i++) {
            int a = val[i - 1], b = val[i];
            int n = pairs.getOrDefault((long) a * vocab + b, 0);
            nll -= Math.log((n + 1.0) / (first[a] + vocab));
        }
        return nll / (val.length - 1);
    }
}
