package org.bitnet4j.model;

/** How the inputs of the linear layers are represented. */
public enum ActivationMode {
    /** BitNet b1.58's own math: every BitLinear input quantised per token to int8 (absmax). The default. */
    INT8,
    /** Float activations: the reference mode for comparing with llama.cpp's F32 output. */
    FLOAT
}
