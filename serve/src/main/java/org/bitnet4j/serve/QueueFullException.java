package org.bitnet4j.serve;

/** Every slot is busy and the wait queue is full: the caller should retry later (HTTP 503). */
public final class QueueFullException extends RuntimeException {
    public QueueFullException(int capacity) {
        super("the server is busy: all slots are generating and " + capacity + " requests are already waiting");
    }
}
