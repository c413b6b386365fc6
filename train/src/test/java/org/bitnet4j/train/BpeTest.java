package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bitnet4j.gguf.GgufMetadata;
import org.bitnet4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTest {
    static String austen;
    static Bpe bpe;

    static Path corpus(String name) {
        return Path.of(System.getProperty("bitnet4j.shared", "../../shared"), "data", "corpus", name);
    }

    @BeforeAll
    static void learn() throws IOException {
        austen = Files.readString(corpus("austen.txt"));
        // Emma's first 200 kB
        bpe = Bpe.train(List.of(austen.substring(0, 200_000)), 1024, null);
    }

    @Test
    void vocabularyLayout() {
        assertEquals(1024, bpe.size());
        assertEquals("!", bpe.tokens().get('!'));
        assertEquals("\u0120", bpe.tokens().get(' '));             // GPT-2's stand-in for the space byte
        assertEquals(bpe.size() - 3, bpe.bos());                  // a 200 kB text has pairs enough for every slot
        assertEquals("<|begin_of_text|>", bpe.tokens().get(bpe.bos()));
        assertEquals("<|end_of_text|>", bpe.tokens().get(bpe.eos()));
        assertEquals("<|eot_id|>", bpe.tokens().get(bpe.eot()));
        assertEquals(Bpe.TYPE_CONTROL, bpe.tokenTypes()[bpe.eot()]);
        assertEquals(Bpe.TYPE_NORMAL, bpe.tokenTypes()[300]);
        assertTrue(bpe.merges().size() >= 1024 - 256 - 3);
    }

    @Test
    void firstMergeIsTheMostFrequentPair() {
        Bpe b = Bpe.train(List.of("abab abab abab cd"), 260, null); // room for one merge
        // words "abab", " abab" x2, " cd": (a, b) occurs 6 times, more than any other pair
        assertEquals("a b", b.merges().get(0));
        assertEquals("ab", b.tokens().get(256));
        assertArrayEquals(new int[] {256, 256}, b.encode("abab"));
    }

    @Test
    void engineTokenizerReadsTheVocabularyAsTheTrainerTokenises() {
        Tokenizer engine = Tokenizer.fromGguf(new GgufMetadata("test", GgufExport.tokenizerMetadata(bpe)));
        int p = austen.indexOf("Persuasion\n");
        String persuasion = austen.substring(p, p + 30_000);
        String odd = "Don't you'll WE'RE it's  --  \"Quoth\"\t3.14159 and 1234567 £20, naïve café — 北京 😀 end\r\n\n\n  x";
        for (String text : List.of(persuasion, odd, " leading space", "trailing  ", "", "a")) {
            assertArrayEquals(engine.encode(text, false, false), bpe.encode(text), text.length() > 40 ? "Persuasion" : text);
            assertEquals(text, bpe.decode(bpe.encode(text)));
        }
        assertEquals(bpe.bos(), engine.bos());
        assertEquals(bpe.eos(), engine.eos());
        assertTrue(engine.addBos());
    }

    @Test
    void saveAndLoadGiveTheSameVocabulary(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("t.bpe");
        bpe.save(f);
        Bpe back = Bpe.load(f);
        assertEquals(bpe.tokens(), back.tokens());
        assertEquals(bpe.merges(), back.merges());
        String text = austen.substring(500_000, 510_000);
        assertArrayEquals(bpe.encode(text), back.encode(text));
    }

    @Test
    void loadRefusesAForeignFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("x.bpe");
        Files.writeString(f, "hello\n");
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Bpe.load(f));
        assertTrue(e.getMessage().startsWith(f + ": not a bitnet4j BPE file"), e.getMessage());
        Files.writeString(f, "bitnet4j-bpe 1 300\nqq z\n");
        e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Bpe.load(f));
        assertTrue(e.getMessage().contains("merge 0"), e.getMessage());
    }

    @Test
    void smallCorpusIsPaddedWithReservedControlTokens() {
        Bpe b = Bpe.train(List.of("ab ab"), 300, null);
        assertEquals(300, b.size());
        assertEquals("<|reserved_special_token_0|>", b.tokens().get(b.eot() + 1));
        assertEquals(Bpe.TYPE_CONTROL, b.tokenTypes()[299]);
    }
}
