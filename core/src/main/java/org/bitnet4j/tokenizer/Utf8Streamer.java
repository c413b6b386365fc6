package org.bitnet4j.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * Turns a stream of token bytes into text as early as possible without ever printing half a
 * character: complete UTF-8 sequences come out, an incomplete tail waits for the next token.
 * Bytes that can never become valid UTF-8 come out as U+FFFD right away, so a broken sequence does
 * not hold back the text behind it. Not thread-safe: one streamer per generation.
 *
 * <pre>{@code
 * Utf8Streamer s = new Utf8Streamer();
 * for (int id : generated) System.out.print(s.accept(tokenizer.tokenBytes(id)));
 * System.out.print(s.flush());
 * }</pre>
 */
public final class Utf8Streamer {
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream(8);

    /** Adds bytes and returns the text that is complete so far (possibly empty). */
    public String accept(byte[] bytes) {
        pending.write(bytes, 0, bytes.length);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return complete == 0 ? "" : BaseTokenizer.decodeUtf8(java.util.Arrays.copyOf(all, complete));
    }

    /** Returns whatever is still held back (an unfinished sequence becomes U+FFFD) and resets. */
    public String flush() {
        byte[] rest = pending.toByteArray();
        pending.reset();
        return rest.length == 0 ? "" : BaseTokenizer.decodeUtf8(rest);
    }

    /** Bytes currently held back waiting for the rest of a character. */
    public int pendingBytes() {
        return pending.size();
    }

    /**
     * Length of the longest prefix that does not end inside a sequence that could still be
     * completed. Only the last (at most 3) bytes can be such a tail.
     */
    static int completePrefix(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int lead = b[n - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) continue; // continuation byte: keep looking for its lead
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? (lead <= 0xEF ? 3 : 0) : lead >= 0xC2 ? 2 : 0;
            if (need > back && couldStillBeValid(b, n - back, back)) return n - back;
            return n;
        }
        return n;
    }

    /** Whether the partial sequence starting at off (length len, lead included) is a valid start. */
    private static boolean couldStillBeValid(byte[] b, int off, int len) {
        int lead = b[off] & 0xFF;
        if (len >= 2) {
            int second = b[off + 1] & 0xFF;
            // the second byte's range is narrowed for these leads (no overlongs, no surrogates, <= U+10FFFF)
            if (lead == 0xE0 && second < 0xA0) return false;
            if (lead == 0xED && second > 0x9F) return false;
            if (lead == 0xF0 && second < 0x90) return false;
            if (lead == 0xF4 && second > 0x8F) return false;
        }
        return true;
    }
}
