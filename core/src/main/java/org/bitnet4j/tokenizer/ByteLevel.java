package org.bitnet4j.tokenizer;

/**
 * GPT-2's reversible byte-to-unicode mapping. Byte-level BPE vocabularies store every token as a
 * string of these stand-in characters so that whitespace and control bytes are printable: the
 * printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order.
 */
final class ByteLevel {
    private ByteLevel() {}

    /** byte value -> stand-in code point (all below U+0144, so one UTF-16 char each). */
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** stand-in code point -> byte value, or -1 for chars that stand for no byte. */
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 256;
        for (int b = 0; b < 256; b++) {
            char c = printable[b] ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    static char encode(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a stand-in char represents, or -1 if it is not one of the 256 stand-ins. */
    static int decode(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Stand-in string for raw bytes (what the vocabulary stores). */
    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /**
     * Raw bytes of a vocabulary string. A char outside the mapping (a hand-edited vocabulary can
     * hold one) contributes its own UTF-8 bytes instead of failing, so decoding never throws.
     */
    static byte[] decode(String token) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(token.length());
        for (int i = 0; i < token.length(); ) {
            int cp = token.codePointAt(i);
            int b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                byte[] raw = new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                out.write(raw, 0, raw.length);
            }
            i += Character.charCount(cp);
        }
        return out.toByteArray();
    }
}
