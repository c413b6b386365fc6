package org.bitnet4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GPT-2, Llama 3): text is split into words by a {@link PreTokenizer}, each word's
 * UTF-8 bytes start as one token per byte, and adjacent pairs are merged lowest rank first
 * (leftmost on ties) until no listed merge applies. Words repeat a lot in real text, so results
 * are cached per word.
 */
final class ByteLevelBpeTokenizer extends BaseTokenizer {
    private static final int CACHE_LIMIT = 1 << 18;
    private static final int CACHE_MAX_WORD = 128;

    private final PreTokenizer preTokenizer;
    private final MergeTable merges;
    /** Llama 3: a word that is itself a token is taken whole, without running the merges. */
    private final boolean ignoreMerges;
    /** byte value -> id of the token that is that byte's stand-in char, -1 if missing */
    private final int[] byteIds = new int[256];
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    ByteLevelBpeTokenizer(Vocabulary vocab, PreTokenizer preTokenizer, MergeTable merges, boolean ignoreMerges) {
        super(vocab);
        this.preTokenizer = preTokenizer;
        this.merges = merges;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.id(String.valueOf(ByteLevel.encode(b)));
    }

    /** Thrown by {@link #buildMerges} for merge number {@code index}; the loader turns it into its own exception type. */
    interface MergeError {
        RuntimeException at(int index, String message);
    }

    /**
     * Turns "left right" merge strings (rank = position in the list) into a table of id pairs.
     * Every part and every result must be a vocabulary token: a merge that produced an unknown
     * string would make encoding silently drop text.
     */
    static MergeTable buildMerges(Vocabulary vocab, List<String> mergeList, MergeError error) {
        MergeTable table = new MergeTable(mergeList.size());
        for (int rank = 0; rank < mergeList.size(); rank++) {
            String merge = mergeList.get(rank);
            if (merge == null) throw error.at(rank, "is not a string");
            // search from 1: a part could in principle start with a space in a non-byte-level vocabulary
            int space = merge.indexOf(' ', 1);
            if (space < 0) throw error.at(rank, "\"" + merge + "\" is not two tokens separated by a space");
            String left = merge.substring(0, space), right = merge.substring(space + 1);
            int l = vocab.id(left), r = vocab.id(right), m = vocab.id(left + right);
            if (l < 0) throw error.at(rank, "\"" + merge + "\" refers to unknown token \"" + left + "\"");
            if (r < 0) throw error.at(rank, "\"" + merge + "\" refers to unknown token \"" + right + "\"");
            if (m < 0) throw error.at(rank, "\"" + merge + "\" produces \"" + left + right + "\", which is not in the vocabulary");
            table.put(l, r, rank, m);
        }
        return table;
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        int[] cps = text.codePoints().toArray();
        preTokenizer.split(cps, 0, cps.length, (c, s, e) -> out.addAll(word(new String(c, s, e - s))));
    }

    private int[] word(String word) {
        int[] ids = cache.get(word);
        if (ids != null) return ids;
        ids = tokenizeWord(word.getBytes(StandardCharsets.UTF_8));
        if (word.length() <= CACHE_MAX_WORD) {
            if (cache.size() >= CACHE_LIMIT) cache.clear();
            cache.put(word, ids);
        }
        return ids;
    }

    private int[] tokenizeWord(byte[] bytes) {
        if (ignoreMerges) {
            int whole = vocab.id(ByteLevel.encode(bytes));
            if (whole >= 0) return new int[] {whole};
        }
        int n = bytes.length;
        int[] sym = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            sym[i] = byteIds[bytes[i] & 0xFF];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // candidate merges as (rank << 32 | left position): the smallest is the lowest rank, then leftmost
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) pushPair(heap, sym, i, i + 1);
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int left = (int) top;
            if (dead[left]) continue;
            int right = next[left];
            // stale entry: one side has merged with something else since it was queued
            if (right < 0 || sym[left] < 0 || sym[right] < 0 || merges.rank(sym[left], sym[right]) != rank) continue;
            sym[left] = merges.result(rank);
            dead[right] = true;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) pushPair(heap, sym, prev[left], left);
            if (next[left] >= 0) pushPair(heap, sym, left, next[left]);
        }
        IntList out = new IntList(n);
        for (int i = 0; i != -1; i = next[i]) {
            // a byte whose stand-in is not in the vocabulary cannot be represented: llama.cpp drops it too
            if (sym[i] >= 0) out.add(sym[i]);
        }
        return out.toArray();
    }

    private void pushPair(LongHeap heap, int[] sym, int left, int right) {
        if (sym[left] < 0 || sym[right] < 0) return;
        int rank = merges.rank(sym[left], sym[right]);
        if (rank >= 0) heap.push(((long) rank << 32) | left);
    }

    @Override
    byte[] computeTokenBytes(int id) {
        String text = vocab.tokens[id];
        int type = vocab.types[id];
        if (type == Vocabulary.CONTROL || type == Vocabulary.USER_DEFINED || type == Vocabulary.UNKNOWN) {
            // added tokens are stored as plain text, not in stand-in characters
            return text.getBytes(StandardCharsets.UTF_8);
        }
        return ByteLevel.decode(text);
    }

    /** Binary min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) a = java.util.Arrays.copyOf(a, size * 2);
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) break;
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long v = a[--size];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) break;
                if (c + 1 < size && a[c + 1] < a[c]) c++;
                if (a[c] >= v) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
