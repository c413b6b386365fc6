package org.bitnet4j.model;

/** A model that cannot be built or run as asked (unknown architecture, missing tensor, context overflow...). */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }
}
