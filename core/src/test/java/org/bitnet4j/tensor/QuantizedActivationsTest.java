package org.bitnet4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantizedActivationsTest {

    /** the scalar and vector quantisers give the same bytes, scales and sums, tails and odd values included */
    @Test
    void vectorQuantiserIsBitIdentical() {
        Random rnd = new Random(21);
        int[] widths = {1, 7, 16, 17, 64, 100, 256, 2560, 2561};
        for (int n : widths) {
            for (int trial = 0; trial < 20; trial++) {
                float[] x = new float[n];
                float mag = (float) Math.pow(10, rnd.nextInt(12) - 8); // 1e-8 .. 1e3: below and above EPS
                for (int i = 0; i < n; i++) {
                    x[i] = (float) rnd.nextGaussian() * mag;
                }
                if (trial % 5 == 1) {
                    // exact .5 ties after scaling: with amax = 127 the scale is 1 and halves stay halves
                    x[0] = 127f;
                    for (int i = 1; i < n; i++) {
                        x[i] = (rnd.nextInt(255) - 127) + (rnd.nextBoolean() ? 0.5f : 0f);
                        x[i] = Math.max(-127f, Math.min(127f, x[i]));
                    }
                }
                if (trial % 5 == 2) {
                    java.util.Arrays.fill(x, 0f);
                }
                if (trial % 5 == 3 && n > 3) {
                    x[rnd.nextInt(n)] = Float.POSITIVE_INFINITY;
                    x[rnd.nextInt(n)] = Float.NaN;
                    x[rnd.nextInt(n)] = -0f;
                }
                byte[] qs = new byte[n], qv = new byte[n];
                float[] ss = new float[1], sv = new float[1];
                int[] sums = new int[1], sumv = new int[1];
                QuantizedActivations.quantizeRow(x, 0, n, qs, 0, ss, sums, 0);
                QuantizedActivations.quantizeRowVector(x, 0, n, qv, 0, sv, sumv, 0);
                assertArrayEquals(qs, qv, "n=" + n + " trial " + trial);
                assertEquals(Float.floatToIntBits(ss[0]), Float.floatToIntBits(sv[0]));
                assertEquals(sums[0], sumv[0]);
            }
        }
    }

    /** the definition itself, on values worked out by hand */
    @Test
    void absmaxQuantisationByHand() {
        float[] x = {0.5f, -1f, 0.25f, 0.0039370079f * 0.5f, -0.75f, 1f / 254};
        QuantizedActivations a = new QuantizedActivations(6, 2).quantize(x, 1);
        // s = 127 / 1 = 127: 63.5 -> 64 (half to even), -127, 31.75 -> 32, 0.25 -> 0, -95.25 -> -95, 0.5 -> 0
        assertArrayEquals(new byte[] {64, -127, 32, 0, -95, 0}, java.util.Arrays.copyOf(a.q, 6));
        assertEquals(127f, a.scale[0]);
        assertEquals(64 - 127 + 32 - 95, a.sum[0]);
        assertEquals(1, a.tokens());
        assertThrows(IllegalArgumentException.class, () -> a.quantize(new float[18], 3));
    }
}
