package org.bitnet4j.server;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Token bytes to streamable text, one per slot: holds back the bytes of an incomplete UTF-8 character and text
 * that could still turn into a stop string. Same rules as core's {@code generate.TextStream} (package-private
 * there, hence this copy; if that class becomes public the scheduler should use it instead), so the batched
 * server and a single {@code Session} emit identical text.
 */
final class StreamingText {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer bytes = ByteBuffer.allocate(64);
    private final CharBuffer chars = CharBuffer.allocate(256);
    private final StringBuilder pending = new StringBuilder(); // decoded, not yet released
    private final StringBuilder released = new StringBuilder();
    private final List<String> stops;
    private boolean stopped;

    StreamingText(List<String> stops) {
        this.stops = stops;
    }

    /** Adds one token's bytes; returns the text that became final ("" if none). Sets stopped() on a stop string. */
    String add(byte[] tokenBytes) {
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

    /** End of generation: releases what was held back; an incomplete character becomes U+FFFD. */
    String finish() {
        bytes.flip();
        chars.clear();
        decoder.decode(bytes, chars, true);
        decoder.flush(chars);
        chars.flip();
        pending.append(chars);
        bytes.clear();
        return release(true);
    }

    boolean stopped() {
        return stopped;
    }

    /** Everything released so far (the answer, without the stop string). */
    String text() {
        return released.toString();
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
        released.append(out);
        return out;
    }

    /** Length of the longest suffix of pending that is a proper prefix of a stop string. */
    private int heldBack() {
        int best = 0;
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, pending.length()); len > best; len--) {
                if (pending.substring(pending.length() - len).equals(s.substring(0, len))) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
