package org.bitnet4j.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bitnet4j.generate.FinishReason;
import org.bitnet4j.generate.Sampler;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.TextStream;
import org.bitnet4j.model.Forward;
import org.bitnet4j.model.KvCache;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.bitnet4j.model.ThreadPool;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * Continuous batching: one scheduler thread owns every slot (a KV cache and the state of the sequence in it)
 * and loops: admit waiting requests into free slots, build one batch of rows (one decode row per generating
 * slot, then prompt rows of new requests up to the row budget), run one forward pass, sample each slot that
 * got logits, hand its text to the request's sink, and free slots whose request ended or was cancelled.
 *
 * <p>A row's result does not depend on the other rows of its batch, so a request's output is the one a
 * single {@link org.bitnet4j.generate.Session} gives for the same prompt and sampler settings: the slot
 * follows Session's stopping rules in the same order (end-of-generation token, stop string, full context,
 * max tokens).
 */
public final class BatchEngine implements AutoCloseable {
    private static final byte[] NO_BYTES = new byte[0];

    private final Model model;
    private final EngineOptions options;
    private final Tokenizer tokenizer;
    private final int vocab;
    private final int[] eog;
    private final ThreadPool pool;
    private final Forward forward;
    private final Slot[] slots;
    private final LinkedBlockingDeque<Job> queue = new LinkedBlockingDeque<>();
    /** requests queued or in a slot; bounded by slots + queueCapacity */
    private final AtomicInteger inSystem = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final EngineStats stats = new EngineStats();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean dead;
    /** test hook: runs on the scheduler thread before each forward pass (a test can hold the engine here) */
    volatile Runnable beforeStep;

    // one step's rows, sized once
    private final int maxRows;
    private final int[] rowTokens, rowPositions;
    private final KvCache[] rowCaches;
    private final boolean[] rowWants;
    private final Slot[] rowSlots;
    private final float[] logits; // [slots][vocab]: at most one wanted row per slot and step

    public BatchEngine(Model model, EngineOptions options) {
        if (options.contextLength() > model.config.contextLength()) {
            throw new ModelException("context " + options.contextLength() + " is larger than the model's "
                    + model.config.contextLength() + " tokens");
        }
        this.model = model;
        this.options = options;
        this.tokenizer = model.tokenizer;
        this.vocab = model.config.vocab();
        this.eog = tokenizer.endOfGenerationIds();
        this.maxRows = Math.min(options.rowsPerStep(), Math.max(options.slots(), options.contextLength()));
        this.slots = new Slot[options.slots()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(new KvCache(model.config, options.contextLength()), options.contextLength());
        }
        this.rowTokens = new int[maxRows];
        this.rowPositions = new int[maxRows];
        this.rowCaches = new KvCache[maxRows];
        this.rowWants = new boolean[maxRows];
        this.rowSlots = new Slot[maxRows];
        this.logits = new float[Math.multiplyExact(options.slots(), vocab)];
        this.pool = new ThreadPool(options.threads());
        this.forward = new Forward(model, pool, maxRows, options.contextLength());
        this.thread = Thread.ofPlatform().name("bitnet4j-scheduler").daemon().unstarted(this::loop);
        thread.start();
    }

    public Model model() {
        return model;
    }

    public EngineOptions options() {
        return options;
    }

    public EngineStats stats() {
        return stats;
    }

    /** Requests waiting for a slot. */
    public int queueLength() {
        return queue.size();
    }

    /** Slots holding a request. */
    public int activeSlots() {
        return active.get();
    }

    /**
     * Queues a request. The sink hears from the scheduler thread only.
     *
     * @throws IllegalArgumentException if the prompt is empty or does not leave room for one generated token
     * @throws QueueFullException       if every slot is busy and the wait queue is full
     */
    public Job submit(int[] prompt, SamplerParams params, GenerationSink sink) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (prompt.length >= options.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                    + options.contextLength() + " (prompt and completion must fit)");
        }
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary 0.." + (vocab - 1));
            }
        }
        if (!running || dead) {
            throw new IllegalStateException("the engine is closed");
        }
        int limit = options.slots() + options.queueCapacity();
        while (true) {
            int n = inSystem.get();
            if (n >= limit) {
                stats.rejected.increment();
                throw new QueueFullException(options.queueCapacity());
            }
            if (inSystem.compareAndSet(n, n + 1)) {
                break;
            }
        }
        Job job = new Job(prompt.clone(), params, sink);
        queue.addLast(job);
        if (dead && queue.remove(job)) { // raced with the scheduler's last drain: nobody would answer it
            inSystem.decrementAndGet();
            throw new IllegalStateException("the engine is closed");
        }
        return job;
    }

    /** A submitted request: the HTTP side cancels it when its client goes away. */
    public static final class Job {
        final int[] prompt;
        final SamplerParams params;
        final GenerationSink sink;
        private volatile boolean cancelled;

        Job(int[] prompt, SamplerParams params, GenerationSink sink) {
            this.prompt = prompt;
            this.params = params;
            this.sink = sink;
        }

        /** Frees the request's slot at the next step; the sink gets onDone with CANCELLED. */
        public void cancel() {
            cancelled = true;
        }

        public boolean cancelled() {
            return cancelled;
        }
    }

    /** A KV cache and the sequence in it. Touched by the scheduler thread only. */
    private static final class Slot {
        final KvCache cache;
        final int[] tokens;   // [context] tokens whose keys and values are in the cache
        Job job;
        int length;           // tokens in the cache
        int prefilled;        // prompt tokens in the cache
        int reused;           // prompt tokens found in the cache on admission
        int cached;           // while free: tokens still valid in the cache from the last request
        int chunk;            // prompt rows in the current batch
        int pending;          // sampled token to evaluate next step
        int generated;
        Sampler sampler;
        TextStream text;

        Slot(KvCache cache, int context) {
            this.cache = cache;
            this.tokens = new int[context];
        }

        boolean prefilling() {
            return prefilled < job.prompt.length;
        }

        /** Leading tokens of prompt that are already in this free slot's cache. */
        int common(int[] prompt) {
            int c = 0;
            while (c < cached && c < prompt.length && tokens[c] == prompt[c]) {
                c++;
            }
            return c;
        }
    }

    private void loop() {
        RuntimeException why = new ModelException("the server is shutting down");
        try {
            while (running) {
                try {
                    if (!admit()) {
                        continue;
                    }
                    Runnable hook = beforeStep;
                    if (hook != null) {
                        hook.run();
                    }
                    step();
                } catch (InterruptedException e) {
                    if (!running) {
                        break;
                    }
                } catch (RuntimeException e) {
                    // a bug in one step must not take the server down: fail the requests in flight, go on
                    for (Slot s : slots) {
                        if (s.job != null) {
                            fail(s, e);
                        }
                    }
                }
            }
        } catch (Error e) {
            why = new ModelException("the scheduler stopped: " + e);
            throw e;
        } finally {
            dead = true;
            failAll(why);
        }
    }

    /** False once the scheduler thread has stopped (closed, or killed by an Error such as OutOfMemoryError). */
    public boolean alive() {
        return !dead;
    }

    /** Frees cancelled slots and fills free ones. @return whether any slot is active (waits a little if none). */
    private boolean admit() throws InterruptedException {
        for (Slot s : slots) {
            if (s.job != null && s.job.cancelled()) {
                finish(s, FinishReason.CANCELLED);
            }
        }
        while (active.get() < slots.length) {
            Job job = active.get() == 0 ? queue.pollFirst(100, TimeUnit.MILLISECONDS) : queue.pollFirst();
            if (job == null) {
                break;
            }
            if (job.cancelled()) {
                inSystem.decrementAndGet();
                safeDone(job, new Completion("", FinishReason.CANCELLED, job.prompt.length, 0, 0));
                continue;
            }
            // the free slot whose cache holds the longest prefix of the prompt: the next turn of a chat
            // evaluates only what is new (keys and values of a token depend only on the tokens before it)
            Slot best = null;
            int bestCommon = -1;
            for (Slot s : slots) {
                if (s.job == null) {
                    int c = s.common(job.prompt);
                    if (c > bestCommon) {
                        best = s;
                        bestCommon = c;
                    }
                }
            }
            Slot s = best;
            int reuse = Math.min(bestCommon, job.prompt.length - 1); // at least one row, for the logits
            s.job = job;
            s.length = reuse;
            s.prefilled = reuse;
            s.reused = reuse;
            s.generated = 0;
            s.sampler = new Sampler(job.params, vocab);
            s.text = new TextStream(job.params.stop());
            active.incrementAndGet();
            stats.admitted.increment();
            stats.cachedTokens.add(reuse);
        }
        return active.get() > 0;
    }

    private void step() {
        int n = 0;
        // decode rows first: a long prompt never stalls the sequences already generating
        for (Slot s : slots) {
            if (s.job != null && !s.prefilling()) {
                rowTokens[n] = s.pending;
                rowPositions[n] = s.length;
                rowCaches[n] = s.cache;
                rowWants[n] = true;
                rowSlots[n] = s;
                n++;
            }
        }
        int decodeRows = n;
        for (Slot s : slots) {
            s.chunk = 0;
            if (s.job == null || !s.prefilling() || n == maxRows) {
                continue;
            }
            int[] prompt = s.job.prompt;
            int take = Math.min(prompt.length - s.prefilled, maxRows - n);
            for (int i = 0; i < take; i++) {
                int pos = s.prefilled + i;
                rowTokens[n] = prompt[pos];
                rowPositions[n] = pos;
                rowCaches[n] = s.cache;
                rowWants[n] = pos == prompt.length - 1;
                rowSlots[n] = s;
                n++;
            }
            s.chunk = take;
        }
        int sampled = 0;
        for (int r = 0; r < n; r++) {
            sampled += rowWants[r] ? 1 : 0;
        }
        long t0 = System.nanoTime();
        try {
            forward.forward(n, rowTokens, rowPositions, rowCaches, rowWants, logits, options.mode());
        } catch (RuntimeException e) {
            // nothing a request did should get here (inputs are checked on submit); fail the batch, keep serving
            for (Slot s : slots) {
                if (s.job != null) {
                    fail(s, e);
                }
            }
            return;
        }
        stats.step(n, sampled, n - decodeRows, System.nanoTime() - t0);
        for (Slot s : slots) {
            if (s.job == null) {
                continue;
            }
            if (s.chunk > 0) {
                System.arraycopy(s.job.prompt, s.prefilled, s.tokens, s.length, s.chunk);
                s.prefilled += s.chunk;
                s.length += s.chunk;
            } else if (!s.prefilling()) {
                s.tokens[s.length++] = s.pending;
            }
        }
        int j = 0;
        for (int r = 0; r < n; r++) {
            if (rowWants[r]) {
                sample(rowSlots[r], j++ * vocab);
            }
        }
    }

    /** Session.generate's loop body for one slot, in the same order of checks. */
    private void sample(Slot s, int off) {
        SamplerParams p = s.job.params;
        if (p.maxTokens() >= 0 && s.generated >= p.maxTokens()) {
            finish(s, FinishReason.LENGTH);
            return;
        }
        int next = s.sampler.sample(logits, off, s.tokens, s.length);
        s.generated++;
        stats.generated.increment();
        if (contains(eog, next)) {
            finish(s, FinishReason.STOP);
            return;
        }
        // control tokens steer the model but are not text, as in Session
        String piece = s.text.add(tokenizer.isControl(next) ? NO_BYTES : tokenizer.tokenBytes(next));
        if (!piece.isEmpty()) {
            try {
                s.job.sink.onText(piece);
            } catch (RuntimeException e) {
                s.job.cancel();
            }
        }
        if (s.text.stopped()) {
            finish(s, FinishReason.STOP);
        } else if (s.length >= options.contextLength()) {
            finish(s, FinishReason.CONTEXT);
        } else if (p.maxTokens() >= 0 && s.generated >= p.maxTokens()) {
            finish(s, FinishReason.LENGTH); // what Session decides at the top of its next iteration
        } else {
            s.pending = next;
        }
    }

    private void finish(Slot s, FinishReason reason) {
        Job job = s.job;
        String rest = s.text.finish();
        if (!rest.isEmpty() && reason != FinishReason.CANCELLED) {
            try {
                job.sink.onText(rest);
            } catch (RuntimeException e) {
                job.cancel();
            }
        }
        release(s);
        stats.finished(reason, job.prompt.length);
        safeDone(job, new Completion(s.text.text(), reason, job.prompt.length, s.reused, s.generated));
    }

    private void fail(Slot s, RuntimeException e) {
        Job job = s.job;
        release(s);
        s.cached = 0; // a failed pass may have left the cache half written
        stats.failed.increment();
        try {
            job.sink.onError(e);
        } catch (RuntimeException ignored) {
            // the sink's own failure changes nothing for the engine
        }
    }

    private void release(Slot s) {
        s.cached = s.length;
        s.job = null;
        s.sampler = null;
        active.decrementAndGet();
        inSystem.decrementAndGet();
    }

    private static void safeDone(Job job, Completion c) {
        try {
            job.sink.onDone(c);
        } catch (RuntimeException ignored) {
            // as in fail()
        }
    }

    private void failAll(RuntimeException e) {
        for (Slot s : slots) {
            if (s.job != null) {
                fail(s, e);
            }
        }
        List<Job> left = new ArrayList<>();
        queue.drainTo(left);
        for (Job job : left) {
            inSystem.decrementAndGet();
            try {
                job.sink.onError(e);
            } catch (RuntimeException ignored) {
                // as in fail()
            }
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    /** Stops the scheduler (requests still queued or running get onError) and the compute threads. */
    @Override
    public void close() {
        if (!running) {
            return;
        }
        running = false;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.close();
    }
}
