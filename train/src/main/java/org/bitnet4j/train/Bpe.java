package org.bitnet4j.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte-level BPE vocabulary trained on the corpus, in the form llama.cpp's "gpt2" tokenizer reads from GGUF:
 * <ul>
 *   <li>ids 0..255: the single bytes (byte b is id b), written in GPT-2's byte-to-unicode stand-in characters;</li>
 *   <li>then one token per learned merge, in merge order (a merge whose result already exists adds no token);</li>
 *   <li>then the special tokens {@link #SPECIALS} (control tokens), then reserved control tokens up to the requested
 *       size when the corpus ran out of pairs to merge.</li>
 * </ul>
 * Words come from the Llama 3 pre-tokenizer regex ({@code tokenizer.ggml.pre = "llama-bpe"}), so a word that is itself
 * a token is taken whole (llama.cpp's ignore_merges); otherwise merges apply lowest rank first, leftmost on ties. That
 * is exactly what the engine's tokenizer does with the exported vocabulary, which a test checks.
 *
 * <p>Training counts words once, then merges the most frequent adjacent pair (ties: smaller left id, then smaller right
 * id) and updates the pair counts of the affected words only.
 */
public final class Bpe {
    public static final String BOS = "<|begin_of_text|>", EOS = "<|end_of_text|>", EOT = "<|eot_id|>";
    /** Control tokens after the merges: BitNet-b1.58-2B-4T's BOS, EOS and end-of-turn. */
    public static final List<String> SPECIALS = List.of(BOS, EOS, EOT);
    /** tokenizer.ggml.pre of the exported vocabulary */
    public static final String PRE = "llama-bpe";
    /** Llama 3's split regex; \s, \p{L}, \p{N} in their Unicode meaning */
    static final Pattern SPLIT = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final String FORMAT = "bitnet4j-bpe 1";

    /** GGUF token types */
    public static final int TYPE_NORMAL = 1, TYPE_CONTROL = 3;

    private final List<String> tokens;
    private final List<String> merges;
    private final int[] types;
    private final Map<String, Integer> ids = new HashMap<>();
    private final Map<Long, Integer> rank = new HashMap<>();
    private final int[] mergeResult;
    private final Map<String, int[]> cache = new HashMap<>();

    private Bpe(int vocabSize, List<String> merges) {
        List<String> toks = new ArrayList<>(vocabSize);
        for (int b = 0; b < 256; b++) {
            toks.add(String.valueOf(ByteMap.CHAR[b]));
        }
        for (int i = 0; i < 256; i++) {
            ids.put(toks.get(i), i);
        }
        mergeResult = new int[merges.size()];
        for (int r = 0; r < merges.size(); r++) {
            String m = merges.get(r);
            int sp = m.indexOf(' ', 1);
            if (sp < 0) {
                throw new IllegalArgumentException("merge " + r + " \"" + m + "\" is not two tokens separated by a space");
            }
            String left = m.substring(0, sp), right = m.substring(sp + 1);
            Integer l = ids.get(left), rt = ids.get(right);
            if (l == null || rt == null) {
                throw new IllegalArgumentException("merge " + r + " \"" + m + "\" refers to a token not defined before it");
            }
            String joined = left + right;
            Integer id = ids.get(joined);
            if (id == null) {
                id = toks.size();
                toks.add(joined);
                ids.put(joined, id);
            }
            rank.put(pair(l, rt), r);
            mergeResult[r] = id;
        }
        int normal = toks.size();
        if (normal + SPECIALS.size() > vocabSize) {
            throw new IllegalArgumentException(merges.size() + " merges need a vocabulary of " + (normal + SPECIALS.size())
                    + " tokens, more than " + vocabSize);
        }
        for (String s : SPECIALS) {
            ids.put(s, toks.size());
            toks.add(s);
        }
        for (int i = 0; toks.size() < vocabSize; i++) {
            String s = "<|reserved_special_token_" + i + "|>";
            ids.put(s, toks.size());
            toks.add(s);
        }
        this.tokens = Collections.unmodifiableList(toks);
        this.merges = List.copyOf(merges);
        this.types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            types[i] = i < normal ? TYPE_NORMAL : TYPE_CONTROL;
        }
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    public List<String> tokens() {
        return tokens;
    }

    public List<String> merges() {
        return merges;
    }

    public int[] tokenTypes() {
        return types.clone();
    }

    public int size() {
        return tokens.size();
    }

    public int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    public int bos() {
        return ids.get(BOS);
    }

    public int eos() {
        return ids.get(EOS);
    }

    public int eot() {
        return ids.get(EOT);
    }

    /** Words of a text as the pre-tokenizer splits it. */
    static List<String> split(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            words.add(m.group());
        }
        return words;
    }

    /** Token ids of a text (no BOS; special-token text is not recognised). */
    public int[] encode(String text) {
        IntBuffer out = new IntBuffer(text.length() / 3 + 16);
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            out.addAll(word(m.group()));
        }
        return out.toArray();
    }

    private int[] word(String w) {
        int[] cached = cache.get(w);
        if (cached != null) {
            return cached;
        }
        byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
        int[] result;
        Integer whole = ids.get(ByteMap.encode(bytes));
        if (whole != null) {
            result = new int[] {whole};
        } else {
            int n = bytes.length;
            int[] sym = new int[n];
            for (int i = 0; i < n; i++) {
                sym[i] = bytes[i] & 0xFF;
            }
            while (n > 1) {
                int best = -1, bestRank = Integer.MAX_VALUE;
                for (int i = 0; i + 1 < n; i++) {
                    Integer r = rank.get(pair(sym[i], sym[i + 1]));
                    if (r != null && r < bestRank) {
                        bestRank = r;
                        best = i;
                    }
                }
                if (best < 0) {
                    break;
                }
                sym[best] = mergeResult[bestRank];
                System.arraycopy(sym, best + 2, sym, best + 1, n - best - 2);
                n--;
            }
            result = java.util.Arrays.copyOf(sym, n);
        }
        if (w.length() <= 64 && cache.size() < (1 << 20)) {
            cache.put(w, result);
        }
        return result;
    }

    /** Raw bytes of a token (control tokens as their text). */
    public byte[] tokenBytes(int id) {
        String t = tokens.get(id);
        return types[id] == TYPE_CONTROL ? t.getBytes(StandardCharsets.UTF_8) : ByteMap.decode(t);
    }

    public String decode(int[] idsToDecode) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int id : idsToDecode) {
            out.writeBytes(tokenBytes(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Learns merges until the vocabulary (bytes + merged tokens + specials) has {@code vocabSize} tokens or no pair
     * occurs twice.
     *
     * @param progress receives a line now and then (may be null)
     */
    public static Bpe train(List<String> texts, int vocabSize, Consumer<String> progress) {
        // 1. word frequencies
        Map<String, Integer> counts = new HashMap<>();
        for (String text : texts) {
            Matcher m = SPLIT.matcher(text);
            while (m.find()) {
                counts.merge(m.group(), 1, Integer::sum);
            }
        }
        List<String> distinct = new ArrayList<>(counts.keySet());
        Collections.sort(distinct); // a fixed order, so ties and everything else are reproducible
        int nw = distinct.size();
        int[][] words = new int[nw][];
        int[] lens = new int[nw];
        long[] freq = new long[nw];
        for (int i = 0; i < nw; i++) {
            byte[] b = distinct.get(i).getBytes(StandardCharsets.UTF_8);
            words[i] = new int[b.length];
            for (int j = 0; j < b.length; j++) {
                words[i][j] = b[j] & 0xFF;
            }
            lens[i] = b.length;
            freq[i] = counts.get(distinct.get(i));
        }
        counts = null;
        // 2. pair counts and the words each pair occurs in
        Map<Long, long[]> pairCount = new HashMap<>();
        Map<Long, Set<Integer>> where = new HashMap<>();
        for (int i = 0; i < nw; i++) {
            for (int j = 0; j + 1 < lens[i]; j++) {
                long p = pair(words[i][j], words[i][j + 1]);
                pairCount.computeIfAbsent(p, k -> new long[1])[0] += freq[i];
                where.computeIfAbsent(p, k -> new HashSet<>()).add(i);
            }
        }
        // max count first, then smaller pair key (left id, then right id)
        PriorityQueue<long[]> queue = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(b[0], a[0])
                : Long.compare(a[1], b[1]));
        for (Map.Entry<Long, long[]> e : pairCount.entrySet()) {
            queue.add(new long[] {e.getValue()[0], e.getKey()});
        }
        List<String> merges = new ArrayList<>();
        List<String> tokenStrings = new ArrayList<>();
        Map<String, Integer> tokenIds = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            tokenStrings.add(String.valueOf(ByteMap.CHAR[b]));
            tokenIds.put(tokenStrings.get(b), b);
        }
        int target = vocabSize - SPECIALS.size();
        while (tokenStrings.size() < target && !queue.isEmpty()) {
            long[] top = queue.poll();
            long p = top[1];
            long[] current = pairCount.get(p);
            if (current == null || current[0] != top[0]) {
                continue; // stale
            }
            if (top[0] < 2) {
                break;
            }
            int a = (int) (p >>> 32), b = (int) p;
            String joined = tokenStrings.get(a) + tokenStrings.get(b);
            merges.add(tokenStrings.get(a) + " " + tokenStrings.get(b));
            Integer z = tokenIds.get(joined);
            if (z == null) {
                z = tokenStrings.size();
                tokenStrings.add(joined);
                tokenIds.put(joined, z);
            }
            Set<Long> changed = new HashSet<>();
            Set<Integer> affected = where.remove(p);
            pairCount.remove(p);
            for (int wi : affected) {
                int[] s = words[wi];
                int n = lens[wi];
                boolean has = false;
                for (int j = 0; j + 1 < n && !has; j++) {
                    has = s[j] == a && s[j + 1] == b;
                }
                if (!has) {
                    continue;
                }
                long f = freq[wi];
                for (int j = 0; j + 1 < n; j++) {
                    long q = pair(s[j], s[j + 1]);
                    if (q != p) {
                        pairCount.get(q)[0] -= f;
                        changed.add(q);
                    }
                }
                int o = 0;
                for (int j = 0; j < n; j++) {
                    if (j + 1 < n && s[j] == a && s[j + 1] == b) {
                        s[o++] = z;
                        j++;
                    } else {
                        s[o++] = s[j];
                    }
                }
                lens[wi] = o;
                for (int j = 0; j + 1 < o; j++) {
                    long q = pair(s[j], s[j + 1]);
                    pairCount.computeIfAbsent(q, k -> new long[1])[0] += f;
                    where.computeIfAbsent(q, k -> new HashSet<>()).add(wi);
                    changed.add(q);
                }
            }
            for (long q : changed) {
                long[] c = pairCount.get(q);
                if (c[0] > 0) {
                    queue.add(new long[] {c[0], q});
                } else {
                    pairCount.remove(q);
                    where.remove(q);
                }
            }
            if (progress != null && merges.size() % 500 == 0) {
                progress.accept("BPE: " + tokenStrings.size() + " / " + target + " tokens");
            }
        }
        return new Bpe(vocabSize, merges);
    }

    /** Writes the merges (the vocabulary follows from them) to a text file, atomically. */
    public void save(Path file) throws IOException {
        StringBuilder sb = new StringBuilder(FORMAT).append(' ').append(size()).append('\n');
        for (String m : merges) {
            sb.append(m).append('\n');
        }
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    public static Bpe load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).startsWith(FORMAT + " ")) {
            throw new IOException(file + ": not a bitnet4j BPE file (first line should be '" + FORMAT + " <size>')");
        }
        int size;
        try {
            size = Integer.parseInt(lines.get(0).substring(FORMAT.length() + 1).trim());
        } catch (NumberFormatException e) {
            throw new IOException(file + ": line 1: bad vocabulary size");
        }
        try {
            return new Bpe(size, lines.subList(1, lines.size()));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
    }

    /** GPT-2's reversible byte-to-unicode map: printable Latin-1 bytes stand for themselves, the rest for U+0100... */
    static final class ByteMap {
        static final char[] CHAR = new char[256];
        static final int[] BYTE = new int[512];

        static {
            java.util.Arrays.fill(BYTE, -1);
            int next = 256;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                CHAR[b] = printable ? (char) b : (char) next++;
                BYTE[CHAR[b]] = b;
            }
        }

        static String encode(byte[] bytes) {
            char[] c = new char[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                c[i] = CHAR[bytes[i] & 0xFF];
            }
            return new String(c);
        }

        static byte[] decode(String s) {
            byte[] out = new byte[s.length()];
            for (int i = 0; i < s.length(); i++) {
                char ch = s.charAt(i);
                out[i] = (byte) (ch < BYTE.length && BYTE[ch] >= 0 ? BYTE[ch] : '?');
            }
            return out;
        }
    }

    /** Growable int array. */
    static final class IntBuffer {
        int[] a;
        int n;

        IntBuffer(int capacity) {
            a = new int[Math.max(16, capacity)];
        }

        void add(int v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] v) {
            if (n + v.length > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            }
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
