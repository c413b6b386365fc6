package org.bitnet4j.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamTest {
    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void multiByteCharactersSplitAcrossTokensAreHeldUntilComplete() {
        TextStream ts = new TextStream(List.of());
        byte[] euro = b("€"); // 3 bytes
        assertEquals("a", ts.add(new byte[] {'a', euro[0]}));
        assertEquals("", ts.add(new byte[] {euro[1]}));
        assertEquals("€b", ts.add(new byte[] {euro[2], 'b'}));
        assertEquals("", ts.finish());
        assertEquals("a€b", ts.text());
    }

    @Test
    void incompleteCharacterAtTheEndBecomesReplacementCharacter() {
        TextStream ts = new TextStream(List.of());
        assertEquals("x", ts.add(new byte[] {'x', (byte) 0xE2, (byte) 0x82}));
        assertEquals("\uFFFD", ts.finish());
    }

    @Test
    void stopStringAcrossTokensIsNeverEmittedAndEndsTheStream() {
        TextStream ts = new TextStream(List.of("\nUser:"));
        assertEquals("Hello", ts.add(b("Hello")));
        assertEquals("", ts.add(b("\nUs")));      // could be the stop string: held back
        assertFalse(ts.stopped());
        assertEquals("", ts.add(b("er: more")));
        assertTrue(ts.stopped());
        assertEquals("", ts.finish());
        assertEquals("Hello", ts.text());
    }

    @Test
    void heldBackTextIsReleasedWhenItCannotBeAStopString() {
        TextStream ts = new TextStream(List.of("###"));
        assertEquals("a", ts.add(b("a#")));
        assertEquals("#b", ts.add(b("b")));
        assertEquals("c#", ts.add(b("c#")).concat(ts.finish()));
        assertFalse(ts.stopped());
        assertEquals("a#bc#", ts.text());
    }
}
