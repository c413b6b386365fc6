package org.bitnet4j.training;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level BPE training (GPT-2 style): words from the Llama 3 split regex (the engine's "llama-bpe"
 * pre-tokenizer), bytes in GPT-2's printable form, then the most frequent adjacent pair merged until the
 * vocabulary is full. Ties go to the pair seen first in a fixed order, so a corpus always gives the same merges.
 */
public final class Bpe {
    static final Pattern LLAMA3 = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    public record Result(List<String> tokens, List<String> merges) {}

    private Bpe() {}

    /** @param mergeCount merges to learn; the vocabulary is 256 bytes + merges (specials are added by the caller) */
    public static Result train(String text, int mergeCount) {
        // word -> count, words as sequences of symbol ids
        Map<String, Integer> words = new LinkedHashMap<>();
        Matcher m = LLAMA3.matcher(text);
        while (m.find()) {
            words.merge(m.group(), 1, Integer::sum);
        }
        List<String> symbols = new ArrayList<>();
        Map<String, Integer> symbolId = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            String s = byteToUnicode(b);
            symbolId.put(s, symbols.size());
            symbols.add(s);
        }
        List<int[]> seqs = new ArrayList<>(words.size());
        int[] counts = new int[words.size()];
        int wi = 0;
        for (Map.Entry<String, Integer> e : words.entrySet()) {
            byte[] bytes = e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int[] s = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                s[i] = bytes[i] & 0xFF;
            }
            seqs.add(s);
            counts[wi++] = e.getValue();
        }
        int[] lens = new int[seqs.size()];
        for (int i = 0; i < lens.length; i++) {
            lens[i] = seqs.get(i).length;
        }
        List<String> merges = new ArrayList<>();
        for (int step = 0; step < mergeCount; step++) {
            Map<Long, long[]> pairs = new HashMap<>(); // pair -> {count, first-seen order}
            long order = 0;
            for (int w = 0; w < seqs.size(); w++) {
                int[] s = seqs.get(w);
                for (int i = 0; i + 1 < lens[w]; i++) {
                    long key = ((long) s[i] << 32) | s[i + 1];
                    long[] v = pairs.get(key);
                    if (v == null) {
                        pairs.put(key, new long[] {counts[w], order++});
                    } else {
                        v[0] += counts[w];
                    }
                }
            }
            long best = -1;
            long[] bestV = null;
            for (Map.Entry<Long, long[]> e : pairs.entrySet()) {
                long[] v = e.getValue();
                if (bestV == null || v[0] > bestV[0] || (v[0] == bestV[0] && v[1] < bestV[1])) {
                    best = e.getKey();
                    bestV = v;
                }
            }
            if (bestV == null || bestV[0] < 2) {
                break;
            }
            int a = (int) (best >>> 32), b = (int) best;
            int id = symbols.size();
            symbols.add(symbols.get(a) + symbols.get(b));
            merges.add(symbols.get(a) + " " + symbols.get(b));
            for (int w = 0; w < seqs.size(); w++) {
                int[] s = seqs.get(w);
                int n = lens[w], o = 0;
                for (int i = 0; i < n; i++) {
                    if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                        s[o++] = id;
                        i++;
                    } else {
                        s[o++] = s[i];
                    }
                }
                lens[w] = o;
            }
        }
        return new Result(symbols, merges);
    }

    /** GPT-2's printable stand-in for a byte. */
    static String byteToUnicode(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int k = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!p) {
                k++;
            }
        }
        return String.valueOf((char) (256 + k));
    }
}
