package org.bitnet4j.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * SentencePiece BPE as llama.cpp runs it (Llama 2 vocabularies): spaces become U+2581, a space is
 * put in front of the text (and after each special token) when add_space_prefix is set, the text
 * starts as one symbol per code point, and the adjacent pair whose concatenation is the token
 * with the highest score is merged first (leftmost on ties) until no pair forms a token. Symbols
 * left that are not tokens fall back to {@code <0xNN>} byte tokens (or the unknown token).
 */
final class SentencePieceBpeTokenizer extends BaseTokenizer {
    static final char SPACE_MARK = '\u2581';

    private static final int CACHE_LIMIT = 1 << 18;
    private static final int CACHE_MAX_SEGMENT = 128;

    private final boolean addSpacePrefix;
    /** byte value -> id to emit for it when a symbol is not a token */
    private final int[] byteFallback = new int[256];
    /**
     * True when no token has U+2581 after a different char (Llama 2's vocabulary: U+2581 only
     * starts tokens or forms runs of itself). Then no merge can cross the boundary in front of a
     * U+2581 that follows another char, so the text splits there into independent segments that
     * are tokenized (and cached) one by one with the same result as the whole text at once.
     */
    private final boolean segmentable;
    private final java.util.concurrent.ConcurrentHashMap<String, int[]> cache = new java.util.concurrent.ConcurrentHashMap<>();

    SentencePieceBpeTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        this(vocab, addSpacePrefix, true);
    }

    /** allowSegments false forces the whole-text merge loop (tests compare both paths). */
    SentencePieceBpeTokenizer(Vocabulary vocab, boolean addSpacePrefix, boolean allowSegments) {
        super(vocab);
        this.addSpacePrefix = addSpacePrefix;
        boolean ok = allowSegments;
        for (String t : vocab.tokens) {
            for (int i = 1; i < t.length() && ok; i++) {
                if (t.charAt(i) == SPACE_MARK && t.charAt(i - 1) != SPACE_MARK) ok = false;
            }
        }
        this.segmentable = ok;
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            // llama.cpp's second choice: the byte as a one-char token (only meaningful for ASCII)
            if (id < 0 && b < 0x80) id = vocab.id(String.valueOf((char) b));
            if (id < 0) id = vocab.unk;
            byteFallback[b] = id;
        }
    }

    /** True when every byte has some token to fall back to, so no text can be lost. */
    boolean canEncodeAllBytes() {
        for (int id : byteFallback) if (id < 0) return false;
        return true;
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        String s = (addSpacePrefix && afterSpecial ? " " + text : text).replace(' ', SPACE_MARK);
        if (!segmentable) {
            encodeSegment(s, out);
            return;
        }
        int from = 0;
        for (int i = 1; i <= s.length(); i++) {
            if (i == s.length() || (s.charAt(i) == SPACE_MARK && s.charAt(i - 1) != SPACE_MARK)) {
                String segment = s.substring(from, i);
                int[] ids = cache.get(segment);
                if (ids == null) {
                    IntList part = new IntList(segment.length());
                    encodeSegment(segment, part);
                    ids = part.toArray();
                    if (segment.length() <= CACHE_MAX_SEGMENT) {
                        if (cache.size() >= CACHE_LIMIT) cache.clear();
                        cache.put(segment, ids);
                    }
                }
                out.addAll(ids);
                from = i;
            }
        }
    }

    /** The merge loop over one run of escaped text. */
    private void encodeSegment(String s, IntList out) {
        int n = s.codePointCount(0, s.length());
        // symbol i covers chars [start[i], start[i] + len[i]); len 0 marks a symbol merged into its left neighbour
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, off = 0; i < n; i++) {
            int c = Character.charCount(s.codePointAt(off));
            start[i] = off;
            len[i] = c;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            off += c;
        }
        Bigrams queue = new Bigrams(n);
        for (int i = 1; i < n; i++) tryAddBigram(queue, s, start, len, i - 1, i);
        while (!queue.isEmpty()) {
            int e = queue.pop();
            int left = queue.left[e], right = queue.right[e];
            // stale: one side has changed since the pair was queued
            if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != queue.size[e]) continue;
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) tryAddBigram(queue, s, start, len, prev[left], left);
            if (next[left] >= 0) tryAddBigram(queue, s, start, len, left, next[left]);
        }
        for (int i = 0; i != -1 && n > 0; i = next[i]) {
            String symbol = s.substring(start[i], start[i] + len[i]);
            int id = vocab.id(symbol);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
                    int fb = byteFallback[b & 0xFF];
                    if (fb >= 0) out.add(fb);
                }
            }
        }
    }

    private void tryAddBigram(Bigrams queue, String s, int[] start, int[] len, int left, int right) {
        int size = len[left] + len[right];
        int id = vocab.id(s.substring(start[left], start[left] + size));
        if (id < 0) return;
        queue.push(vocab.scores == null ? 0f : vocab.scores[id], left, right, size);
    }

    @Override
    byte[] computeTokenBytes(int id) {
        String text = vocab.tokens[id];
        switch (vocab.types[id]) {
            case Vocabulary.BYTE -> {
                if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
                    try {
                        return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
                    } catch (NumberFormatException ignored) {
                        // not a byte token after all: fall through to its text
                    }
                }
                return text.getBytes(StandardCharsets.UTF_8);
            }
            case Vocabulary.CONTROL, Vocabulary.USER_DEFINED, Vocabulary.UNKNOWN -> {
                return text.getBytes(StandardCharsets.UTF_8);
            }
            default -> {
                return text.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    /** Undoes add_space_prefix: the first text token at the start or after a special token loses one space. */
    @Override
    int leadingBytesToDrop(int[] ids, int i, byte[] tokenBytes) {
        if (!addSpacePrefix || tokenBytes.length == 0 || tokenBytes[0] != ' ') return 0;
        if (vocab.isSpecialType(ids[i])) return 0;
        if (i == 0 || vocab.isSpecialType(ids[i - 1])) return 1;
        return 0;
    }

    /** Max-heap of candidate merges by score, then smallest left position; parallel arrays, no boxing. */
    private static final class Bigrams {
        float[] score;
        int[] left, right, size;
        private int count;
        private int[] heap;
        private int heapSize;

        Bigrams(int capacity) {
            int c = Math.max(4, capacity);
            score = new float[c];
            left = new int[c];
            right = new int[c];
            size = new int[c];
            heap = new int[c];
        }

        boolean isEmpty() {
            return heapSize == 0;
        }

        /** e ranks before f */
        private boolean before(int e, int f) {
            return score[e] > score[f] || (score[e] == score[f] && left[e] < left[f]);
        }

        void push(float sc, int l, int r, int sz) {
            if (count == score.length) {
                int c = count * 2;
                score = java.util.Arrays.copyOf(score, c);
                left = java.util.Arrays.copyOf(left, c);
                right = java.util.Arrays.copyOf(right, c);
                size = java.util.Arrays.copyOf(size, c);
            }
            int e = count++;
            score[e] = sc;
            left[e] = l;
            right[e] = r;
            size[e] = sz;
            if (heapSize == heap.length) heap = java.util.Arrays.copyOf(heap, heapSize * 2);
            int i = heapSize++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (!before(e, heap[p])) break;
                heap[i] = heap[p];
                i = p;
            }
            heap[i] = e;
        }

        int pop() {
            int top = heap[0];
            int v = heap[--heapSize];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= heapSize) break;
                if (c + 1 < heapSize && before(heap[c + 1], heap[c])) c++;
                if (!before(heap[c], v)) break;
                heap[i] = heap[c];
                i = c;
            }
            heap[i] = v;
            return top;
        }
    }
}
