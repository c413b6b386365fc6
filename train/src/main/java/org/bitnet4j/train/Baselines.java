package org.bitnet4j.train;

import java.util.Arrays;

/**
 * Count-based baselines on the same tokens and the same predictions as {@link Trainer#validate}: a unigram model with
 * add-one smoothing and an interpolated Kneser-Ney bigram model (discount 0.75, the continuation distribution itself
 * add-one smoothed so that no token gets probability 0). The prediction at position 0 of a sequence has BOS as its
 * context, which the bigram model has never seen as a context in the training stream, so it uses the continuation
 * distribution there.
 *
 * @param unigram mean validation NLL of the unigram model (nats/token)
 * @param bigram  mean validation NLL of the bigram model (nats/token)
 */
public record Baselines(double unigram, double bigram) {
    static final double DISCOUNT = 0.75;

    public double unigramPerplexity() {
        return Math.exp(unigram);
    }

    public double bigramPerplexity() {
        return Math.exp(bigram);
    }

    /**
     * @param train training token stream
     * @param val   validation token stream, scored in chunks of seqLen with BOS before each chunk
     */
    public static Baselines compute(int[] train, int[] val, int vocab, int seqLen) {
        long n = train.length;
        long[] uni = new long[vocab];
        for (int t : train) {
            uni[t]++;
        }
        // bigram counts from the sorted pair keys v * vocab + w
        long[] keys = new long[train.length - 1];
        for (int i = 0; i + 1 < train.length; i++) {
            keys[i] = (long) train[i] * vocab + train[i + 1];
        }
        Arrays.sort(keys);
        int distinct = 0;
        for (int i = 0; i < keys.length; i++) {
            if (i == 0 || keys[i] != keys[i - 1]) {
                distinct++;
            }
        }
        long[] pairKey = new long[distinct];
        int[] pairCount = new int[distinct];
        long[] contextCount = new long[vocab];   // c(v.)
        int[] contextTypes = new int[vocab];     // N1+(v.)
        int[] continuation = new int[vocab];     // N1+(.w)
        int k = -1;
        for (int i = 0; i < keys.length; i++) {
            if (i == 0 || keys[i] != keys[i - 1]) {
                k++;
                pairKey[k] = keys[i];
                int v = (int) (keys[i] / vocab), w = (int) (keys[i] % vocab);
                contextTypes[v]++;
                continuation[w]++;
            }
            pairCount[k]++;
            contextCount[(int) (keys[i] / vocab)]++;
        }
        double uniSum = 0, biSum = 0;
        long scored = 0;
        int chunks = val.length / seqLen;
        for (int c = 0; c < chunks; c++) {
            for (int t = 0; t < seqLen; t++) {
                int w = val[c * seqLen + t];
                int v = t == 0 ? -1 : val[c * seqLen + t - 1];
                uniSum -= Math.log((uni[w] + 1.0) / (n + vocab));
                double pCont = (continuation[w] + 1.0) / (distinct + vocab);
                double p;
                if (v < 0 || contextCount[v] == 0) {
                    p = pCont;
                } else {
                    int at = Arrays.binarySearch(pairKey, (long) v * vocab + w);
                    double cvw = at >= 0 ? pairCount[at] : 0;
                    double cv = contextCount[v];
                    p = Math.max(cvw - DISCOUNT, 0) / cv + DISCOUNT * contextTypes[v] / cv * pCont;
                }
                biSum -= Math.log(p);
                scored++;
            }
        }
        return new Baselines(uniSum / scored, biSum / scored);
    }
}
