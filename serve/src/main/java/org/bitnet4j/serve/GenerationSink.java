package org.bitnet4j.serve;

/**
 * Receives one request's output. Called on the scheduler thread, so implementations must not block:
 * hand the event to the thread that talks to the client (a queue) and return.
 */
public interface GenerationSink {
    /** Text that became final: complete UTF-8 characters, never part of a stop string. */
    void onText(String text);

    /** The request ended normally (including cancellation); no event follows. */
    void onDone(Completion completion);

    /** The engine failed this request; no event follows. */
    void onError(RuntimeException error);
}
