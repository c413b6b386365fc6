package org.bitnet4j.trainer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bitnet4j.gguf.GgufMetadata;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * Learns a byte-level BPE vocabulary (GPT-2 style: 256 byte tokens in GPT-2's byte-to-unicode stand-ins, then
 * one token per merge, then the specials) from text pre-split with the Llama 3 regex, the split the engine
 * uses for {@code tokenizer.ggml.pre = "llama-bpe"}. The learned merges are written as GGUF tokenizer metadata,
 * and text is then tokenised with the engine's own tokenizer built from that metadata, so training tokens are
 * engine tokens by construction.
 */
public final class BpeTrainer {
    private BpeTrainer() {}

    public static final String BOS = "<|begin_of_text|>", EOS = "<|end_of_text|>", EOT = "<|eot_id|>";
    public static final int SPECIALS = 3;

    /** The Llama 3 split regex (the engine's PreTokenizer.LLAMA3 implements the same expression by hand). */
    static final Pattern SPLIT = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** GPT-2's printable stand-in char for each byte. */
    static final char[] BYTE_CHAR = new char[256];

    static {
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_CHAR[b] = printable ? (char) b : (char) next++;
        }
    }

    /** A vocabulary: tokens (bytes, merges, specials) and merges ("left right", rank order). */
    public record Vocab(List<String> tokens, List<String> merges) {
        public int bos() {
            return tokens.size() - 3;
        }

        /** GGUF tokenizer.* metadata of this vocabulary (gpt2 model, llama-bpe split, BOS added). */
        public Map<String, GgufValue> metadata() {
            int n = tokens.size();
            int[] types = new int[n];
            Arrays.fill(types, 1);
            types[n - 3] = types[n - 2] = types[n - 1] = 3;
            Map<String, GgufValue> m = new LinkedHashMap<>();
            m.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
            m.put("tokenizer.ggml.pre", GgufValue.of("llama-bpe"));
            m.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
            m.put("tokenizer.ggml.token_type", GgufValue.ofInts(types));
            m.put("tokenizer.ggml.merges", GgufValue.ofStrings(merges));
            m.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(n - 3));
            m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(n - 2));
            m.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(n - 1));
            m.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
            m.put("tokenizer.ggml.add_eos_token", GgufValue.ofBool(false));
            return m;
        }

        /** The engine's tokenizer for this vocabulary. */
        public Tokenizer tokenizer() {
            return Tokenizer.fromGguf(new GgufMetadata("trained vocabulary", metadata()));
        }

        /** Rebuilds the vocabulary from its merges (tokens are implied: bytes, merge results, specials). */
        public static Vocab fromMerges(List<String> merges) {
            List<String> tokens = new ArrayList<>();
            for (int b = 0; b < 256; b++) {
                tokens.add(String.valueOf(BYTE_CHAR[b]));
            }
            java.util.Set<String> seen = new java.util.HashSet<>(tokens);
            for (String m : merges) {
                String t = m.replace(" ", "");
                if (seen.add(t)) {
                    tokens.add(t); // two merges can spell the same string; it is one token
                }
            }
            tokens.add(BOS);
            tokens.add(EOS);
            tokens.add(EOT);
            return new Vocab(List.copyOf(tokens), List.copyOf(merges));
        }
    }

    /**
     * Learns vocabSize - 256 - 3 merges: repeatedly merges the most frequent adjacent pair over all words
     * (ties: the smaller left id, then the smaller right id), so the result depends on the text alone.
     */
    public static Vocab train(List<String> texts, int vocabSize) {
        int nMerges = vocabSize - 256 - SPECIALS;
        if (nMerges < 0) {
            throw new IllegalArgumentException("vocabulary of " + vocabSize + " cannot hold 256 bytes and 3 specials");
        }
        Map<String, Integer> counts = new HashMap<>();
        for (String text : texts) {
            Matcher m = SPLIT.matcher(text);
            while (m.find()) {
                counts.merge(m.group(), 1, Integer::sum);
            }
        }
        // words in a fixed order so that ties and results never depend on hash order
        String[] keys = counts.keySet().toArray(String[]::new);
        Arrays.sort(keys);
        int W = keys.length;
        int[][] words = new int[W][];
        int[] lens = new int[W];
        long[] freq = new long[W];
        for (int w = 0; w < W; w++) {
            byte[] b = keys[w].getBytes(StandardCharsets.UTF_8);
            words[w] = new int[b.length];
            for (int i = 0; i < b.length; i++) {
                words[w][i] = b[i] & 0xFF;
            }
            lens[w] = b.length;
            freq[w] = counts.get(keys[w]);
        }
        List<String> pieces = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            pieces.add(String.valueOf(BYTE_CHAR[b]));
        }
        // pair counts, kept up to date incrementally; key = left * 2^32 + right
        HashMap<Long, Long> pairs = new HashMap<>();
        for (int w = 0; w < W; w++) {
            for (int i = 0; i + 1 < lens[w]; i++) {
                pairs.merge(key(words[w][i], words[w][i + 1]), freq[w], Long::sum);
            }
        }
        Map<String, Integer> pieceIds = new HashMap<>();
        for (int i = 0; i < pieces.size(); i++) {
            pieceIds.put(pieces.get(i), i);
        }
        List<String> merges = new ArrayList<>();
        while (pieces.size() < 256 + nMerges) {
            long best = -1, bestCount = 0;
            for (Map.Entry<Long, Long> e : pairs.entrySet()) {
                long cnt = e.getValue();
                if (cnt > bestCount || (cnt == bestCount && cnt > 0 && e.getKey() < best)) {
                    best = e.getKey();
                    bestCount = cnt;
                }
            }
            if (bestCount < 2) {
                break; // nothing left worth merging; the vocabulary ends up smaller
            }
            int a = (int) (best >>> 32), b = (int) best;
            String joined = pieces.get(a) + pieces.get(b);
            merges.add(pieces.get(a) + " " + pieces.get(b));
            Integer existing = pieceIds.get(joined);
            int id = existing != null ? existing : pieces.size();
            if (existing == null) {
                pieces.add(joined);
                pieceIds.put(joined, id);
            }
            for (int w = 0; w < W; w++) {
                int[] s = words[w];
                int n = lens[w];
                boolean has = false;
                for (int i = 0; i + 1 < n; i++) {
                    if (s[i] == a && s[i + 1] == b) {
                        has = true;
                        break;
                    }
                }
                if (!has) {
                    continue;
                }
                long f = freq[w];
                for (int i = 0; i + 1 < n; i++) {
                    pairs.merge(key(s[i], s[i + 1]), -f, Long::sum);
                }
                int j = 0;
                for (int i = 0; i < n; i++) {
                    if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                        s[j++] = id;
                        i++;
                    } else {
                        s[j++] = s[i];
                    }
                }
                lens[w] = j;
                for (int i = 0; i + 1 < j; i++) {
                    pairs.merge(key(s[i], s[i + 1]), f, Long::sum);
                }
            }
            pairs.values().removeIf(x -> x == 0);
        }
        return Vocab.fromMerges(merges);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }
}
