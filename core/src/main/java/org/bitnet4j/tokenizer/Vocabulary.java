package org.bitnet4j.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The token table shared by both tokenizer kinds: strings, token types (GGUF's numbering), optional
 * scores and the special ids. Built once by a loader; immutable afterwards.
 */
final class Vocabulary {
    // GGUF tokenizer.ggml.token_type values (llama.cpp's llama_token_type)
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** Names that end a turn or a text in the vocabularies we know; llama.cpp treats them the same. */
    private static final List<String> END_OF_GENERATION_NAMES = List.of(
            "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "<|end|>",
            "<|return|>", "<|call|>", "<end_of_turn>", "<EOT>", "_<EOT>", "<end_of_utterance>");

    final String[] tokens;
    final int[] types;
    final float[] scores; // null when the vocabulary has none (byte-level BPE)
    final Map<String, Integer> ids;
    final int bos, eos, unk;
    final boolean addBos, addEos;
    final int[] endOfGeneration;
    /** Ids matched literally in text before tokenization, longest text first. */
    final int[] specialByLength;

    Vocabulary(String[] tokens, int[] types, float[] scores, int bos, int eos, int unk, int eot, int eom,
               boolean addBos, boolean addEos) {
        this.tokens = tokens;
        this.types = types;
        this.scores = scores;
        this.ids = new HashMap<>(tokens.length * 2);
        // later duplicates win, as in llama.cpp's token_to_id
        for (int i = 0; i < tokens.length; i++) ids.put(tokens[i], i);
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.addBos = addBos;
        this.addEos = addEos;

        Set<Integer> eog = new LinkedHashSet<>();
        if (eos >= 0) eog.add(eos);
        if (eot >= 0) eog.add(eot);
        if (eom >= 0) eog.add(eom);
        for (String name : END_OF_GENERATION_NAMES) {
            Integer id = ids.get(name);
            if (id != null) eog.add(id);
        }
        this.endOfGeneration = eog.stream().mapToInt(Integer::intValue).toArray();

        List<Integer> special = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            int t = types[i];
            if ((t == CONTROL || t == USER_DEFINED || t == UNKNOWN) && !tokens[i].isEmpty()) special.add(i);
        }
        special.sort((a, b) -> tokens[b].length() != tokens[a].length()
                ? Integer.compare(tokens[b].length(), tokens[a].length()) : Integer.compare(a, b));
        this.specialByLength = special.stream().mapToInt(Integer::intValue).toArray();
    }

    int size() {
        return tokens.length;
    }

    int id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    boolean isSpecialType(int id) {
        int t = types[id];
        return t == CONTROL || t == USER_DEFINED || t == UNKNOWN;
    }

    @Override
    public String toString() {
        return "Vocabulary[" + tokens.length + " tokens, bos=" + bos + ", eos=" + eos + ", eog="
                + Arrays.toString(endOfGeneration) + "]";
    }
}
