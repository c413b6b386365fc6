package org.bitnet4j.tensor;

/**
 * The ternary arithmetic every ternary format and kernel shares, kept in one place so that I2_S, TQ2_0
 * and TQ1_0 matrices holding the same weights give bit-identical outputs.
 */
public final class Ternary {
    private Ternary() {}

    /**
     * BitNet's weight ternarisation t = RoundClip(x / beta, -1, 1). Rounds half to even (torch.round in
     * the reference training code); beta = 0 (an all-zero tensor) gives t = 0, NaN gives 0.
     */
    public static int ternarize(float x, float beta) {
        if (beta == 0f) {
            return 0;
        }
        double r = Math.rint(x / beta);
        return r >= 1 ? 1 : r <= -1 ? -1 : 0;
    }

    /**
     * The output of one ternary row for one token: {@code (float) isum * (beta / s)}. beta / s is rounded
     * to float first, then the product: this exact expression is the contract of every ternary kernel.
     */
    public static float output(int isum, float beta, float s) {
        return (float) isum * (beta / s);
    }

    /**
     * Rows whose 256-blocks carry different fp16 scales d_b (never the case in BitNet exports): the
     * float sum over blocks of d_b * isum_b, in block order, then divided by s.
     */
    public static float blockOutput(float blockSum, float s) {
        return blockSum / s;
    }

    static void checkScale(String format, float beta) {
        if (!(beta >= 0f) || Float.isInfinite(beta)) {
            throw new IllegalArgumentException(format + ": ternary scale must be finite and >= 0, got " + beta);
        }
    }

    /** fp16 bits of beta for TQ1_0 / TQ2_0 blocks; refuses scales that fp16 cannot hold. */
    static short fp16Scale(String format, float beta) {
        checkScale(format, beta);
        short h = Float.floatToFloat16(beta);
        float back = Float.float16ToFloat(h);
        if (Float.isInfinite(back) || (beta > 0f && back == 0f)) {
            throw new IllegalArgumentException(format + ": ternary scale " + beta + " does not fit an fp16 block scale");
        }
        return h;
    }
}
