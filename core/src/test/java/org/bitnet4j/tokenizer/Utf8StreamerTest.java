package org.bitnet4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class Utf8StreamerTest {
    static Tokenizer llama3;

    @BeforeAll
    static void load() {
        llama3 = Tokenizer.fromHuggingFace(VocabTestCases.shared().resolve("data/tokenizers/llama3/tokenizer.json"));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void holdsBackAnIncompleteCharacterUntilItIsComplete() {
        Utf8Streamer s = new Utf8Streamer();
        byte[] llama = utf8("🦙"); // F0 9F A6 99
        assertEquals("a", s.accept(new byte[] {'a', llama[0]}));
        assertEquals(1, s.pendingBytes());
        assertEquals("", s.accept(new byte[] {llama[1], llama[2]}));
        assertEquals("🦙b", s.accept(new byte[] {llama[3], 'b'}));
        assertEquals(0, s.pendingBytes());
        assertEquals("", s.flush());
    }

    @Test
    void invalidBytesDoNotHoldBackTheText() {
        Utf8Streamer s = new Utf8Streamer();
        // a lone continuation byte, then a lead byte that can never start a sequence
        assertEquals("\uFFFDx\uFFFDy", s.accept(new byte[] {(byte) 0x80, 'x', (byte) 0xFF, 'y'}));
        // E0 followed by 80 is an overlong start: emitted at once, not held
        assertEquals("\uFFFD\uFFFD", s.accept(new byte[] {(byte) 0xE0, (byte) 0x80}));
        // an unfinished sequence at the end becomes one replacement character on flush
        assertEquals("", s.accept(new byte[] {(byte) 0xE2, (byte) 0x82}));
        assertEquals("\uFFFD", s.flush());
    }

    @Test
    void everySplitOfMultiByteTextStreamsToTheSameText() {
        String text = "Grüße, мир! 日本語 🦙🚀 ½ — ok";
        byte[] b = utf8(text);
        Random r = new Random(7);
        for (int trial = 0; trial < 500; trial++) {
            Utf8Streamer s = new Utf8Streamer();
            StringBuilder out = new StringBuilder();
            int pos = 0;
            while (pos < b.length) {
                int len = Math.min(b.length - pos, 1 + r.nextInt(4));
                byte[] chunk = java.util.Arrays.copyOfRange(b, pos, pos + len);
                String part = s.accept(chunk);
                assertEquals(-1, part.indexOf('\uFFFD'), "no replacement chars for valid input");
                out.append(part);
                pos += len;
            }
            out.append(s.flush());
            assertEquals(text, out.toString());
        }
    }

    @Test
    void streamingTokenBytesOfByteLevelTokensRebuildsTheText() {
        // the emoji and CJK characters here are split across several byte-level tokens
        String text = "Hello 🦙 and 😶‍🌫️ — 我想在apple工作 кошка";
        int[] ids = llama3.encode(text, false, false);
        Utf8Streamer s = new Utf8Streamer();
        StringBuilder out = new StringBuilder();
        int heldBack = 0;
        for (int id : ids) {
            String part = s.accept(llama3.tokenBytes(id));
            assertEquals(-1, part.indexOf('\uFFFD'));
            if (s.pendingBytes() > 0) heldBack++;
            out.append(part);
        }
        out.append(s.flush());
        assertEquals(text, out.toString());
        assertEquals(true, heldBack > 0, "the text was chosen so that some character spans tokens");
    }
}
