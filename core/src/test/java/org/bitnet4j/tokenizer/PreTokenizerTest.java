package org.bitnet4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written split scanners against java.util.regex running the same expressions in Unicode
 * mode (\s = White_Space), on fixed examples and on random text drawn from letters, digits and
 * spaces of several scripts, punctuation, apostrophes and emoji.
 */
class PreTokenizerTest {
    // Llama 3's (?i:...) written out: llama.cpp lower-cases only the letters themselves, and no
    // other code point lower-cases to one of s t r e v m l d (checked below)
    private static final Pattern LLAMA3 = Pattern.compile(
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern GPT2 = Pattern.compile(PreTokenizer.GPT2.regex(), Pattern.UNICODE_CHARACTER_CLASS);

    private static List<String> regexSplit(Pattern p, String text) {
        List<String> words = new ArrayList<>();
        Matcher m = p.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) words.add(text.substring(last, m.start())); // unmatched gap (never expected)
            words.add(m.group());
            last = m.end();
        }
        if (last < text.length()) words.add(text.substring(last));
        return words;
    }

    @Test
    void llama3Examples() {
        assertEquals(List.of("Hello", ",", " world", "!"), PreTokenizer.LLAMA3.split("Hello, world!"));
        assertEquals(List.of("  ", " Hello"), PreTokenizer.LLAMA3.split("   Hello"));
        assertEquals(List.of("I", "'VE", " been", " '", "told"), PreTokenizer.LLAMA3.split("I'VE been 'told"));
        assertEquals(List.of("333", "333", "3"), PreTokenizer.LLAMA3.split("3333333"));
        assertEquals(List.of("\t\n\n"), PreTokenizer.LLAMA3.split("\t\n\n"));
        assertEquals(List.of("    ", " Hello", "\n", "   ", " Hello"), PreTokenizer.LLAMA3.split("     Hello\n    Hello"));
        assertEquals(List.of(" ...\n\n", "x"), PreTokenizer.LLAMA3.split(" ...\n\nx"));
        assertEquals(List.of(" \u00A0", "\u00A0x"), PreTokenizer.LLAMA3.split(" \u00A0\u00A0x"));
    }

    @Test
    void gpt2Examples() {
        assertEquals(List.of("Hello", ",", " world", "!"), PreTokenizer.GPT2.split("Hello, world!"));
        assertEquals(List.of("I", "'", "VE", " 3333333"), PreTokenizer.GPT2.split("I'VE 3333333"));
        assertEquals(List.of(" \n\n", " x"), PreTokenizer.GPT2.split(" \n\n x"));
    }

    @Test
    void noOtherCodePointLowerCasesToAContractionLetter() {
        for (int cp = 0x80; cp <= Character.MAX_CODE_POINT; cp++) {
            int lower = Character.toLowerCase(cp);
            if (lower < 0x80) assertEquals(-1, "strvemld".indexOf(lower), "U+" + Integer.toHexString(cp));
        }
    }

    private static final String[] PIECES = {
        "a", "b", "Z", "s", "t", "S", "T", "re", "RE", "ve", "ll", "LL", "m", "d", "D", "é", "ß", "ж", "Ж", "я", "語", "日本",
        "ก", "ា", "\u0301", "\u093F", // combining marks are not \p{L}
        "0", "7", "42", "٣", "²", "Ⅻ", "½",
        " ", " ", " ", "  ", "\t", "\n", "\n", "\r", "\r\n", "\u00A0", "\u3000", "\u2028", "\u000B", "\u0085",
        "'", "'", "'", "\"", ".", ",", "!", "?", "-", "--", "(", ")", "#", "$", "€", "…", "«", "\u200B", "\u0000", "\u001F",
        "🦙", "🚀", "😶‍🌫️", "\uD83D\uDC4D",
    };

    private static String randomText(Random r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(14);
        for (int i = 0; i < n; i++) sb.append(PIECES[r.nextInt(PIECES.length)]);
        return sb.toString();
    }

    @Test
    void llama3MatchesTheRegexOnRandomText() {
        Random r = new Random(12345);
        for (int i = 0; i < 20000; i++) {
            String text = randomText(r);
            assertEquals(regexSplit(LLAMA3, text), PreTokenizer.LLAMA3.split(text), () -> "text: '" + VocabTestCases.show(text) + "'");
        }
    }

    @Test
    void gpt2MatchesTheRegexOnRandomText() {
        Random r = new Random(54321);
        for (int i = 0; i < 20000; i++) {
            String text = randomText(r);
            assertEquals(regexSplit(GPT2, text), PreTokenizer.GPT2.split(text), () -> "text: '" + VocabTestCases.show(text) + "'");
        }
    }

    @Test
    void splitRegexesAreRecognised() {
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forRegex(PreTokenizer.LLAMA3.regex()));
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forRegex(
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"));
        assertSame(PreTokenizer.GPT2, PreTokenizer.forRegex(PreTokenizer.GPT2.regex()));
        assertNull(PreTokenizer.forRegex("\\p{N}{1,2}"));
    }
}
