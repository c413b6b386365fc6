package org.bitnet4j.gguf;

/**
 * Tensor element types as numbered in GGUF files, with their block geometry (ggml's type traits).
 * Only the types bitnet4j reads are listed; any other id is refused by {@link #fromId(int, String)}
 * with a message, never guessed.
 *
 * <p>I2_S is numbered 36 in bitnet.cpp's ggml (in mainline llama.cpp 36 was a removed type). Its size is
 * not blocks times bytes: the n/4 packed bytes are followed by one float32 scale padded to 32 bytes.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q8_0(8, 32, 34),
    Q6_K(14, 256, 210),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    I2_S(36, 128, 32);

    public final int id;
    /** elements per block */
    public final int blockSize;
    /** bytes per block */
    public final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** I2_S: packed codes, then a float32 scale padded to 32 bytes. */
    public static final int I2S_TAIL_BYTES = 32;

    /** Bytes a tensor of n elements occupies; n must be a multiple of blockSize (checked by callers). */
    public long byteSize(long n) {
        long blocks = n / blockSize;
        long bytes = Math.multiplyExact(blocks, (long) bytesPerBlock);
        return this == I2_S ? bytes + I2S_TAIL_BYTES : bytes;
    }

    public boolean isTernary() {
        return this == TQ1_0 || this == TQ2_0 || this == I2_S;
    }

    /** Bits per weight as stored (for reports). */
    public double bitsPerWeight() {
        return 8.0 * bytesPerBlock / blockSize;
    }

    /**
     * @param where names the file and tensor, for the message
     * @throws GgufFormatException for ids bitnet4j does not read, with a special word for the ids
     *     that bitnet.cpp and llama.cpp number differently
     */
    public static GgmlType fromId(int id, String where) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        String why = switch (id) {
            case 38 -> "type id 38 is TL1 in bitnet.cpp (a lookup-table layout tied to its generated kernels) and"
                    + " unassigned or different in llama.cpp; bitnet4j refuses it rather than guess."
                    + " Re-convert the model to i2_s or tq2_0";
            case 39 -> "type id 39 is TL2 in bitnet.cpp but MXFP4 in llama.cpp; the two layouts collide, so"
                    + " bitnet4j refuses it rather than misread it. Re-convert the model to i2_s or tq2_0";
            case 2, 3, 6, 7, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29 ->
                    "ggml type id " + id + " is a llama.cpp quantisation that bitnet4j does not read"
                            + " (supported: F32, F16, BF16, Q8_0, Q6_K, TQ1_0, TQ2_0, I2_S)";
            default -> "unknown ggml type id " + id
                    + " (supported: F32, F16, BF16, Q8_0, Q6_K, TQ1_0, TQ2_0, I2_S)";
        };
        throw new GgufFormatException(where + ": " + why);
    }
}
