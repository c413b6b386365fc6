package org.bitnet4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Vector kernels against their scalar (double-accumulating) references on random data, odd shapes included. */
class KernelsTest {
    static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static void close(float[] e, float[] a) {
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], 1e-4 * Math.max(1, Math.abs(e[i])), "element " + i);
        }
    }

    @Test
    void matchScalar() {
        SplittableRandom r = new SplittableRandom(9);
        for (int[] s : new int[][] {{5, 37, 7}, {8, 128, 12}, {3, 256, 5}, {1, 19, 1}}) {
            int T = s[0], I = s[1], O = s[2];
            float[] x = rand(r, T * I), w = rand(r, O * I), dy = rand(r, T * O);
            float[] y = new float[T * O], yr = new float[T * O];
            Kernels.matmulT(x, 0, T, I, w, 0, O, y, 0);
            Kernels.matmulTRef(x, T, I, w, O, yr);
            close(yr, y);
            float[] dx = rand(r, T * I), dxr = dx.clone();
            Kernels.matmulAcc(dy, 0, T, O, w, 0, I, dx, 0);
            Kernels.matmulAccRef(dy, T, O, w, I, dxr);
            close(dxr, dx);
            float[] dw = rand(r, O * I), dwr = dw.clone();
            Kernels.outerAcc(dy, 0, T, O, x, 0, I, dw, 0);
            Kernels.outerAccRef(dy, T, O, x, I, dwr);
            close(dwr, dw);
        }
    }
}
