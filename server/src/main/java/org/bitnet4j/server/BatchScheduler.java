package org.bitnet4j.server;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.bitnet4j.generate.FinishReason;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.Sampler;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.TextStream;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Forward;
import org.bitnet4j.model.KvCache;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.bitnet4j.model.ThreadPool;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * Continuous batching over a fixed number of slots, each a sequence with its own KV cache. One scheduler thread
 * loops: admit waiting requests into free slots, build one batch (a decode row for every slot that is generating,
 * then prompt rows of slots still prefilling, up to the batch size), run {@link Forward#forward} once, sample a
 * token for every slot whose logits came back, push text to its {@link Generation}, and free the slots that
 * finished or whose client went away.
 *
 * <p>Per-row math does not depend on what else is in the batch (rows are normalised, quantised and attended to
 * one at a time; integer dot products are exact), so a request gives the same tokens here as alone in a
 * {@code Session} with the same seed. The token loop mirrors {@code Session.generate} for that reason.
 *
 * <p>A freed slot keeps its cache: a new request that starts with the same tokens (the next turn of a chat)
 * is placed in that slot and evaluates only the rest.
 */
public final class BatchScheduler implements AutoCloseable {

    /**
     * @param slots          sequences generated at once (-np)
     * @param contextLength  KV cache size per slot, in tokens (-c)
     * @param threads        compute threads (-t)
     * @param batchSize      rows per forward pass: decode rows plus prompt rows (-b); at least slots
     * @param queueCapacity  requests that may wait for a slot; beyond it submit throws QueueFullException
     */
    public record Options(int slots, int contextLength, int threads, int batchSize, int queueCapacity, ActivationMode mode) {
        public Options {
            if (slots < 1) {
                throw new IllegalArgumentException("slots (-np) must be >= 1, got " + slots);
            }
            if (contextLength < 2) {
                throw new IllegalArgumentException("context (-c) must be >= 2 tokens, got " + contextLength);
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads (-t) must be >= 1, got " + threads);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size (-b) must be >= 1, got " + batchSize);
            }
            if (queueCapacity < 0) {
                throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
            }
            if (mode == null) {
                mode = ActivationMode.INT8;
            }
        }
    }

    /** A snapshot for /health and /metrics; the totals count since start. */
    public record Stats(int slots, int activeSlots, int queued, long submitted, long rejected, long finishedStop,
                        long finishedLength, long cancelled, long failed, long promptTokens, long cachedPromptTokens,
                        long generatedTokens, long forwardPasses, long batchRows, double generationTokensPerSecond,
                        boolean running) {}

    private static final byte[] NO_BYTES = new byte[0];

    private final Model model;
    private final Options options;
    private final Tokenizer tokenizer;
    private final int vocab;
    private final int[] eog;
    private final ThreadPool pool;
    private final Forward forward;
    private final Slot[] slots;
    private final int maxBatch;
    // per-step rows, allocated once
    private final int[] rowTokens, rowPositions;
    private final KvCache[] rowCaches;
    private final boolean[] rowWants;
    private final Slot[] rowSlots;
    private final float[] logits;   // [slots][vocab]: at most one logits row per slot per step

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Generation> queue = new ArrayDeque<>();
    private final List<Slot> prefillOrder = new ArrayList<>(); // slots still evaluating their prompt, by admission
    private final Thread thread;
    private volatile boolean closed;
    private volatile Semaphore stepGate; // tests: one permit per step

    private final AtomicLong submitted = new AtomicLong(), rejected = new AtomicLong();
    private final AtomicLong finishedStop = new AtomicLong(), finishedLength = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong(), failed = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong(), cachedPromptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong forwardPasses = new AtomicLong(), batchRows = new AtomicLong();
    private final RateWindow rate = new RateWindow(10);
    private volatile double avgRequestSeconds = 1;
    private volatile int active;

    public BatchScheduler(Model model, Options options) {
        this.model = model;
        this.options = options;
        this.tokenizer = model.tokenizer;
        this.vocab = model.config.vocab();
        this.eog = tokenizer.endOfGenerationIds();
        if (options.contextLength() > model.config.contextLength()) {
            throw new ModelException("context " + options.contextLength() + " is larger than the model's "
                    + model.config.contextLength() + " tokens");
        }
        this.maxBatch = Math.max(options.batchSize(), options.slots());
        this.slots = new Slot[options.slots()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(i, new KvCache(model.config, options.contextLength()), options.contextLength());
        }
        this.pool = new ThreadPool(options.threads());
        this.forward = new Forward(model, pool, maxBatch, options.contextLength());
        this.rowTokens = new int[maxBatch];
        this.rowPositions = new int[maxBatch];
        this.rowCaches = new KvCache[maxBatch];
        this.rowWants = new boolean[maxBatch];
        this.rowSlots = new Slot[maxBatch];
        this.logits = new float[Math.multiplyExact(options.slots(), vocab)];
        this.thread = Thread.ofPlatform().name("bitnet4j-scheduler").daemon().unstarted(this::loop);
        thread.start();
    }

    public Model model() {
        return model;
    }

    public Options options() {
        return options;
    }

    /** Tokens each slot holds; a prompt must be shorter than this. */
    public int contextLength() {
        return options.contextLength();
    }

    /**
     * Queues a request. Events arrive on the returned handle; the scheduler starts it as soon as a slot is free.
     *
     * @throws IllegalArgumentException if the prompt is empty or does not leave room for one token in the context
     * @throws QueueFullException       if all slots are busy and the queue is at its bound
     */
    public Generation submit(int[] prompt, SamplerParams params) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (prompt.length >= options.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                    + options.contextLength());
        }
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary 0.." + (vocab - 1));
            }
        }
        Generation g = new Generation(prompt.clone(), params);
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the scheduler is shut down");
            }
            int freeSlots = slots.length - active;
            if (queue.size() >= options.queueCapacity() + Math.max(0, freeSlots)) {
                rejected.incrementAndGet();
                int waitFor = (int) Math.ceil(avgRequestSeconds * (queue.size() + 1) / slots.length);
                throw new QueueFullException(queue.size(), Math.clamp(waitFor, 1, 60));
            }
            queue.add(g);
            submitted.incrementAndGet();
            work.signal();
        } finally {
            lock.unlock();
        }
        return g;
    }

    public Stats stats() {
        int queued;
        lock.lock();
        try {
            queued = queue.size();
        } finally {
            lock.unlock();
        }
        return new Stats(slots.length, active, queued, submitted.get(), rejected.get(), finishedStop.get(),
                finishedLength.get(), cancelled.get(), failed.get(), promptTokens.get(), cachedPromptTokens.get(),
                generatedTokens.get(), forwardPasses.get(), batchRows.get(), rate.perSecond(), isRunning());
    }

    /** False once closed or if the scheduler thread died. */
    public boolean isRunning() {
        return !closed && thread.isAlive();
    }

    /** Tests: when set, every step takes one permit first, so a test can hold the scheduler between steps. */
    void stepGate(Semaphore gate) {
        this.stepGate = gate;
        lock.lock();
        try {
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            work.signalAll();
        } finally {
            lock.unlock();
        }
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.close();
        lock.lock();
        try {
            for (Generation g : queue) {
                g.fail("the server is shutting down");
            }
            queue.clear();
        } finally {
            lock.unlock();
        }
        for (Slot s : slots) {
            if (s.job != null) {
                s.job.fail("the server is shutting down");
                s.job = null;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // scheduler thread

    private void loop() {
        while (!closed) {
            try {
                if (!awaitWork()) {
                    return;
                }
                Semaphore gate = stepGate;
                if (gate != null) {
                    gate.acquire();
                }
                step();
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
            } catch (RuntimeException | Error e) {
                // a bug must not take the server down: fail what was running, keep serving
                failActive("internal error: " + e);
            }
        }
    }

    /** Waits until there is something to do; admits waiting requests into free slots. False when closed. */
    private boolean awaitWork() throws InterruptedException {
        lock.lock();
        try {
            while (!closed && active == 0 && queue.isEmpty()) {
                work.await();
            }
            if (closed) {
                return false;
            }
            dropCancelledQueued();
            while (!queue.isEmpty()) {
                Slot free = bestFreeSlot(queue.peek().prompt);
                if (free == null) {
                    break;
                }
                admit(free, queue.poll());
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void dropCancelledQueued() {
        for (Iterator<Generation> it = queue.iterator(); it.hasNext(); ) {
            Generation g = it.next();
            if (g.isCancelled()) {
                it.remove();
                cancelled.incrementAndGet();
                g.complete(new GenerationResult("", FinishReason.CANCELLED, g.prompt.length, 0, 0, 0, 0));
            }
        }
    }

    /** The free slot whose cached tokens share the longest prefix with the prompt (lowest index on ties). */
    private Slot bestFreeSlot(int[] prompt) {
        Slot best = null;
        int bestCommon = -1;
        for (Slot s : slots) {
            if (s.job == null) {
                int common = s.commonPrefix(prompt);
                if (common > bestCommon) {
                    best = s;
                    bestCommon = common;
                }
            }
        }
        return best;
    }

    private void admit(Slot s, Generation g) {
        int common = s.commonPrefix(g.prompt);
        if (common == g.prompt.length) {
            common--; // the last prompt token is evaluated again: its logits give the first answer token
        }
        s.job = g;
        s.cachedLen = common;
        s.promptPos = common;
        s.reused = common;
        s.pending = -1;
        s.generated = 0;
        s.sampler = new Sampler(g.params, vocab);
        s.text = new TextStream(g.params.stop());
        s.admitted = System.nanoTime();
        s.promptDone = 0;
        prefillOrder.add(s);
        active++;
        cachedPromptTokens.addAndGet(common);
    }

    /** One forward pass over every slot that has work. */
    private void step() {
        for (Slot s : slots) {
            if (s.job != null && s.job.isCancelled()) {
                finish(s, FinishReason.CANCELLED);
            }
        }
        int n = 0;
        for (Slot s : slots) {                          // one decode row per generating slot
            if (s.job != null && s.pending >= 0) {
                rowTokens[n] = s.pending;
                rowPositions[n] = s.cachedLen;
                rowCaches[n] = s.cache;
                rowWants[n] = true;
                rowSlots[n] = s;
                n++;
            }
        }
        for (Slot s : prefillOrder) {                   // then prompt rows, first admitted first
            int[] p = s.job.prompt;
            int take = Math.min(maxBatch - n, p.length - s.promptPos);
            for (int i = 0; i < take; i++) {
                int pos = s.promptPos + i;
                rowTokens[n] = p[pos];
                rowPositions[n] = pos;
                rowCaches[n] = s.cache;
                rowWants[n] = pos == p.length - 1;     // logits of the last prompt token only
                rowSlots[n] = s;
                n++;
            }
            if (n == maxBatch) {
                break;
            }
        }
        if (n == 0) {
            return;
        }
        try {
            forward.forward(n, rowTokens, rowPositions, rowCaches, rowWants, logits, options.mode());
        } catch (RuntimeException | OutOfMemoryError e) {
            failBatch(n, e);
            return;
        }
        forwardPasses.incrementAndGet();
        batchRows.addAndGet(n);
        for (int r = 0; r < n; r++) {                   // the rows' keys and values are in the caches now
            Slot s = rowSlots[r];
            s.cached[rowPositions[r]] = rowTokens[r];
            s.cachedLen = rowPositions[r] + 1;
            if (s.pending < 0) {
                s.promptPos = rowPositions[r] + 1;
            }
        }
        int j = 0;
        long now = System.nanoTime();
        for (int r = 0; r < n; r++) {
            if (!rowWants[r]) {
                continue;
            }
            Slot s = rowSlots[r];
            if (s.pending < 0) {                        // prompt complete
                prefillOrder.remove(s);
                s.promptDone = now;
                promptTokens.addAndGet(s.job.prompt.length - s.reused);
            }
            next(s, j++ * vocab);
        }
    }

    /** Session.generate's token loop for one slot: sample, stop checks, text, then queue the token for evaluation. */
    private void next(Slot s, int off) {
        SamplerParams p = s.job.params;
        int token = s.sampler.sample(logits, off, s.cached, s.cachedLen);
        s.generated++;
        generatedTokens.incrementAndGet();
        rate.add(1);
        if (contains(eog, token)) {
            finish(s, FinishReason.STOP);
            return;
        }
        // control tokens (chat markers, reserved ids) steer the model but are not text, as in Session
        String piece = s.text.add(tokenizer.isControl(token) ? NO_BYTES : tokenizer.tokenBytes(token));
        if (!piece.isEmpty()) {
            s.job.emit(piece);
        }
        if (s.text.stopped()) {
            finish(s, FinishReason.STOP);
        } else if (p.maxTokens() >= 0 && s.generated >= p.maxTokens()) {
            finish(s, FinishReason.LENGTH);
        } else if (s.cachedLen >= s.context) {
            finish(s, FinishReason.CONTEXT);
        } else {
            s.pending = token;
        }
    }

    private void finish(Slot s, FinishReason reason) {
        Generation g = s.job;
        if (reason != FinishReason.CANCELLED) {
            String rest = s.text.finish();
            if (!rest.isEmpty()) {
                g.emit(rest);
            }
        }
        long now = System.nanoTime();
        long promptNanos = s.promptDone == 0 ? now - s.admitted : s.promptDone - s.admitted;
        long genNanos = s.promptDone == 0 ? 0 : now - s.promptDone;
        GenerationResult result = new GenerationResult(s.text.text(), reason, g.prompt.length, s.reused, s.generated,
                promptNanos, genNanos);
        switch (reason) {
            case STOP -> finishedStop.incrementAndGet();
            case LENGTH, CONTEXT -> finishedLength.incrementAndGet();
            case CANCELLED -> cancelled.incrementAndGet();
        }
        avgRequestSeconds = 0.8 * avgRequestSeconds + 0.2 * (now - g.submitted) / 1e9;
        release(s); // first, so a caller that saw Done also sees the slot free
        g.complete(result);
    }

    /** The forward pass threw: every request in the batch fails with the message; the others go on. */
    private void failBatch(int n, Throwable e) {
        String msg = e instanceof OutOfMemoryError ? "out of memory in the forward pass" : e.getMessage();
        for (int r = 0; r < n; r++) {
            Slot s = rowSlots[r];
            Generation g = s.job;
            if (g != null) {
                failed.incrementAndGet();
                s.cachedLen = 0; // the cache may be half written
                release(s);
                g.fail("inference failed: " + msg);
            }
        }
    }

    private void failActive(String message) {
        for (Slot s : slots) {
            Generation g = s.job;
            if (g != null) {
                failed.incrementAndGet();
                s.cachedLen = 0;
                release(s);
                g.fail(message);
            }
        }
    }

    private void release(Slot s) {
        prefillOrder.remove(s);
        s.job = null;
        s.pending = -1;
        s.sampler = null;
        lock.lock();
        try {
            active--;
        } finally {
            lock.unlock();
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

    /** One sequence: its KV cache and the tokens in it, and the request it is working on. */
    private static final class Slot {
        final int index;
        final KvCache cache;
        final int context;
        final int[] cached;    // tokens whose keys and values are in the cache, [0, cachedLen); also the sampler's history
        int cachedLen;
        Generation job;        // null when free
        int promptPos;         // next prompt token to evaluate
        int reused;            // prompt tokens taken from the cache
        int pending = -1;      // sampled token waiting to be evaluated (the slot is generating)
        int generated;
        Sampler sampler;
        TextStream text;
        long admitted, promptDone;

        Slot(int index, KvCache cache, int context) {
            this.index = index;
            this.cache = cache;
            this.context = context;
            this.cached = new int[context];
        }

        int commonPrefix(int[] prompt) {
            int n = 0;
            while (n < cachedLen && n < prompt.length && cached[n] == prompt[n]) {
                n++;
            }
            return n;
        }
    }

    /** Events per second over the last few whole seconds (a ring of per-second buckets). */
    static final class RateWindow {
        private final long[] buckets;
        private long second = Long.MIN_VALUE;

        RateWindow(int seconds) {
            buckets = new long[seconds + 1];
        }

        synchronized void add(long n) {
            roll();
            buckets[Math.floorMod(second, buckets.length)] += n;
        }

        synchronized double perSecond() {
            roll();
            long sum = 0;
            for (int i = 1; i < buckets.length; i++) { // the current, partial second is left out
                sum += buckets[Math.floorMod(second - i, buckets.length)];
            }
            return (double) sum / (buckets.length - 1);
        }

        private void roll() {
            long now = System.nanoTime() / 1_000_000_000L;
            if (second == Long.MIN_VALUE) {
                second = now;
            }
            for (long s = second + 1; s <= now && s <= second + buckets.length; s++) {
                buckets[Math.floorMod(s, buckets.length)] = 0;
            }
            second = now;
        }
    }
}
