package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.bitnet4j.gguf.GgmlType;

/** Little-endian layouts and argument checks shared by the format classes. */
final class Formats {
    private Formats() {}

    // GGUF is little-endian whatever the host; tensor data offsets are only 32-byte aligned and blocks
    // (e.g. 34-byte Q8_0) put fp16 scales at odd addresses, hence unaligned layouts.
    static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static float fp16(MemorySegment data, long offset) {
        return Float.float16ToFloat(data.get(LE_SHORT, offset));
    }

    /** Programming errors (wrong ranges) are IllegalArgumentException: file problems are found earlier. */
    static void checkRange(GgmlType type, MemorySegment data, long total, long start, long n, int arrayLen, int arrayOff) {
        int bs = type.blockSize;
        if (total < 0 || total % bs != 0) {
            throw new IllegalArgumentException(type + ": tensor of " + total + " elements is not a whole number of "
                    + bs + "-element blocks");
        }
        if (start < 0 || n < 0 || start % bs != 0 || n % bs != 0 || start + n > total) {
            throw new IllegalArgumentException(type + ": element range [" + start + ", " + (start + n)
                    + ") is not block-aligned inside a tensor of " + total + " elements");
        }
        if (data.byteSize() < type.byteSize(total)) {
            throw new IllegalArgumentException(type + ": tensor of " + total + " elements needs "
                    + type.byteSize(total) + " bytes, got " + data.byteSize());
        }
        if (arrayOff < 0 || arrayOff + n > arrayLen) {
            throw new IllegalArgumentException(type + ": array range [" + arrayOff + ", " + (arrayOff + n)
                    + ") outside an array of " + arrayLen);
        }
    }

    /** round-half-away-from-zero, as C's roundf / lroundf (llama.cpp's Q8_0 encoder uses it). */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }
}
