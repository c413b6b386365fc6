package org.bitnet4j.model;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One persistent pool of platform threads, sized by {@code -t}, that every matmul and attention step of a
 * forward pass shares. A decode step issues a few hundred parallel loops of a few tens of microseconds each,
 * so starting tasks must cost far less than an executor's queue: workers spin briefly on a volatile job reference,
 * then park; the calling thread takes tasks too.
 */
public final class ThreadPool implements AutoCloseable {
    /** body of a parallel loop: task index in [0, n) and the index of the thread running it in [0, threads) */
    @FunctionalInterface
    public interface Task {
        void run(int task, int thread);
    }

    private static final long SPIN_NANOS = Long.getLong("bitnet4j.spinMicros", 50) * 1000;

    /** One parallel loop; its counters live with it so a late worker can never mix two loops. */
    private static final class Job {
        final Task body;
        final int n;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pending;
        volatile Throwable failure;

        Job(Task body, int n) {
            this.body = body;
            this.n = n;
            this.pending = new AtomicInteger(n);
        }

        void drain(int thread) {
            int i;
            while ((i = next.getAndIncrement()) < n) {
                try {
                    body.run(i, thread);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }

    private final int threads;
    private final Thread[] workers;
    private volatile Job job;
    private volatile boolean closed;

    public ThreadPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int id = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("bitnet4j-worker-" + id).unstarted(() -> workLoop(id));
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs body(i, thread) for i in [0, n) across the pool; returns when all are done. Not reentrant. */
    public void run(int n, Task body) {
        if (n <= 0) {
            return;
        }
        if (threads == 1 || n == 1) {
            for (int i = 0; i < n; i++) {
                body.run(i, 0);
            }
            return;
        }
        Job j = new Job(body, n);
        job = j;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        j.drain(0);
        long start = System.nanoTime();
        while (j.pending.get() > 0) {
            if (System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        Throwable f = j.failure;
        if (f != null) {
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new RuntimeException(f);
        }
    }

    /** Splits [0, total) into chunks that are multiples of {@code grain} and runs range(from, to, thread). */
    public void forRange(int total, int grain, RangeTask range) {
        if (total <= 0) {
            return;
        }
        int chunks = Math.max(1, Math.min(threads * 4, (total + grain - 1) / grain));
        int per = ((total + chunks - 1) / chunks + grain - 1) / grain * grain;
        int n = (total + per - 1) / per;
        run(n, (i, t) -> range.run(i * per, Math.min(total, (i + 1) * per), t));
    }

    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to, int thread);
    }

    private void workLoop(int id) {
        Job seen = null;
        while (!closed) {
            long start = System.nanoTime();
            Job j;
            while ((j = job) == seen && !closed) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = j;
            j.drain(id);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
