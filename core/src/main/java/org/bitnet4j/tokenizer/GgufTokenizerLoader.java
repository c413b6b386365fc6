package org.bitnet4j.tokenizer;

import java.util.List;
import java.util.Set;
import org.bitnet4j.gguf.GgufFormatException;
import org.bitnet4j.gguf.GgufMetadata;

/**
 * Builds a tokenizer from GGUF {@code tokenizer.ggml.*} metadata with llama.cpp's defaults for
 * keys that are absent. Every inconsistency is a {@link GgufFormatException} naming the key.
 */
final class GgufTokenizerLoader {
    private GgufTokenizerLoader() {}

    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS = "tokenizer.ggml.bos_token_id";
    static final String EOS = "tokenizer.ggml.eos_token_id";
    static final String UNK = "tokenizer.ggml.unknown_token_id";
    static final String EOT = "tokenizer.ggml.eot_token_id";
    static final String EOM = "tokenizer.ggml.eom_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    /** tokenizer.ggml.pre values that mean the Llama 3 split regex (and whole-word lookup before merging). */
    static final Set<String> LLAMA3_PRE = Set.of("llama-bpe", "llama3", "llama-v3");
    /** tokenizer.ggml.pre values that mean the GPT-2 split regex. */
    static final Set<String> GPT2_PRE = Set.of("gpt-2", "gpt2", "default");

    static Tokenizer load(GgufMetadata md) {
        if (!md.has(MODEL)) throw error(MODEL, "is missing: the file has no tokenizer");
        String model = md.getString(MODEL);
        if (!model.equals("gpt2") && !model.equals("llama")) {
            throw error(MODEL, "is \"" + model + "\"; supported are \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece BPE)");
        }
        if (!md.has(TOKENS)) throw error(TOKENS, "is missing: the tokenizer has no vocabulary");
        List<String> tokenList = md.getStringArray(TOKENS);
        int n = tokenList.size();
        if (n == 0) throw error(TOKENS, "is empty");
        String[] tokens = new String[n];
        for (int i = 0; i < n; i++) {
            String t = tokenList.get(i);
            if (t == null) throw error(TOKENS + "[" + i + "]", "is not a string");
            tokens[i] = t;
        }

        int[] types = new int[n];
        java.util.Arrays.fill(types, Vocabulary.NORMAL);
        if (md.has(TOKEN_TYPE)) {
            int[] t = md.getIntArray(TOKEN_TYPE);
            if (t.length != n) throw error(TOKEN_TYPE, "has " + t.length + " entries for " + n + " tokens");
            for (int i = 0; i < n; i++) {
                if (t[i] < 0 || t[i] > Vocabulary.BYTE) throw error(TOKEN_TYPE + "[" + i + "]", "is " + t[i] + ", not a token type (0..6)");
                types[i] = t[i] == 0 ? Vocabulary.NORMAL : t[i]; // 0 = undefined: treat as an ordinary token
            }
        }
        float[] scores = null;
        if (md.has(SCORES)) {
            scores = md.getFloatArray(SCORES);
            if (scores.length != n) throw error(SCORES, "has " + scores.length + " entries for " + n + " tokens");
        }

        boolean spm = model.equals("llama");
        PreTokenizer pre = null;
        if (!spm) {
            String preName = md.getString(PRE, null);
            if (preName == null) {
                // BitNet-b1.58-2B-4T ships Llama 3's vocabulary without this key
                pre = looksLikeLlama3(tokens) ? PreTokenizer.LLAMA3 : PreTokenizer.GPT2;
            } else if (LLAMA3_PRE.contains(preName)) {
                pre = PreTokenizer.LLAMA3;
            } else if (GPT2_PRE.contains(preName)) {
                pre = PreTokenizer.GPT2;
            } else {
                throw error(PRE, "is \"" + preName + "\", a pre-tokenizer this library does not implement (known: "
                        + String.join(", ", new java.util.TreeSet<>(LLAMA3_PRE)) + ", " + String.join(", ", new java.util.TreeSet<>(GPT2_PRE)) + ")");
            }
        }

        int bos = tokenId(md, BOS, n, spm ? 1 : nameId(tokens, "<|begin_of_text|>", "<s>"));
        int eos = tokenId(md, EOS, n, spm ? 2 : nameId(tokens, "<|end_of_text|>", "<|endoftext|>", "</s>"));
        int unk = tokenId(md, UNK, n, spm ? 0 : -1);
        int eot = tokenId(md, EOT, n, -1);
        int eom = tokenId(md, EOM, n, -1);
        boolean addBos = md.getBoolean(ADD_BOS, spm || pre == PreTokenizer.LLAMA3);
        boolean addEos = md.getBoolean(ADD_EOS, false);
        if (addBos && bos < 0) throw error(ADD_BOS, "is true but the vocabulary has no BOS token (" + BOS + ")");
        if (addEos && eos < 0) throw error(ADD_EOS, "is true but the vocabulary has no EOS token (" + EOS + ")");

        Vocabulary vocab = new Vocabulary(tokens, types, scores, bos, eos, unk, eot, eom, addBos, addEos);
        if (spm) {
            SentencePieceBpeTokenizer t = new SentencePieceBpeTokenizer(vocab, md.getBoolean(ADD_SPACE_PREFIX, true));
            if (!t.canEncodeAllBytes()) {
                throw error(TOKENS, "has neither all 256 <0xNN> byte tokens nor an unknown token (" + UNK + "), so some text could not be encoded");
            }
            return t;
        }
        if (!md.has(MERGES)) throw error(MERGES, "is missing: a gpt2 (byte-level BPE) tokenizer needs its merges");
        List<String> merges = md.getStringArray(MERGES);
        MergeTable table = ByteLevelBpeTokenizer.buildMerges(vocab, merges,
                (i, msg) -> error(MERGES + "[" + i + "]", msg));
        return new ByteLevelBpeTokenizer(vocab, pre, table, pre == PreTokenizer.LLAMA3);
    }

    /** Llama 3's vocabulary: 128000 regular tokens, then the special ones starting with <|begin_of_text|>. */
    static boolean looksLikeLlama3(String[] tokens) {
        return tokens.length > 128000 && tokens[128000].equals("<|begin_of_text|>");
    }

    private static int tokenId(GgufMetadata md, String key, int n, int dflt) {
        if (!md.has(key)) return dflt;
        long id = md.getLong(key);
        // llama.cpp writes -1 (as uint32 0xFFFFFFFF) for "none"
        if (id == -1 || id == 0xFFFFFFFFL) return -1;
        if (id < 0 || id >= n) throw error(key, "is " + id + ", outside the vocabulary of " + n + " tokens");
        return (int) id;
    }

    private static int nameId(String[] tokens, String... names) {
        for (String name : names) {
            for (int i = tokens.length - 1; i >= 0; i--) if (tokens[i].equals(name)) return i;
        }
        return -1;
    }

    private static GgufFormatException error(String key, String message) {
        return new GgufFormatException("GGUF metadata key " + key + " " + message);
    }
}
