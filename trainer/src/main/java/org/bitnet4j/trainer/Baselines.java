package org.bitnet4j.trainer;

/**
 * Count-based reference points on the same tokens: add-one (Laplace) smoothed unigram and bigram models
 * estimated on the training tokens, perplexity over every validation token (the bigram conditions on the
 * previous validation token; the first token is scored by the unigram).
 */
public final class Baselines {
    private Baselines() {}

    public record Result(double unigramPpl, double bigramPpl) {}

    public static Result compute(int[] train, int[] val, int vocab) {
        long[] uni = new long[vocab];
        java.util.HashMap<Long, Integer> bi = new java.util.HashMap<>();
        for (int i = 0; i < train.length; i++) {
            uni[train[i]]++;
            if (i > 0) {
                bi.merge((long) train[i - 1] * vocab + train[i], 1, Integer::sum);
            }
        }
        long[] ctx = new long[vocab]; // count of each token as a bigram's left side
        for (int i = 0; i + 1 < train.length; i++) {
            ctx[train[i]]++;
        }
        double nllU = 0, nllB = 0;
        for (int i = 0; i < val.length; i++) {
            double pu = (uni[val[i]] + 1.0) / (train.length + vocab);
            nllU -= Math.log(pu);
            if (i == 0) {
                nllB -= Math.log(pu);
            } else {
                int prev = val[i - 1];
                double pb = (bi.getOrDefault((long) prev * vocab + val[i], 0) + 1.0) / (ctx[prev] + vocab);
                nllB -= Math.log(pb);
            }
        }
        return new Result(Math.exp(nllU / val.length), Math.exp(nllB / val.length));
    }
}
