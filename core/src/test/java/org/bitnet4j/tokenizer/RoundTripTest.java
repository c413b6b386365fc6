package org.bitnet4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** decode(encode(x)) == x for byte-level BPE on varied Unicode, fixed and random. */
class RoundTripTest {
    static Tokenizer llama3;

    static final List<String> TEXTS = List.of(
            "", " ", "\n", "Hello world", "  leading and trailing  ", "tabs\tand\r\nCRLF\n\n\n",
            "Ünïcödé: 日本語のテキスト, русский текст, ελληνικά, עברית, العربية, हिन्दी, ไทย",
            "emoji 🦙🚀😶‍🌫️👍🏽 flags 🇫🇷", "math ∑∫√∞ ≤ ≥ ½ ² Ⅻ", "zero\u200Bwidth\u00A0nbsp\u3000ideographic",
            "control \u0000\u0001\u001F chars", "I've, you'RE, they'll, we'd", "3333333 1234567890 ٣٤٥",
            "<|eot_id|> written as text", "combining e\u0301 and a\u0308", "\uD83D\uDC4D surrogate pair");

    @BeforeAll
    static void load() {
        llama3 = Tokenizer.fromHuggingFace(VocabTestCases.shared().resolve("data/tokenizers/llama3/tokenizer.json"));
    }

    @Test
    void fixedTexts() {
        for (String t : TEXTS) assertEquals(t, llama3.decode(llama3.encode(t, false, false)), () -> VocabTestCases.show(t));
    }

    @Test
    void randomCodePoints() {
        Random r = new Random(99);
        for (int i = 0; i < 300; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(40);
            for (int j = 0; j < n; j++) {
                int cp;
                do {
                    cp = switch (r.nextInt(4)) {
                        case 0 -> 0x20 + r.nextInt(0x5F);
                        case 1 -> r.nextInt(0x800);
                        case 2 -> r.nextInt(0x10000);
                        default -> 0x10000 + r.nextInt(0x100000);
                    };
                } while (Character.getType(cp) == Character.SURROGATE);
                sb.appendCodePoint(cp);
            }
            String t = sb.toString();
            assertEquals(t, llama3.decode(llama3.encode(t, false, false)), () -> VocabTestCases.show(t));
        }
    }
}
