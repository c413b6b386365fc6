package org.bitnet4j.generate;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Turns token bytes into text for streaming: holds back bytes of an incomplete UTF-8 character and text that
 * could still become a stop string, so a listener never sees half a character or the start of a stop string.
 */
public final class TextStream {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer bytes = ByteBuffer.allocate(64);
    private final CharBuffer chars = CharBuffer.allocate(256);
    private final StringBuilder pending = new StringBuilder(); // decoded, not yet emitted
    private final StringBuilder emitted = new StringBuilder();
    private final List<String> stops;
    private boolean stopped;

    public TextStream(List<String> stops) {
        this.stops = stops;
    }

    /** Adds a token's bytes; returns text that is now final ("" if none), and sets stopped() on a stop string. */
    public String add(byte[] tokenBytes) {
        if (bytes.remaining() < tokenBytes.length) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(bytes.capacity() * 2, bytes.position() + tokenBytes.length));
            bytes.flip();
            bigger.put(bytes);
            bytes = bigger;
        }
        bytes.put(tokenBytes);
        bytes.flip();
        while (true) {
            chars.clear();
            decoder.decode(bytes, chars, false);
            chars.flip();
            pending.append(chars);
            if (!bytes.hasRemaining() || chars.length() == 0) {
                break;
            }
        }
        bytes.compact();
        return release(false);
    }

    /** End of generation: flushes held-back text (an incomplete character becomes U+FFFD). */
    public String finish() {
        bytes.flip();
        chars.clear();
        decoder.decode(bytes, chars, true);
        decoder.flush(chars);
        chars.flip();
        pending.append(chars);
        bytes.clear();
        return release(true);
    }

    public boolean stopped() {
        return stopped;
    }

    public String text() {
        return emitted.toString();
    }

    private String release(boolean all) {
        if (stopped) {
            return "";
        }
        int cut = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) {
                cut = i;
            }
        }
        String out;
        if (cut >= 0) {
            stopped = true;
            out = pending.substring(0, cut);
            pending.setLength(0);
        } else {
            int keep = all ? 0 : heldBack();
            out = pending.substring(0, pending.length() - keep);
            pending.delete(0, pending.length() - keep);
        }
        emitted.append(out);
        return out;
    }

    /** Length of the longest suffix of pending that is a proper prefix of some stop string. */
    private int heldBack() {
        int best = 0;
        String text = pending.toString();
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, text.length()); len > best; len--) {
                if (text.regionMatches(text.length() - len, s, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
