package org.bitnet4j.trainer;

/** A user-facing training error (bad data, checkpoint or option); the message names the file or setting. */
public final class TrainingException extends RuntimeException {
    public TrainingException(String message) {
        super(message);
    }
}
