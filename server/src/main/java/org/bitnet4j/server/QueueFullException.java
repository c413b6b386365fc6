package org.bitnet4j.server;

/** Every slot is busy and the waiting queue is at its bound: the caller should retry later (HTTP 503). */
public final class QueueFullException extends RuntimeException {
    private final int retryAfterSeconds;

    public QueueFullException(int queued, int retryAfterSeconds) {
        super("the server is busy: all slots are generating and " + queued + " requests are waiting; retry in "
                + retryAfterSeconds + " s");
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** A rough estimate from recent request durations, at least 1. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
