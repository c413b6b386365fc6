package org.bitnet4j.tokenizer;

/**
 * Splits text into the words that byte-level BPE merges within. Each constant is a hand-written
 * scanner over code points that reproduces one regular expression exactly (including the
 * {@code \s+(?!\S)} lookahead, which leaves the last space of a run to prefix the next word);
 * hand-written because it is several times faster than java.util.regex and because "\s" must be
 * Unicode White_Space, "\p{L}" letters and "\p{N}" numbers of any script.
 */
enum PreTokenizer {
    /**
     * Llama 3 / tiktoken cl100k-style:
     * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}
     */
    LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") {
        @Override
        void split(int[] cps, int from, int to, Sink sink) {
            int prevEnd = from;
            int pos = from;
            while (pos < to) {
                int cp = cps[pos];
                int f = flags(cps, pos, to);
                // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                if (cp == '\'' && pos + 1 < to) {
                    int c1 = Character.toLowerCase(cps[pos + 1]);
                    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                        pos += 2;
                        sink.word(cps, prevEnd, pos);
                        prevEnd = pos;
                        continue;
                    }
                    if (pos + 2 < to) {
                        int c2 = Character.toLowerCase(cps[pos + 2]);
                        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                            pos += 3;
                            sink.word(cps, prevEnd, pos);
                            prevEnd = pos;
                            continue;
                        }
                    }
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if (!(cp == '\r' || cp == '\n' || (f & NUMBER) != 0)) {
                    if ((f & LETTER) != 0 || (flags(cps, pos + 1, to) & LETTER) != 0) {
                        pos++;
                        while ((flags(cps, pos, to) & LETTER) != 0) pos++;
                        sink.word(cps, prevEnd, pos);
                        prevEnd = pos;
                        continue;
                    }
                }
                // \p{N}{1,3}
                if ((f & NUMBER) != 0) {
                    int start = pos;
                    while ((flags(cps, pos, to) & NUMBER) != 0) {
                        pos++;
                        if (pos - start == 3) {
                            sink.word(cps, prevEnd, pos);
                            prevEnd = pos;
                            start = pos;
                        }
                    }
                    if (pos > prevEnd) {
                        sink.word(cps, prevEnd, pos);
                        prevEnd = pos;
                    }
                    continue;
                }
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                int f2 = cp == ' ' ? flags(cps, pos + 1, to) : f;
                if (isOther(f2)) {
                    if (cp == ' ') pos++;
                    while (isOther(flags(cps, pos, to))) pos++;
                    while (pos < to && (cps[pos] == '\r' || cps[pos] == '\n')) pos++;
                    sink.word(cps, prevEnd, pos);
                    prevEnd = pos;
                    continue;
                }
                int spaces = 0;
                int lastNewlineEnd = -1;
                while ((flags(cps, pos + spaces, to) & SPACE) != 0) {
                    int c = cps[pos + spaces];
                    if (c == '\r' || c == '\n') lastNewlineEnd = pos + spaces + 1;
                    spaces++;
                }
                // \s*[\r\n]+
                if (lastNewlineEnd >= 0) {
                    pos = lastNewlineEnd;
                } else if (spaces > 1 && pos + spaces < to) {
                    // \s+(?!\S): the last space stays for the word that follows
                    pos += spaces - 1;
                } else if (spaces > 0) {
                    // \s+
                    pos += spaces;
                } else {
                    pos++; // no alternative matched: the code point becomes a word of its own
                }
                sink.word(cps, prevEnd, pos);
                prevEnd = pos;
            }
        }
    },

    /** GPT-2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+} */
    GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+") {
        @Override
        void split(int[] cps, int from, int to, Sink sink) {
            int prevEnd = from;
            int pos = from;
            while (pos < to) {
                int cp = cps[pos];
                int f = flags(cps, pos, to);
                // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive in GPT-2)
                if (cp == '\'' && pos + 1 < to) {
                    int c1 = cps[pos + 1];
                    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                        pos += 2;
                        sink.word(cps, prevEnd, pos);
                        prevEnd = pos;
                        continue;
                    }
                    if (pos + 2 < to) {
                        int c2 = cps[pos + 2];
                        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                            pos += 3;
                            sink.word(cps, prevEnd, pos);
                            prevEnd = pos;
                            continue;
                        }
                    }
                }
                int f2 = cp == ' ' ? flags(cps, pos + 1, to) : f;
                int cls = (f2 & LETTER) != 0 ? LETTER : (f2 & NUMBER) != 0 ? NUMBER : isOther(f2) ? OTHER : 0;
                if (cls != 0) {
                    // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
                    if (cp == ' ') pos++;
                    if (cls == OTHER) {
                        while (isOther(flags(cps, pos, to))) pos++;
                    } else {
                        while ((flags(cps, pos, to) & cls) != 0) pos++;
                    }
                } else {
                    int spaces = 0;
                    while ((flags(cps, pos + spaces, to) & SPACE) != 0) spaces++;
                    if (spaces > 1 && pos + spaces < to) {
                        pos += spaces - 1; // \s+(?!\S)
                    } else if (spaces > 0) {
                        pos += spaces; // \s+
                    } else {
                        pos++;
                    }
                }
                sink.word(cps, prevEnd, pos);
                prevEnd = pos;
            }
        }
    };

    /** Receives the words of a split as code point ranges [start, end) of the array passed in. */
    interface Sink {
        void word(int[] cps, int start, int end);
    }

    private final String regex;

    PreTokenizer(String regex) {
        this.regex = regex;
    }

    /** The regular expression this scanner implements, as written in tokenizer.json files. */
    String regex() {
        return regex;
    }

    abstract void split(int[] cps, int from, int to, Sink sink);

    /** Splits a whole string; convenience for tests and small inputs. */
    java.util.List<String> split(String text) {
        int[] cps = text.codePoints().toArray();
        java.util.List<String> words = new java.util.ArrayList<>();
        split(cps, 0, cps.length, (c, s, e) -> words.add(new String(c, s, e - s)));
        return words;
    }

    /** The scanner for a tokenizer.json Split regex, or null if it is not one of ours. */
    static PreTokenizer forRegex(String regex) {
        for (PreTokenizer p : values()) {
            if (p.regex.equals(regex)) return p;
        }
        // llama.cpp also accepts this spelling of the Llama 3 contractions (no inline flag group)
        if (regex.equals("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])" + LLAMA3.regex.substring(LLAMA3.regex.indexOf(")|") + 1))) {
            return LLAMA3;
        }
        return null;
    }

    // Character classes: IN_RANGE marks any real position so that "not a space, letter or number"
    // can be told apart from "past the end" (where nothing matches).
    private static final int LETTER = 1, NUMBER = 2, SPACE = 4, IN_RANGE = 8, OTHER = 16;
    private static final byte[] BMP_FLAGS = new byte[65536];

    static {
        for (int cp = 0; cp < 65536; cp++) BMP_FLAGS[cp] = (byte) computeFlags(cp);
    }

    private static int computeFlags(int cp) {
        int f = IN_RANGE;
        if (Character.isLetter(cp)) f |= LETTER;
        int type = Character.getType(cp);
        if (type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER || type == Character.OTHER_NUMBER) {
            f |= NUMBER;
        }
        if (isWhiteSpace(cp)) f |= SPACE;
        return f;
    }

    /** Unicode's White_Space property, which is what regex engines mean by \s in Unicode mode. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    private static int flags(int[] cps, int pos, int to) {
        if (pos >= to) return 0;
        int cp = cps[pos];
        return cp < 65536 ? BMP_FLAGS[cp] : computeFlags(cp);
    }

    /** [^\s\p{L}\p{N}] at a real position. */
    private static boolean isOther(int f) {
        return (f & (LETTER | NUMBER | SPACE | IN_RANGE)) == IN_RANGE;
    }
}
