package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FastExpTest {
    @Test
    void accurateToAFewUlps() {
        double worst = 0;
        for (float x = -87f; x <= 88f; x += 0.0137f) {
            double rel = Math.abs(FastExp.exp(x) - Math.exp(x)) / Math.exp(x);
            worst = Math.max(worst, rel);
        }
        assertTrue(worst < 3e-7, "max relative error " + worst);
        assertEquals(1f, FastExp.exp(0f));
    }

    @Test
    void vectorAndScalarAgreeBitForBit() {
        Random r = new Random(5);
        for (int len : new int[] {1, 7, 16, 33, 100, 4096}) {
            float[] a = new float[len + 3];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (r.nextGaussian() * 10);
            }
            float[] b = a.clone();
            float max = FastExp.max(a, 3, len);
            double s1 = FastExp.expInPlace(a, 3, len, max, true);
            double s2 = FastExp.expInPlaceReference(b, 3, len, max);
            assertEquals(s2, s1, 0.0, "len " + len);
            for (int i = 0; i < a.length; i++) {
                assertEquals(Float.floatToIntBits(b[i]), Float.floatToIntBits(a[i]), "len " + len + " element " + i);
            }
        }
    }
}
