package org.bitnet4j.tokenizer;

import java.util.Arrays;

/**
 * BPE merge ranks keyed by the pair of token ids they join: open addressing over packed longs, so a
 * lookup in the merge loop neither allocates nor hashes strings.
 */
final class MergeTable {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final int[] ranks;
    private final int[] results; // by rank: the id the pair merges into
    private final int mask;

    MergeTable(int capacity) {
        int n = Integer.highestOneBit(Math.max(4, capacity) * 2 - 1) << 1;
        keys = new long[n];
        ranks = new int[n];
        results = new int[Math.max(1, capacity)];
        Arrays.fill(keys, EMPTY);
        mask = n - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }

    /** Records a merge; a pair seen before keeps its first (lowest) rank, like every BPE implementation. */
    void put(int left, int right, int rank, int result) {
        long k = key(left, right);
        int s = slot(k);
        while (keys[s] != EMPTY) {
            if (keys[s] == k) return;
            s = (s + 1) & mask;
        }
        keys[s] = k;
        ranks[s] = rank;
        results[rank] = result;
    }

    /** Rank of merging left+right, or -1 if the pair never merges. */
    int rank(int left, int right) {
        long k = key(left, right);
        int s = slot(k);
        while (true) {
            long found = keys[s];
            if (found == k) return ranks[s];
            if (found == EMPTY) return -1;
            s = (s + 1) & mask;
        }
    }

    int result(int rank) {
        return results[rank];
    }
}
