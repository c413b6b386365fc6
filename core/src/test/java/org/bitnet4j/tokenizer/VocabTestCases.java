package org.bitnet4j.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * llama.cpp's tokenizer conformance cases (shared/data/tokenizers/llamacpp-vocab-tests): the
 * .inp file holds texts separated by "\n__ggml_vocab_test__\n" (split exactly as
 * tests/test-tokenizer-0.cpp does, so a text may itself be empty or consist of newlines), the
 * .out file one line of expected ids (no BOS) per text.
 */
record VocabTestCases(List<String> texts, List<int[]> ids) {
    static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    static Path shared() {
        String dir = System.getProperty("bitnet4j.shared");
        if (dir == null) throw new IllegalStateException("system property bitnet4j.shared is not set (surefire sets it)");
        return Path.of(dir);
    }

    static Path vocabTests() {
        return shared().resolve("data/tokenizers/llamacpp-vocab-tests");
    }

    static VocabTestCases load(String vocabFile) {
        Path dir = vocabTests();
        try {
            String raw = Files.readString(dir.resolve(vocabFile + ".inp"));
            List<String> texts = new ArrayList<>();
            int pos = 0;
            while (pos < raw.length()) {
                int next = raw.indexOf(SEPARATOR, pos);
                if (next < 0) {
                    texts.add(raw.substring(pos));
                    break;
                }
                texts.add(raw.substring(pos, next));
                pos = next + SEPARATOR.length();
            }
            List<int[]> ids = new ArrayList<>();
            for (String line : Files.readAllLines(dir.resolve(vocabFile + ".out"))) {
                String s = line.strip();
                ids.add(s.isEmpty() ? new int[0] : Arrays.stream(s.split(" ")).mapToInt(Integer::parseInt).toArray());
            }
            if (texts.size() != ids.size()) {
                throw new IllegalStateException(vocabFile + ": " + texts.size() + " texts but " + ids.size() + " expected lines");
            }
            return new VocabTestCases(texts, ids);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String show(String s) {
        return s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
    }
}
