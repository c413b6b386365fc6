package org.bitnet4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Llama 3 tokenizer.json route against llama.cpp's expected ids, plus merge order and bad files on tiny synthetic files. */
class HuggingFaceTokenizerTest {
    static Tokenizer llama3;

    @BeforeAll
    static void load() {
        llama3 = Tokenizer.fromHuggingFace(VocabTestCases.shared().resolve("data/tokenizers/llama3/tokenizer.json"));
    }

    @Test
    void reproducesEveryLlamaCppLlama3Case() {
        VocabTestCases cases = VocabTestCases.load("ggml-vocab-llama-bpe.gguf");
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases.texts().size(); i++) {
            int[] got = llama3.encode(cases.texts().get(i), false, false);
            if (!Arrays.equals(cases.ids().get(i), got)) {
                failures.add("'" + VocabTestCases.show(cases.texts().get(i)) + "': expected " + Arrays.toString(cases.ids().get(i))
                        + " got " + Arrays.toString(got));
            }
        }
        assertEquals(46, cases.texts().size());
        assertEquals(List.of(), failures);
    }

    @Test
    void specialTokensAndFlags() {
        assertEquals(128256, llama3.vocabSize());
        assertEquals(128000, llama3.bos());
        assertEquals(128001, llama3.eos());
        assertTrue(llama3.addBos());
        assertFalse(llama3.addEos());
        assertTrue(Arrays.stream(llama3.endOfGenerationIds()).anyMatch(id -> id == 128009));
        assertTrue(Arrays.stream(llama3.endOfGenerationIds()).anyMatch(id -> id == 128001));
        assertTrue(llama3.isControl(128009));
        assertFalse(llama3.isControl(9906));
        assertEquals("<|eot_id|>", llama3.piece(128009));
        assertEquals(128009, llama3.id("<|eot_id|>"));
        assertEquals(-1, llama3.id("no such piece"));
        assertEquals("Hello", llama3.piece(9906));
        assertEquals("ĠHello", llama3.piece(22691));
        assertArrayEquals(" Hello".getBytes(java.nio.charset.StandardCharsets.UTF_8), llama3.tokenBytes(22691));
    }

    @Test
    void bosAndSpecialParsing() {
        assertArrayEquals(new int[] {128000, 9906, 1917}, llama3.encode("Hello world", true, false));
        int[] parsed = llama3.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", false, true);
        assertEquals(128006, parsed[0]);
        assertEquals(128009, parsed[parsed.length - 1]);
        assertEquals("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", llama3.decode(parsed));
        // without parseSpecial the same text is ordinary characters
        int[] plain = llama3.encode("<|eot_id|>", false, false);
        assertTrue(plain.length > 1);
        assertTrue(Arrays.stream(plain).noneMatch(id -> id >= 128000));
        assertEquals("<|eot_id|>", llama3.decode(plain));
    }

    // ---- tiny synthetic files: exact merge semantics and error messages ----

    /** ASCII letters are their own GPT-2 stand-ins, so these vocabularies read naturally. */
    private static String tokenizerJson(String vocab, String merges, boolean ignoreMerges) {
        return """
                {"version":"1.0","added_tokens":[{"id":100,"content":"<|end|>","special":true}],
                 "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
                 "model":{"type":"BPE","ignore_merges":%s,"vocab":{%s},"merges":[%s]}}
                """.formatted(ignoreMerges, vocab, merges);
    }

    private static Tokenizer write(Path dir, String json) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json);
        return Tokenizer.fromHuggingFace(file);
    }

    /** a few tokens, then fillers up to the added token "<|end|>" (id 100) */
    private static final String ABC = "\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5,\"aa\":6,\"Ġ\":7" + fill(8, 100);

    @Test
    void mergesApplyByRankNotByPosition(@TempDir Path dir) throws IOException {
        // "b c" outranks "a b": abc -> a|bc -> abc
        Tokenizer t = write(dir, tokenizerJson(ABC, "\"b c\",\"a bc\",\"a b\"", false));
        assertArrayEquals(new int[] {5}, t.encode("abc", false, false));
        // "a b" first: ab|c, and there is no "ab c" merge
        t = write(dir, tokenizerJson(ABC, "\"a b\",\"b c\",\"a bc\"", false));
        assertArrayEquals(new int[] {3, 2}, t.encode("abc", false, false));
    }

    @Test
    void equalRanksMergeLeftmostFirst(@TempDir Path dir) throws IOException {
        Tokenizer t = write(dir, tokenizerJson(ABC, "\"a a\"", false));
        assertArrayEquals(new int[] {6, 0}, t.encode("aaa", false, false));
        assertArrayEquals(new int[] {6, 6}, t.encode("aaaa", false, false));
    }

    @Test
    void ignoreMergesTakesWholeWords(@TempDir Path dir) throws IOException {
        assertArrayEquals(new int[] {0, 1, 2}, write(dir, tokenizerJson(ABC, "", false)).encode("abc", false, false));
        assertArrayEquals(new int[] {5}, write(dir, tokenizerJson(ABC, "", true)).encode("abc", false, false));
    }

    @Test
    void addedTokensAreControlTokens(@TempDir Path dir) throws IOException {
        Tokenizer t = write(dir, tokenizerJson(ABC, "", false));
        assertEquals(101, t.vocabSize());
        assertTrue(t.isControl(100));
        assertArrayEquals(new int[] {0, 100, 1}, t.encode("a<|end|>b", false, true));
    }

    /** Filler tokens "f<id>" so that the ids below the added token are dense. */
    private static String fill(int from, int toExclusive) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < toExclusive; i++) sb.append(",\"f").append(i).append("\":").append(i);
        return sb.toString();
    }

    @Test
    void mergeNamingAnUnknownTokenIsRejected(@TempDir Path dir) {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> write(dir, tokenizerJson(ABC, "\"a b\",\"b q\"", false)));
        assertTrue(e.getMessage().contains("model.merges[1]"), e.getMessage());
        assertTrue(e.getMessage().contains("\"q\""), e.getMessage());
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    }

    @Test
    void mergeProducingAnUnknownTokenIsRejected(@TempDir Path dir) {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> write(dir, tokenizerJson(ABC, "\"c a\"", false)));
        assertTrue(e.getMessage().contains("model.merges[0]") && e.getMessage().contains("\"ca\""), e.getMessage());
    }

    @Test
    void badFilesGetOneClearMessage(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": [1, 2");
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(file));
        assertTrue(e.getMessage().startsWith(file + ": not valid JSON"), e.getMessage());

        Files.writeString(file, "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(file));
        assertTrue(e.getMessage().contains("model.type is \"WordPiece\""), e.getMessage());

        Files.writeString(file, tokenizerJson("\"a\":0,\"b\":2", "", false));
        e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(file));
        assertTrue(e.getMessage().contains("token id 1 has no entry"), e.getMessage());

        Path missing = dir.resolve("nope.json");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(missing));
        assertEquals(missing + ": no such file", e.getMessage());
    }
}
