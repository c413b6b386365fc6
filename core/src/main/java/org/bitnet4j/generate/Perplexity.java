package org.bitnet4j.generate;

import org.bitnet4j.model.ModelException;

/**
 * llama-perplexity's method: the text (tokenised without BOS) is cut into non-overlapping chunks of n_ctx
 * tokens; the first token of each chunk is replaced by BOS when the model adds one; each chunk is evaluated
 * from position 0 and the log-likelihood of tokens first+1 .. n_ctx-1 (first = n_ctx/2) is accumulated.
 */
public final class Perplexity {
    private Perplexity() {}

    /**
     * @param nll      sum of negative log-likelihoods (nats)
     * @param scored   predictions scored
     * @param pplError standard error of the perplexity estimate (llama.cpp's formula)
     */
    public record Result(double ppl, double pplError, double nll, long scored, int chunks) {
        public double meanNll() {
            return nll / scored;
        }
    }

    @FunctionalInterface
    public interface Progress {
        void chunkDone(int chunk, double pplSoFar);
    }

    public static Result compute(Session s, int[] tokens, int maxChunks, Progress progress) {
        int ctx = s.contextLength();
        int vocab = s.model().config.vocab();
        int chunks = tokens.length / ctx;
        if (maxChunks >= 0) {
            chunks = Math.min(chunks, maxChunks);
        }
        if (chunks < 1 || ctx < 4) {
            throw new ModelException("the text has " + tokens.length + " tokens; perplexity needs at least one chunk of "
                    + ctx + " tokens (use a smaller -c or a longer text)");
        }
        boolean bos = s.model().tokenizer.addBos();
        int first = ctx / 2;
        double[] acc = new double[2]; // sum nll, sum nll^2
        long[] count = new long[1];
        int[] chunk = new int[ctx];
        for (int c = 0; c < chunks; c++) {
            System.arraycopy(tokens, c * ctx, chunk, 0, ctx);
            if (bos) {
                chunk[0] = s.model().tokenizer.bos();
            }
            s.reset();
            s.append(chunk, (logits, off, pos) -> {
                if (pos >= first && pos < ctx - 1) {
                    double nll = -logSoftmax(logits, off, vocab, chunk[pos + 1]);
                    acc[0] += nll;
                    acc[1] += nll * nll;
                    count[0]++;
                }
            });
            if (progress != null) {
                progress.chunkDone(c + 1, Math.exp(acc[0] / count[0]));
            }
        }
        s.reset();
        double mean = acc[0] / count[0];
        double var = acc[1] / count[0] - mean * mean;
        double ppl = Math.exp(mean);
        double err = count[0] > 1 ? ppl * Math.sqrt(Math.max(var, 0) / (count[0] - 1)) : 0;
        return new Result(ppl, err, acc[0], count[0], chunks);
    }

    /** log softmax(logits)[target], in double. */
    public static double logSoftmax(float[] logits, int off, int n, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp((double) logits[off + i] - max);
        }
        return (double) logits[off + target] - max - Math.log(sum);
    }
}
