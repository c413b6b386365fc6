package org.bitnet4j.model;

import java.util.Locale;

/**
 * The architecture families bitnet4j runs. They share one forward pass; the differences are these flags.
 *
 * <ul>
 *   <li>{@code bitnet-b1.58} (older name {@code bitnet-25}): BitNet-b1.58-2B-4T: relu(gate)^2 * up, sub-norms
 *       before attn_output and ffn_down, NEOX RoPE, tied output.
 *   <li>{@code bitnet}: 1bitLLM models and bitnet.cpp's dummies: silu(gate) * up, same sub-norms, optional
 *       per-projection {@code .scale} tensors.
 *   <li>{@code llama}: ternary llama-architecture models (Llama3-8B-1.58, Falcon3-1.58bit) and full-precision
 *       baselines: silu, no sub-norms, normal (adjacent-pair) RoPE, optional separate output matrix.
 * </ul>
 */
public enum Architecture {
    BITNET_B158("bitnet-b1.58", Ffn.RELU2, true, RopeStyle.NEOX, true),
    BITNET_25("bitnet-25", Ffn.RELU2, true, RopeStyle.NEOX, true),
    BITNET("bitnet", Ffn.SILU, true, RopeStyle.NEOX, true),
    LLAMA("llama", Ffn.SILU, false, RopeStyle.NORMAL, false);

    public enum Ffn { RELU2, SILU }

    public enum RopeStyle {
        /** rotate pairs (i, i + d/2) */
        NEOX,
        /** rotate pairs (2i, 2i + 1) */
        NORMAL
    }

    /** the name in general.architecture, also the prefix of the hyperparameter keys */
    public final String ggufName;
    public final Ffn ffn;
    public final boolean subNorms;
    public final RopeStyle rope;
    /** BitLinear semantics: every projection quantises its input to int8, whatever the weight storage */
    public final boolean bitLinear;

    Architecture(String ggufName, Ffn ffn, boolean subNorms, RopeStyle rope, boolean bitLinear) {
        this.ggufName = ggufName;
        this.ffn = ffn;
        this.subNorms = subNorms;
        this.rope = rope;
        this.bitLinear = bitLinear;
    }

    public static Architecture fromGguf(String name, String file) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new ModelException(file + ": architecture '" + name + "' is not supported; bitnet4j runs "
                + "bitnet-b1.58 (and its older name bitnet-25), bitnet and llama");
    }
}
