package org.bitnet4j.generate;

import java.util.Arrays;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Forward;
import org.bitnet4j.model.KvCache;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.bitnet4j.model.ThreadPool;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * One conversation with a model: its KV cache, the tokens in it, and generation. A new prompt that starts
 * with tokens already in the cache reuses them (multi-turn chat evaluates only the new turn).
 *
 * <pre>{@code
 * try (Model m = Model.load(path); Session s = new Session(m, SessionOptions.defaults())) {
 *     GenerationResult r = s.generate(m.tokenizer.encode("Hello", true, false), SamplerParams.DEFAULT, System.out::print);
 * }
 * }</pre>
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final SessionOptions options;
    private final ThreadPool pool;
    private final Forward forward;
    private final KvCache cache;
    private final int context;
    private final int vocab;
    private int[] tokens = new int[256]; // tokens whose keys and values are in the cache
    private int length;
    private final float[] logits;        // [batch][vocab] when all positions are asked for
    // per-batch scratch, allocated once
    private final int[] rowTokens, rowPositions;
    private final KvCache[] rowCaches;
    private final boolean[] lastOnly;

    public Session(Model model, SessionOptions options) {
        this.model = model;
        this.options = options;
        this.context = options.contextLength() == 0 ? model.config.contextLength()
                : Math.min(options.contextLength(), model.config.contextLength());
        if (options.contextLength() > model.config.contextLength()) {
            throw new ModelException("context " + options.contextLength() + " is larger than the model's "
                    + model.config.contextLength() + " tokens");
        }
        int batch = Math.min(options.batchSize(), context);
        this.pool = new ThreadPool(options.threads());
        this.forward = new Forward(model, pool, batch, context);
        this.cache = new KvCache(model.config, context);
        this.vocab = model.config.vocab();
        this.logits = new float[batch * vocab];
        this.rowTokens = new int[batch];
        this.rowPositions = new int[batch];
        this.rowCaches = new KvCache[batch];
        Arrays.fill(rowCaches, cache);
        this.lastOnly = new boolean[batch];
    }

    public Model model() {
        return model;
    }

    public SessionOptions options() {
        return options;
    }

    public int contextLength() {
        return context;
    }

    /** Tokens currently in the KV cache. */
    public int position() {
        return length;
    }

    public int[] tokens() {
        return Arrays.copyOf(tokens, length);
    }

    /** Forgets the cache (the next prompt is evaluated from position 0). */
    public void reset() {
        length = 0;
    }

    /** Drops cached tokens beyond n (n <= position()). */
    public void truncate(int n) {
        if (n < 0 || n > length) {
            throw new IllegalArgumentException("cannot truncate " + length + " cached tokens to " + n);
        }
        length = n;
    }

    /**
     * Appends tokens to the sequence and evaluates them in batches.
     *
     * @param sink receives the logits of every appended token ([vocab] each, in order) when not null
     * @return the logits of the last token (a view valid until the next call)
     */
    public float[] append(int[] toks, LogitsSink sink) {
        if (toks.length == 0) {
            throw new IllegalArgumentException("nothing to evaluate");
        }
        if (length + toks.length > context) {
            throw new ModelException("the sequence needs " + (length + toks.length) + " tokens but the context holds "
                    + context + " (raise -c up to the model's " + model.config.contextLength() + ")");
        }
        int batch = forward.maxBatch;
        float[] last = null;
        for (int start = 0; start < toks.length; start += batch) {
            int n = Math.min(batch, toks.length - start);
            for (int i = 0; i < n; i++) {
                rowTokens[i] = toks[start + i];
                rowPositions[i] = length + i;
                lastOnly[i] = i == n - 1;
            }
            int rows = forward.forward(n, rowTokens, rowPositions, rowCaches, sink == null ? lastOnly : null, logits, options.mode());
            if (sink != null) {
                for (int r = 0; r < rows; r++) {
                    sink.accept(logits, r * vocab, length + r);
                }
            }
            push(toks, start, n);
            last = logits;
            if (sink != null) {
                // keep the last row at offset 0 so callers can sample from it
                System.arraycopy(logits, (rows - 1) * vocab, logits, 0, vocab);
            }
        }
        return last;
    }

    /** Receives logits row by row: logits[off .. off+vocab) for the token at position pos. */
    @FunctionalInterface
    public interface LogitsSink {
        void accept(float[] logits, int off, int pos);
    }

    /**
     * Generates text after the prompt. If the cache already holds a prefix of the prompt, only the rest is
     * evaluated. Stops at an end-of-generation token, a stop string, maxTokens, the context end, or when the
     * listener returns false.
     */
    public GenerationResult generate(int[] prompt, SamplerParams params, TokenListener listener) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        int common = 0;
        while (common < length && common < prompt.length && tokens[common] == prompt[common]) {
            common++;
        }
        if (common == prompt.length) {
            common--; // at least one token must be evaluated to get logits
        }
        length = common;
        if (prompt.length >= context) {
            throw new ModelException("the prompt has " + prompt.length + " tokens but the context holds " + context
                    + " (raise -c up to the model's " + model.config.contextLength() + ")");
        }
        Tokenizer tok = model.tokenizer;
        int[] eog = tok.endOfGenerationIds();
        Sampler sampler = new Sampler(params, vocab);
        TextStream text = new TextStream(params.stop());
        long t0 = System.nanoTime();
        float[] l = append(Arrays.copyOfRange(prompt, common, prompt.length), null);
        long t1 = System.nanoTime();
        int generated = 0;
        FinishReason reason = null;
        int[] one = new int[1];
        while (reason == null) {
            if (params.maxTokens() >= 0 && generated >= params.maxTokens()) {
                reason = FinishReason.LENGTH;
                break;
            }
            int next = sampler.sample(l, 0, tokens, length);
            generated++;
            if (contains(eog, next)) {
                reason = FinishReason.STOP;
                break;
            }
            // control tokens (chat markers, reserved ids) steer the model but are not text, as in llama.cpp
            String piece = text.add(tok.isControl(next) ? NO_BYTES : tok.tokenBytes(next));
            if (!piece.isEmpty() && !listener.onText(piece)) {
                reason = FinishReason.CANCELLED;
            }
            if (text.stopped()) {
                reason = FinishReason.STOP;
            }
            if (reason != null) {
                // the token is part of the answer: keep it in the cache so a chat can continue after it
                if (length < context) {
                    one[0] = next;
                    append(one, null);
                }
                break;
            }
            if (length >= context) {
                reason = FinishReason.CONTEXT;
                break;
            }
            one[0] = next;
            l = append(one, null);
        }
        String rest = text.finish();
        if (!rest.isEmpty()) {
            listener.onText(rest);
        }
        long t2 = System.nanoTime();
        return new GenerationResult(text.text(), reason, prompt.length, common, generated, t1 - t0, t2 - t1);
    }

    private static final byte[] NO_BYTES = new byte[0];

    private void push(int[] src, int from, int n) {
        if (length + n > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, length + n));
        }
        System.arraycopy(src, from, tokens, length, n);
        length += n;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    public ActivationMode mode() {
        return options.mode();
    }

    @Override
    public void close() {
        pool.close();
    }
}
