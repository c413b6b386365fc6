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
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufFormatException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GGUF vocabularies against llama.cpp's conformance cases (Llama 3 byte-level BPE and Llama 2
 * SentencePiece), the fixtures' tiny GPT-2 vocabulary, agreement with the tokenizer.json route,
 * and one clear error per kind of broken metadata.
 */
class GgufTokenizerTest {
    static Tokenizer llamaBpe, llamaSpm, huggingFace;

    static Tokenizer open(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            return Tokenizer.fromGguf(f.metadata());
        }
    }

    @BeforeAll
    static void load() {
        llamaBpe = open(VocabTestCases.vocabTests().resolve("ggml-vocab-llama-bpe.gguf"));
        llamaSpm = open(VocabTestCases.vocabTests().resolve("ggml-vocab-llama-spm.gguf"));
        huggingFace = Tokenizer.fromHuggingFace(VocabTestCases.shared().resolve("data/tokenizers/llama3/tokenizer.json"));
    }

    private static void assertConformance(Tokenizer t, String vocabFile) {
        VocabTestCases cases = VocabTestCases.load(vocabFile);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases.texts().size(); i++) {
            String text = cases.texts().get(i);
            int[] got = t.encode(text, false, false);
            if (!Arrays.equals(cases.ids().get(i), got)) {
                failures.add("'" + VocabTestCases.show(text) + "': expected " + Arrays.toString(cases.ids().get(i)) + " got " + Arrays.toString(got));
            }
            if (!t.decode(got).equals(text)) failures.add("'" + VocabTestCases.show(text) + "' decodes to '" + VocabTestCases.show(t.decode(got)) + "'");
        }
        assertEquals(46, cases.texts().size());
        assertEquals(List.of(), failures);
    }

    @Test
    void llamaBpeConformance() {
        assertConformance(llamaBpe, "ggml-vocab-llama-bpe.gguf");
    }

    @Test
    void llamaSpmConformance() {
        assertConformance(llamaSpm, "ggml-vocab-llama-spm.gguf");
    }

    @Test
    void specialIdsAndFlags() {
        assertEquals(128000, llamaBpe.bos());
        assertEquals(128001, llamaBpe.eos());
        assertTrue(llamaBpe.addBos(), "llama-bpe adds BOS by default, as in llama.cpp");
        assertTrue(Arrays.stream(llamaBpe.endOfGenerationIds()).anyMatch(id -> id == 128009));
        assertEquals(1, llamaSpm.bos());
        assertEquals(2, llamaSpm.eos());
        assertTrue(llamaSpm.addBos());
        assertFalse(llamaSpm.addEos());
        assertTrue(llamaSpm.isControl(1));
        assertArrayEquals(new int[] {1, 15043, 3186}, llamaSpm.encode("Hello world", true, false));
        // byte tokens decode to their byte; U+2581 to a space
        assertArrayEquals(new byte[] {0x0A}, llamaSpm.tokenBytes(llamaSpm.id("<0x0A>")));
        assertArrayEquals(" Hello".getBytes(java.nio.charset.StandardCharsets.UTF_8), llamaSpm.tokenBytes(15043));
    }

    @Test
    void spmPrefixSpaceFollowsSpecialTokens() {
        // "<s>" parsed as BOS; the text after it gets the prefix space again, and decode removes it
        int[] ids = llamaSpm.encode("<s>Hello", false, true);
        assertArrayEquals(new int[] {1, 15043}, ids);
        assertEquals("<s>Hello", llamaSpm.decode(ids));
        assertEquals("Hello world", llamaSpm.decode(llamaSpm.encode("Hello world", true, false)).substring("<s>".length()));
    }

    @Test
    void fixtureVocabularyGivesTheReferenceSequence() {
        int[] seq1 = {510, 72, 294, 292, 345, 44, 352, 319, 257, 301, 302, 359, 342, 115, 46};
        for (String f : List.of("bitnet-silu-f32.gguf", "bitnet-b1.58-relu2-i2_s.gguf")) {
            Tokenizer t = open(VocabTestCases.shared().resolve("fixtures").resolve(f));
            assertEquals(512, t.vocabSize());
            assertArrayEquals(seq1, t.encode("Hello world, this is a test of ternary weights.", true, false), f);
            assertEquals("<|begin_of_text|>Hello world, this is a test of ternary weights.", t.decode(seq1));
            assertArrayEquals(new int[] {511}, t.endOfGenerationIds());
        }
    }

    @Test
    void ggufAndTokenizerJsonAgree() throws IOException {
        assertEquals(huggingFace.vocabSize(), llamaBpe.vocabSize());
        for (int i = 0; i < llamaBpe.vocabSize(); i++) {
            assertEquals(llamaBpe.piece(i), huggingFace.piece(i));
            assertEquals(llamaBpe.isControl(i), huggingFace.isControl(i));
        }
        List<String> texts = new ArrayList<>(VocabTestCases.load("ggml-vocab-llama-bpe.gguf").texts());
        texts.addAll(RoundTripTest.TEXTS);
        String austen = Files.readString(VocabTestCases.shared().resolve("data/corpus/austen.txt"));
        texts.add(austen.substring(0, 200_000));
        for (String text : texts) {
            assertArrayEquals(llamaBpe.encode(text, true, true), huggingFace.encode(text, true, true), () -> VocabTestCases.show(text));
        }
    }

    @Test
    void spmRoundTripsAndSegmentedMergingMatchesWholeText() throws IOException {
        for (String t : RoundTripTest.TEXTS) assertEquals(t, llamaSpm.decode(llamaSpm.encode(t, false, false)), () -> VocabTestCases.show(t));
        String kjv = Files.readString(VocabTestCases.shared().resolve("data/corpus/kjv.txt")).substring(0, 100_000);
        Tokenizer whole = new SentencePieceBpeTokenizer(((BaseTokenizer) llamaSpm).vocab, true, false);
        assertArrayEquals(whole.encode(kjv, true, false), llamaSpm.encode(kjv, true, false));
    }

    // ---- broken metadata ----

    private static GgufBytes tiny() {
        return new GgufBytes()
                .put("general.architecture", "bitnet")
                .put("tokenizer.ggml.model", "gpt2")
                .put("tokenizer.ggml.pre", "gpt-2")
                .put("tokenizer.ggml.tokens", new String[] {"a", "b", "ab", "<|begin_of_text|>"})
                .put("tokenizer.ggml.token_type", new int[] {1, 1, 1, 3})
                .put("tokenizer.ggml.merges", new String[] {"a b"})
                .put("tokenizer.ggml.bos_token_id", new GgufBytes.U32(3))
                .put("tokenizer.ggml.add_bos_token", true);
    }

    private static String error(GgufBytes md, Path dir) throws IOException {
        Path file = md.write(dir.resolve("broken.gguf"));
        return assertThrows(GgufFormatException.class, () -> open(file)).getMessage();
    }

    @Test
    void theTinyMetadataIsValid(@TempDir Path dir) throws IOException {
        Tokenizer t = open(tiny().write(dir.resolve("ok.gguf")));
        assertArrayEquals(new int[] {3, 2, 0}, t.encode("aba", true, false));
    }

    @Test
    void missingOrUnknownModel(@TempDir Path dir) throws IOException {
        String m = error(tiny().remove("tokenizer.ggml.model"), dir);
        assertTrue(m.contains("tokenizer.ggml.model"), m);
        m = error(tiny().put("tokenizer.ggml.model", "bert"), dir);
        assertTrue(m.contains("tokenizer.ggml.model") && m.contains("\"bert\""), m);
    }

    @Test
    void missingTokens(@TempDir Path dir) throws IOException {
        String m = error(tiny().remove("tokenizer.ggml.tokens"), dir);
        assertTrue(m.contains("tokenizer.ggml.tokens") && m.contains("missing"), m);
    }

    @Test
    void mergesReferringToUnknownTokens(@TempDir Path dir) throws IOException {
        String m = error(tiny().put("tokenizer.ggml.merges", new String[] {"a b", "b c"}), dir);
        assertTrue(m.contains("tokenizer.ggml.merges[1]") && m.contains("\"c\""), m);
        m = error(tiny().put("tokenizer.ggml.merges", new String[] {"ab"}), dir);
        assertTrue(m.contains("tokenizer.ggml.merges[0]"), m);
        m = error(tiny().remove("tokenizer.ggml.merges"), dir);
        assertTrue(m.contains("tokenizer.ggml.merges") && m.contains("missing"), m);
    }

    @Test
    void inconsistentArraysAndIds(@TempDir Path dir) throws IOException {
        String m = error(tiny().put("tokenizer.ggml.token_type", new int[] {1, 1, 1}), dir);
        assertTrue(m.contains("tokenizer.ggml.token_type") && m.contains("3 entries for 4 tokens"), m);
        m = error(tiny().put("tokenizer.ggml.bos_token_id", new GgufBytes.U32(4)), dir);
        assertTrue(m.contains("tokenizer.ggml.bos_token_id") && m.contains("outside"), m);
        m = error(tiny().put("tokenizer.ggml.pre", "qwen2"), dir);
        assertTrue(m.contains("tokenizer.ggml.pre") && m.contains("qwen2"), m);
    }

    @Test
    void missingPreKeyWithLlama3VocabularyMeansLlama3(@TempDir Path dir) throws IOException {
        // BitNet-b1.58-2B-4T's GGUF: Llama 3's vocabulary and merges, no tokenizer.ggml.pre
        Path src = VocabTestCases.vocabTests().resolve("ggml-vocab-llama-bpe.gguf");
        GgufBytes md = new GgufBytes().put("general.architecture", "bitnet-b1.58").put("tokenizer.ggml.model", "gpt2");
        try (GgufFile f = GgufFile.open(src)) {
            md.put("tokenizer.ggml.tokens", f.metadata().getStringArray("tokenizer.ggml.tokens"))
                    .put("tokenizer.ggml.token_type", f.metadata().getIntArray("tokenizer.ggml.token_type"))
                    .put("tokenizer.ggml.merges", f.metadata().getStringArray("tokenizer.ggml.merges"))
                    .put("tokenizer.ggml.bos_token_id", new GgufBytes.U32(128000))
                    .put("tokenizer.ggml.eos_token_id", new GgufBytes.U32(128001));
        }
        Tokenizer t = open(md.write(dir.resolve("bitnet-like.gguf")));
        assertConformance(t, "ggml-vocab-llama-bpe.gguf");
        assertTrue(t.addBos());
    }
}
