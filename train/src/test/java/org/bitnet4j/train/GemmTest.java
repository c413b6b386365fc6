package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.bitnet4j.model.ThreadPool;
import org.junit.jupiter.api.Test;

class GemmTest {
    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Test
    void vectorProductEqualsScalarReferenceBitForBit() {
        Random r = new Random(1);
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {4, 32, 16}, {9, 33, 17}, {17, 48, 64}, {5, 100, 3}, {64, 96, 130}, {7, 16, 0}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            int lda = k + 3, ldb = n + 5, ldc = n + 2;
            float[] a = random(r, 2 + m * lda), b = random(r, 1 + Math.max(1, k) * ldb);
            for (boolean acc : new boolean[] {false, true}) {
                float[] c1 = random(r, 4 + m * ldc), c2 = c1.clone();
                Gemm.reference(m, n, k, 0.75f, a, 2, lda, b, 1, ldb, c1, 4, ldc, acc);
                Gemm.gemm(m, n, k, 0.75f, a, 2, lda, b, 1, ldb, c2, 4, ldc, acc);
                assertArrayEquals(c1, c2, "shape " + m + "x" + n + "x" + k + " accumulate " + acc);
            }
        }
    }

    @Test
    void referenceIsTheProduct() {
        float[] a = {1, 2, 3, 4, 5, 6};        // [2][3]
        float[] b = {1, 0, 0, 1, 2, -1};       // [3][2]
        float[] c = new float[4];
        Gemm.reference(2, 2, 3, 1f, a, 0, 3, b, 0, 2, c, 0, 2, false);
        assertArrayEquals(new float[] {7, -1, 16, -1}, c);
        Gemm.reference(2, 2, 3, 2f, a, 0, 3, b, 0, 2, c, 0, 2, true);
        assertArrayEquals(new float[] {21, -3, 48, -3}, c);
    }

    @Test
    void parallelProductDoesNotDependOnThreads() {
        Random r = new Random(2);
        int m = 203, n = 96, k = 150;
        float[] a = random(r, m * k), b = random(r, k * n);
        float[] c1 = new float[m * n], c2 = new float[m * n];
        Gemm.gemm(m, n, k, 1f, a, 0, k, b, 0, n, c1, 0, n, false);
        try (ThreadPool pool = new ThreadPool(3)) {
            Gemm.gemm(pool, m, n, k, 1f, a, 0, k, b, 0, n, c2, 0, n, false);
        }
        assertArrayEquals(c1, c2);
    }

    @Test
    void integerProductsAreExact() {
        // the BitLinear forward relies on this: ternary times int8 sums stay exact integers in float
        Random r = new Random(3);
        int m = 8, n = 32, k = 2048;
        float[] q = new float[m * k], t = new float[k * n];
        for (int i = 0; i < q.length; i++) {
            q[i] = r.nextInt(256) - 128;
        }
        for (int i = 0; i < t.length; i++) {
            t[i] = r.nextInt(3) - 1;
        }
        float[] c = new float[m * n];
        Gemm.gemm(m, n, k, 1f, q, 0, k, t, 0, n, c, 0, n, false);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long s = 0;
                for (int p = 0; p < k; p++) {
                    s += (long) q[i * k + p] * (long) t[p * n + j];
                }
                assertEquals((float) s, c[i * n + j]);
            }
        }
    }

    @Test
    void transposeMovesEveryElement() {
        Random r = new Random(4);
        int rows = 45, cols = 70;
        float[] a = random(r, rows * (cols + 1));
        float[] t = new float[cols * (rows + 2)];
        try (ThreadPool pool = new ThreadPool(2)) {
            float[] big = random(r, 300 * 400), bigT = new float[400 * 300];
            Gemm.transpose(pool, big, 0, 300, 400, 400, bigT, 0, 300);
            for (int i = 0; i < 300; i++) {
                for (int j = 0; j < 400; j++) {
                    assertEquals(big[i * 400 + j], bigT[j * 300 + i]);
                }
            }
        }
        Gemm.transpose(a, 0, rows, cols, cols + 1, t, 0, rows + 2);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                assertEquals(a[i * (cols + 1) + j], t[j * (rows + 2) + i]);
            }
        }
    }
}
