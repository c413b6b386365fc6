package org.bitnet4j.train;

import java.nio.file.Path;
import org.bitnet4j.generate.Perplexity;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;

/**
 * The judge of an export: the inference engine ({@code org.bitnet4j.model}) loads the GGUF file and scores the same
 * validation sequences as {@link Trainer#validate}; its mean negative log-likelihood must equal the trainer's.
 */
public final class EngineCheck {
    private EngineCheck() {}

    /**
     * Mean NLL (nats/token) the engine gives to the sequences [BOS, val[cT .. cT+T-1)] with targets val[cT .. cT+T),
     * for chunks c spread over the text exactly as {@link Trainer#validate}(chunks) spreads them.
     */
    public static double meanNll(Path gguf, int[] val, int seqLen, int chunks, int threads) {
        try (Model m = Model.load(gguf);
             Session s = new Session(m, new SessionOptions(threads, seqLen, seqLen, ActivationMode.INT8))) {
            int vocab = m.config.vocab();
            int bos = m.tokenizer.bos();
            int total = val.length / seqLen;
            int n = Math.min(chunks, total);
            double sum = 0;
            long scored = 0;
            int[] in = new int[seqLen];
            for (int i = 0; i < n; i++) {
                int chunk = (int) ((long) i * total / n);
                in[0] = bos;
                System.arraycopy(val, chunk * seqLen, in, 1, seqLen - 1);
                final int base = chunk * seqLen;
                double[] acc = {0};
                s.reset();
                s.append(in, (logits, off, pos) -> acc[0] -= Perplexity.logSoftmax(logits, off, vocab, val[base + pos]));
                sum += acc[0];
                scored += seqLen;
            }
            s.reset();
            return sum / scored;
        }
    }

    /** Mean NLL the engine gives to tokens[1..] after tokens[0..i], one sequence from position 0. */
    public static double meanNll(Path gguf, int[] tokens, int threads) {
        try (Model m = Model.load(gguf);
             Session s = new Session(m, new SessionOptions(threads, tokens.length - 1, tokens.length - 1,
                     ActivationMode.INT8))) {
            int vocab = m.config.vocab();
            double[] acc = {0};
            s.append(java.util.Arrays.copyOf(tokens, tokens.length - 1),
                    (logits, off, pos) -> acc[0] -= Perplexity.logSoftmax(logits, off, vocab, tokens[pos + 1]));
            return acc[0] / (tokens.length - 1);
        }
    }
}
