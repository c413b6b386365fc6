package org.bitnet4j.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.bitnet4j.model.ThreadPool;

/**
 * The one matrix product the trainer needs, {@code C[m][n] = beta*C + alpha * A[m][k] . B[k][n]} over row-major float
 * arrays with leading dimensions, in two versions that give bit-identical results:
 * <ul>
 *   <li>{@link #reference}: scalar, each C element accumulated with {@code Math.fma} over k in ascending order;</li>
 *   <li>{@link #gemm}: Vector API, lanes over n (consecutive C columns), each lane doing the same fma chain over k.</li>
 * </ul>
 * Both compute every C element from zero in the same order, so they agree bit for bit, whatever the tiling, and the
 * parallel version splits only over rows of C: results never depend on the thread count.
 *
 * <p>Every other product shape (A B^T, A^T B) is brought to this one by a transposed copy, which costs O(size) against
 * the O(m n k) product.
 */
final class Gemm {
    private Gemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    /** rows of A / C per register tile */
    private static final int MR = 4;
    /** columns of C per register tile: two vectors */
    private static final int NR = 2 * LANES;
    /** bytes of A kept hot while every column panel of B streams past it */
    private static final int A_BLOCK_BYTES = 256 << 10;

    /**
     * Scalar definition.
     *
     * @param accumulate false: C = alpha * A.B; true: C = C + alpha * A.B
     */
    static void reference(int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                          float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int p = 0; p < k; p++) {
                    s = Math.fma(a[aOff + i * lda + p], b[bOff + p * ldb + j], s);
                }
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + alpha * s : alpha * s;
            }
        }
    }

    /** The parallel product: rows of C split over the pool (each row computed by one thread, in a fixed order). */
    static void gemm(ThreadPool pool, int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff,
                     int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        if (pool == null || pool.threads() == 1 || (long) m * n * k < 32768) {
            gemm(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
            return;
        }
        pool.forRange(m, MR, (r0, r1, t) -> gemm(r1 - r0, n, k, alpha, a, aOff + r0 * lda, lda, b, bOff, ldb, c,
                cOff + r0 * ldc, ldc, accumulate));
    }

    /** Single-threaded vector product (for use inside a parallel task). */
    static void gemm(int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k <= 0) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int ci = cOff + i * ldc + j;
                    c[ci] = accumulate ? c[ci] + alpha * 0f : alpha * 0f;
                }
            }
            return;
        }
        // rows of A per cache block: a block of A stays in L2 while all of B's column panels pass
        int mb = Math.max(MR, (A_BLOCK_BYTES / (4 * k)) / MR * MR);
        // each panel of B (k x NR) is copied to a contiguous buffer first: the tiles then read it sequentially
        // instead of one scattered 128-byte piece per row of B (a new page per row when n is large)
        float[] panel = n >= NR ? PANEL.get() : null;
        if (panel != null && panel.length < k * NR) {
            panel = new float[k * NR];
            PANEL.set(panel);
        }
        for (int i0 = 0; i0 < m; i0 += mb) {
            int i1 = Math.min(m, i0 + mb);
            int j = 0;
            for (; j + NR <= n; j += NR) {
                for (int p = 0, src = bOff + j; p < k; p++, src += ldb) {
                    System.arraycopy(b, src, panel, p * NR, NR);
                }
                int i = i0;
                for (; i + MR <= i1; i += MR) {
                    tile4x2(k, alpha, a, aOff + i * lda, lda, panel, 0, NR, c, cOff + i * ldc + j, ldc, accumulate);
                }
                for (; i < i1; i++) {
                    tile1x2(k, alpha, a, aOff + i * lda, panel, 0, NR, c, cOff + i * ldc + j, accumulate);
                }
            }
            for (; j + LANES <= n; j += LANES) {
                for (int i = i0; i < i1; i++) {
                    tile1x1(k, alpha, a, aOff + i * lda, b, bOff + j, ldb, c, cOff + i * ldc + j, accumulate);
                }
            }
            if (j < n) {
                reference(i1 - i0, n - j, k, alpha, a, aOff + i0 * lda, lda, b, bOff + j, ldb, c, cOff + i0 * ldc + j,
                        ldc, accumulate);
            }
        }
    }

    /** per-thread panel buffer, grown to the largest k seen */
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[256 * NR]);

    private static void tile4x2(int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c,
                                int cOff, int ldc, boolean accumulate) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        int a0 = aOff, a1 = aOff + lda, a2 = aOff + 2 * lda, a3 = aOff + 3 * lda;
        int bp = bOff;
        for (int p = 0; p < k; p++, bp += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + LANES);
            FloatVector x = FloatVector.broadcast(S, a[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        store(c00, alpha, c, cOff, accumulate);
        store(c01, alpha, c, cOff + LANES, accumulate);
        store(c10, alpha, c, cOff + ldc, accumulate);
        store(c11, alpha, c, cOff + ldc + LANES, accumulate);
        store(c20, alpha, c, cOff + 2 * ldc, accumulate);
        store(c21, alpha, c, cOff + 2 * ldc + LANES, accumulate);
        store(c30, alpha, c, cOff + 3 * ldc, accumulate);
        store(c31, alpha, c, cOff + 3 * ldc + LANES, accumulate);
    }

    private static void tile1x2(int k, float alpha, float[] a, int aOff, float[] b, int bOff, int ldb, float[] c, int cOff,
                                boolean accumulate) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        int bp = bOff;
        for (int p = 0; p < k; p++, bp += ldb) {
            FloatVector x = FloatVector.broadcast(S, a[aOff + p]);
            c0 = x.fma(FloatVector.fromArray(S, b, bp), c0);
            c1 = x.fma(FloatVector.fromArray(S, b, bp + LANES), c1);
        }
        store(c0, alpha, c, cOff, accumulate);
        store(c1, alpha, c, cOff + LANES, accumulate);
    }

    private static void tile1x1(int k, float alpha, float[] a, int aOff, float[] b, int bOff, int ldb, float[] c, int cOff,
                                boolean accumulate) {
        FloatVector c0 = FloatVector.zero(S);
        int bp = bOff;
        for (int p = 0; p < k; p++, bp += ldb) {
            c0 = FloatVector.broadcast(S, a[aOff + p]).fma(FloatVector.fromArray(S, b, bp), c0);
        }
        store(c0, alpha, c, cOff, accumulate);
    }

    private static void store(FloatVector sum, float alpha, float[] c, int off, boolean accumulate) {
        FloatVector v = sum.mul(alpha);
        if (accumulate) {
            v = FloatVector.fromArray(S, c, off).add(v);
        }
        v.intoArray(c, off);
    }

    /** out[j][i] = in[i][j] for an in of rows x cols (row stride ldIn) into out with row stride ldOut. */
    static void transpose(float[] in, int inOff, int rows, int cols, int ldIn, float[] out, int outOff, int ldOut) {
        final int blk = 32;
        for (int i0 = 0; i0 < rows; i0 += blk) {
            int i1 = Math.min(rows, i0 + blk);
            for (int j0 = 0; j0 < cols; j0 += blk) {
                int j1 = Math.min(cols, j0 + blk);
                for (int i = i0; i < i1; i++) {
                    int src = inOff + i * ldIn;
                    for (int j = j0; j < j1; j++) {
                        out[outOff + j * ldOut + i] = in[src + j];
                    }
                }
            }
        }
    }

    /** Parallel transpose (rows of the output split over the pool). */
    static void transpose(ThreadPool pool, float[] in, int inOff, int rows, int cols, int ldIn, float[] out, int outOff,
                          int ldOut) {
        if (pool == null || pool.threads() == 1 || (long) rows * cols < 65536) {
            transpose(in, inOff, rows, cols, ldIn, out, outOff, ldOut);
            return;
        }
        pool.forRange(cols, 32, (j0, j1, t) -> transpose(in, inOff + j0, rows, j1 - j0, ldIn, out, outOff + j0 * ldOut, ldOut));
    }
}
