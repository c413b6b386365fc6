package org.bitnet4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class BaselinesTest {
    @Test
    void addOneUnigramAndBigramByHand() {
        int[] train = {0, 1, 0, 1, 2};  // counts 2, 2, 1 of 5; pairs 01 x2, 10, 12
        int[] val = {0, 1, 2};
        // unigram: p(1) = 3/8, p(2) = 2/8
        assertEquals(-(Math.log(3.0 / 8) + Math.log(2.0 / 8)) / 2, Baselines.unigram(train, val, 3), 1e-12);
        // bigram: p(1|0) = (2+1)/(2+3), p(2|1) = (1+1)/(2+3)
        assertEquals(-(Math.log(3.0 / 5) + Math.log(2.0 / 5)) / 2, Baselines.bigram(train, val, 3), 1e-12);
    }
}
