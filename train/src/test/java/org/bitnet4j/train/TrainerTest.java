package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final String TEXT = """
            It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want \
            of a wife. However little known the feelings or views of such a man may be on his first entering a \
            neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered \
            the rightful property of some one or other of their daughters.
            """;

    static Bpe bpe() {
        return Bpe.train(List.of(TEXT), 300, null);
    }

    /** The short text repeated into a stream, as a trainer's input. */
    static int[] stream(Bpe b, int copies) {
        int[] one = b.encode(TEXT);
        int[] s = new int[one.length * copies];
        for (int i = 0; i < copies; i++) {
            System.arraycopy(one, 0, s, i * one.length, one.length);
        }
        return s;
    }

    static TrainConfig tiny(Map<String, String> more) {
        var m = new java.util.HashMap<>(Map.of("layers", "1", "hidden", "128", "heads", "2", "kv-heads", "1", "ffn", "256",
                "vocab", "300", "context", "32", "batch", "8"));
        m.putAll(more);
        return TrainConfig.preset("tiny").with(m);
    }

    @Test
    void tinyModelMemorisesAShortText() {
        // one fixed sequence [BOS, text...] -> text, the quantised model and the real optimiser: loss goes to ~0
        Bpe b = bpe();
        int[] text = b.encode(TEXT);
        TrainConfig c = tiny(Map.of("context", "64", "batch", "1", "steps", "120", "lr", "1e-2", "lr2", "5e-3",
                "warmup", "5"));
        int T = c.context();
        int[] in = new int[T], tg = new int[T];
        in[0] = b.bos();
        for (int t = 0; t < T; t++) {
            if (t > 0) {
                in[t] = text[t - 1];
            }
            tg[t] = text[t];
        }
        try (TrainModel m = new TrainModel(c, 2)) {
            float[] w = m.layout.initialWeights(1);
            float[] g = new float[w.length];
            AdamW adam = new AdamW(m.layout);
            double first = 0, loss = 0;
            for (int step = 0; step < c.steps(); step++) {
                m.prepare(w);
                java.util.Arrays.fill(g, 0f);
                loss = m.forwardBackward(w, in, tg, 1, T, g);
                if (step == 0) {
                    first = loss;
                }
                adam.step(m.pool(), w, g, step + 1, c.learningRate(step), c.weightDecay(step), c.clip());
            }
            m.prepare(w);
            double nll = m.nllSum(w, in, tg, 1, T) / T;
            assertTrue(first > 5, "starts near ln(300): " + first);
            assertTrue(nll < 0.05, "loss after " + c.steps() + " steps: " + nll);
        }
    }

    static TrainConfig resumeConfig() {
        return tiny(Map.of("hidden", "64", "ffn", "128", "steps", "12", "save-every", "5", "eval-every", "4",
                "val-chunks", "2", "warmup", "2", "batch", "4"));
    }

    /** Stops the run by throwing once a step has been reported, as a kill would (after the checkpoint at step 5). */
    static final class Kill extends RuntimeException {}

    @Test
    void resumedRunHasTheLossCurveOfAnUninterruptedOne(@TempDir Path dir) throws IOException {
        Bpe b = bpe();
        int[] s = stream(b, 6);
        int[] val = stream(b, 2);
        TrainConfig c = resumeConfig();
        Path whole = dir.resolve("whole"), broken = dir.resolve("broken");
        float[] expected;
        List<Trainer.LogRow> expectedLog;
        try (Trainer t = new Trainer(c, s, val, b.bos(), 2)) {
            t.run(whole, null);
            expected = t.params().clone();
            expectedLog = t.log();
        }
        try (Trainer t = new Trainer(c, s, val, b.bos(), 2)) {
            assertThrows(Kill.class, () -> t.run(broken, new Trainer.Listener() {
                @Override
                public void step(Trainer.StepStats st) {
                    if (st.step() == 7) {
                        throw new Kill();
                    }
                }
            }));
        }
        // the loss log on disk never runs ahead of the checkpoint
        assertEquals(6, Files.readAllLines(broken.resolve("loss.tsv")).size());
        try (Trainer t = new Trainer(c, s, val, b.bos(), 1)) { // another thread count, too
            t.load(broken);
            assertEquals(5, t.step());
            t.run(broken, null);
            assertEquals(expectedLog.size(), t.log().size());
            for (int i = 0; i < expectedLog.size(); i++) {
                Trainer.LogRow e = expectedLog.get(i), a = t.log().get(i);
                assertEquals(e.loss(), a.loss(), 0.0, "loss at step " + e.step());
                assertEquals(e.gradNorm(), a.gradNorm(), 0.0, "grad norm at step " + e.step());
                assertEquals(e.valLoss(), a.valLoss(), 0.0, "validation at step " + e.step());
            }
            assertArrayEquals(expected, t.params());
        }
        assertEquals(Files.readString(whole.resolve("loss.tsv")), Files.readString(broken.resolve("loss.tsv")));
        assertTrue(Double.isNaN(expectedLog.get(0).valLoss()) && !Double.isNaN(expectedLog.get(3).valLoss()));
    }

    @Test
    void checkpointOfAnotherConfigurationOrTextIsRefused(@TempDir Path dir) throws IOException {
        Bpe b = bpe();
        int[] s = stream(b, 6);
        TrainConfig c = resumeConfig().with(Map.of("steps", "2", "save-every", "1", "warmup", "1"));
        try (Trainer t = new Trainer(c, s, s, b.bos(), 1)) {
            t.run(dir, null);
        }
        try (Trainer t = new Trainer(c.with(Map.of("lr", "0.5")), s, s, b.bos(), 1)) {
            IOException e = assertThrows(IOException.class, () -> t.load(dir));
            assertTrue(e.getMessage().contains("lr 0.004 in the checkpoint, 0.5 now"), e.getMessage());
        }
        try (Trainer t = new Trainer(c, stream(b, 7), s, b.bos(), 1)) {
            IOException e = assertThrows(IOException.class, () -> t.load(dir));
            assertTrue(e.getMessage().contains("different training or validation text"), e.getMessage());
        }
        Path ck = dir.resolve("checkpoint.bin");
        byte[] bytes = Files.readAllBytes(ck);
        Files.write(ck, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        try (Trainer t = new Trainer(c, s, s, b.bos(), 1)) {
            IOException e = assertThrows(IOException.class, () -> t.load(dir));
            assertEquals(ck + ": truncated", e.getMessage());
        }
        Files.writeString(ck, "not a checkpoint at all");
        try (Trainer t = new Trainer(c, s, s, b.bos(), 1)) {
            IOException e = assertThrows(IOException.class, () -> t.load(dir));
            assertEquals(ck + ": not a bitnet4j checkpoint", e.getMessage());
        }
    }

    @Test
    void scheduleHasWarmUpTwoStagesAndHalfWeightDecay() {
        TrainConfig c = TrainConfig.preset("tiny").with(Map.of("steps", "100", "warmup", "10", "lr", "1e-3", "lr2",
                "4e-4", "weight-decay", "0.1"));
        assertEquals(1e-4f, c.learningRate(0), 1e-9f);
        assertEquals(1e-3f, c.learningRate(9), 1e-9f);
        assertEquals(1e-3f, c.learningRate(10), 1e-9f);
        assertEquals(0.8e-3f * 1 + 0.2e-3f * (1 - 39f / 40), c.learningRate(49), 1e-8f); // stage one decays to 0.8 lr
        assertEquals(4e-4f, c.learningRate(50), 1e-9f);                                 // the drop at the midpoint
        assertEquals(4e-5f, c.learningRate(99), 1e-9f);                                 // cosine to 0.1 lr2
        assertTrue(c.learningRate(75) < 4e-4f && c.learningRate(75) > 4e-5f);
        assertEquals(0.1f, c.weightDecay(49));
        assertEquals(0f, c.weightDecay(50));
    }

    @Test
    void configOverridesAreCheckedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.preset("tiny").with(Map.of("hiden", "3")));
        assertTrue(e.getMessage().startsWith("unknown config key 'hiden'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.preset("tiny").with(Map.of("lr", "fast")));
        assertEquals("config key 'lr': 'fast' is not a number", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.preset("tiny").with(Map.of("heads", "3")));
        assertEquals("hidden must be a multiple of heads", e.getMessage());
        TrainConfig d = TrainConfig.preset("default");
        assertEquals(d, TrainConfig.fromText(d.toText()));
    }
}
