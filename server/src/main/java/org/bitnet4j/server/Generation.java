package org.bitnet4j.server;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.TokenListener;

/**
 * One request inside the {@link BatchScheduler}: the scheduler thread pushes events, the caller's thread takes
 * them. The scheduler never waits for a reader, so a slow client cannot stall the other slots; a gone client
 * calls {@link #cancel()} and its slot is freed at the next step.
 */
public final class Generation {
    /** What the scheduler reports, in order: any number of Text events, then exactly one Done or Failed. */
    public sealed interface Event permits Text, Done, Failed {}

    /** Text that became final (whole UTF-8 characters, never part of a stop string). */
    public record Text(String text) implements Event {}

    /** The end: finish reason, token counts, timings; text() is the whole answer. */
    public record Done(GenerationResult result) implements Event {}

    /** The engine failed for this request (the message is meant for the client). */
    public record Failed(String message) implements Event {}

    final int[] prompt;
    final SamplerParams params;
    final long submitted = System.nanoTime();
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;
    private volatile boolean finished;

    Generation(int[] prompt, SamplerParams params) {
        this.prompt = prompt;
        this.params = params;
    }

    /** Asks the scheduler to stop this request; its slot is freed at the next step. Idempotent. */
    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Tokens of the prompt as submitted. */
    public int promptTokens() {
        return prompt.length;
    }

    /** Blocks until the next event. */
    public Event take() throws InterruptedException {
        return events.take();
    }

    /** The next event, or null after the timeout. */
    public Event poll(long timeout, TimeUnit unit) throws InterruptedException {
        return events.poll(timeout, unit);
    }

    /**
     * Consumes the events until the end, passing text to the listener (false cancels, as with
     * {@code Session.generate}). Returns the result, or throws {@link EngineFailure} when the engine failed.
     */
    public GenerationResult await(TokenListener listener) throws InterruptedException {
        while (true) {
            Event e = take();
            switch (e) {
                case Text t -> {
                    if (!cancelled && !listener.onText(t.text())) {
                        cancel();
                    }
                }
                case Done d -> {
                    return d.result();
                }
                case Failed f -> throw new EngineFailure(f.message());
            }
        }
    }

    // ---- scheduler side ----

    void emit(String text) {
        events.add(new Text(text));
    }

    void complete(GenerationResult r) {
        if (!finished) {
            finished = true;
            events.add(new Done(r));
        }
    }

    void fail(String message) {
        if (!finished) {
            finished = true;
            events.add(new Failed(message));
        }
    }

    boolean finished() {
        return finished;
    }

    /** The engine could not complete a request (for example an exception inside the forward pass). */
    public static final class EngineFailure extends RuntimeException {
        public EngineFailure(String message) {
            super(message);
        }
    }
}
