package org.bitnet4j.serve;

import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.bitnet4j.generate.FinishReason;

/** Counters of the batching engine for /metrics. Written by the scheduler thread, read by any. */
public final class EngineStats {
    /** tokens/s is measured over this trailing window */
    static final long WINDOW_NANOS = 10_000_000_000L;

    final LongAdder admitted = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder generated = new LongAdder();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder cachedTokens = new LongAdder();
    final LongAdder steps = new LongAdder();
    final LongAdder rows = new LongAdder();
    final LongAdder forwardNanos = new LongAdder();
    private final Map<FinishReason, LongAdder> finished = new EnumMap<>(FinishReason.class);
    private final ArrayDeque<long[]> window = new ArrayDeque<>(); // {end time, tokens sampled}

    EngineStats() {
        for (FinishReason r : FinishReason.values()) {
            finished.put(r, new LongAdder());
        }
    }

    void step(int rowCount, int sampled, int prefillRows, long nanos) {
        steps.increment();
        rows.add(rowCount);
        promptTokens.add(prefillRows);
        forwardNanos.add(nanos);
        long now = System.nanoTime();
        synchronized (window) {
            window.addLast(new long[] {now, sampled});
            while (!window.isEmpty() && now - window.peekFirst()[0] > WINDOW_NANOS) {
                window.removeFirst();
            }
        }
    }

    void finished(FinishReason reason, int prompt) {
        finished.get(reason).increment();
    }

    public long requestsAdmitted() {
        return admitted.sum();
    }

    public long requestsRejected() {
        return rejected.sum();
    }

    public long requestsFailed() {
        return failed.sum();
    }

    public long requestsFinished(FinishReason reason) {
        return finished.get(reason).sum();
    }

    /** Tokens sampled so far (all requests). */
    public long generatedTokens() {
        return generated.sum();
    }

    /** Prompt tokens evaluated so far. */
    public long promptTokens() {
        return promptTokens.sum();
    }

    /** Prompt tokens found in a slot's cache and not evaluated again. */
    public long cachedTokens() {
        return cachedTokens.sum();
    }

    public long steps() {
        return steps.sum();
    }

    public long rows() {
        return rows.sum();
    }

    public double forwardSeconds() {
        return forwardNanos.sum() / 1e9;
    }

    /** Tokens sampled per second over the last ten seconds (0 when idle that long). */
    public double tokensPerSecond() {
        long now = System.nanoTime();
        synchronized (window) {
            while (!window.isEmpty() && now - window.peekFirst()[0] > WINDOW_NANOS) {
                window.removeFirst();
            }
            if (window.isEmpty()) {
                return 0;
            }
            long tokens = 0;
            for (long[] w : window) {
                tokens += w[1];
            }
            double span = Math.max(now - window.peekFirst()[0], 1_000_000_000L);
            return tokens * 1e9 / span;
        }
    }
}
