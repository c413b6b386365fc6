package org.bitnet4j.generate;

/** Why generation ended (OpenAI's names). */
public enum FinishReason {
    /** an end-of-generation token or a stop string */
    STOP,
    /** max tokens reached */
    LENGTH,
    /** the context window is full */
    CONTEXT,
    /** the caller cancelled (client gone) */
    CANCELLED;

    public String openAiName() {
        return this == STOP ? "stop" : this == CANCELLED ? "cancelled" : "length";
    }
}
