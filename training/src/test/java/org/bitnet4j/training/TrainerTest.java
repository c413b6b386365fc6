package org.bitnet4j.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bitnet4j.generate.Perplexity;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.tensor.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final String TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
            + "must be in want of a wife. ";

    @TempDir
    Path dir;

    static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = b[i] & 0xFF;
        }
        return t;
    }

    static TrainConfig small(int steps) {
        // vocab: 256 bytes + BOS; tiny shape so a few hundred steps take seconds
        return new TrainConfig(257, 64, 2, 4, 2, 128, 32, 4, steps, 1e-2f, 6e-3f, 10, 0.1f, 1f, 7, 0, 1000, 1);
    }

    @Test
    void aTinyTernaryModelMemorisesAShortText() {
        int[] data = bytes(TEXT.repeat(8));
        try (Trainer tr = new Trainer(small(300), data, data, 256, 2)) {
            List<Double> losses = new ArrayList<>();
            tr.run(null, new Trainer.Listener() {
                public void step(int step, double loss, float lr, double tps) {
                    losses.add(loss);
                }

                public void eval(int step, double valLoss) {}
            });
            assertTrue(losses.get(0) > 5, "starts near ln(257): " + losses.get(0));
            double last = losses.get(losses.size() - 1);
            // the first tokens of each 32-token window have too little context to be certain, so the mean stays a bit above 0
            assertTrue(last < 0.25, "memorised: final loss " + last);
        }
    }

    @Test
    void resumingFromACheckpointGivesTheSameRunBitForBit() {
        int[] data = bytes(TEXT.repeat(8));
        List<Double> straight = new ArrayList<>(), resumed = new ArrayList<>();
        float[] w1;
        try (Trainer tr = new Trainer(small(12), data, data, 256, 2)) {
            tr.run(null, listener(straight));
            w1 = tr.w.clone();
        }
        Path ckpt = dir.resolve("ck.bin");
        TrainConfig c = small(12).with(java.util.Map.of("saveEvery", "5"));
        try (Trainer first = new Trainer(c, data, data, 256, 2)) {
            first.run(ckpt, listener(resumed), 7); // killed after step 7: the last checkpoint is step 5
        }
        resumed.subList(5, resumed.size()).clear(); // what was lost with the kill
        try (Trainer tr = new Trainer(c, data, data, 256, 2)) {
            tr.load(ckpt);
            assertEquals(5, tr.step());
            tr.run(null, listener(resumed));
            assertArrayEquals(w1, tr.w);
        }
        assertEquals(straight, resumed);
    }

    static Trainer.Listener listener(List<Double> out) {
        return new Trainer.Listener() {
            public void step(int step, double loss, float lr, double tps) {
                out.add(loss);
            }

            public void eval(int step, double valLoss) {}
        };
    }

    /** The exported file, run by the engine, gives the trainer's quantised validation loss. */
    @Test
    void enginePerplexityOnTheExportEqualsTheTrainersValidationLoss() throws Exception {
        String text = TEXT.repeat(20);
        Vocab vocab = Vocab.fromBpe(Bpe.train(text, 40));
        int[] tokens = vocab.tokenizer().encode(text, false, false);
        TrainConfig c = new TrainConfig(vocab.size(), 256, 1, 4, 2, 256, 32, 2, 15, 3e-3f, 2e-3f, 3, 0.1f, 1f, 9, 0, 100, 3);
        Path i2s = dir.resolve("m-i2s.gguf"), tq2 = dir.resolve("m-tq2.gguf");
        double trainerLoss;
        try (Trainer tr = new Trainer(c, tokens, tokens, vocab.bos(), 2)) {
            tr.run(null, listener(new ArrayList<>()));
            trainerLoss = tr.evalLoss(3);
            Exporter.write(tr, vocab, GgmlType.I2_S, i2s, false);
            Exporter.write(tr, vocab, GgmlType.TQ2_0, tq2, false);
            // the exported ternary tensors decode to exactly the trainer's effective weights
            float[] betas = new float[tr.model.lay.tensors.size()];
            float[] eff = tr.effectiveWeights(betas);
            try (GgufFile f = GgufFile.open(i2s)) {
                for (Layout.Tensor t : tr.model.lay.tensors) {
                    if (t.kind() == Layout.Kind.LINEAR) {
                        GgufTensorInfo info = f.tensor(t.name());
                        float[] got = new float[t.size()];
                        WeightFormat.of(info.type()).dequantize(f.data(info), t.size(), 0, got, 0, t.size());
                        assertArrayEquals(java.util.Arrays.copyOfRange(eff, t.offset(), t.offset() + t.size()), got, t.name());
                    }
                }
            }
        }
        for (Path p : List.of(i2s, tq2)) {
            try (Model m = Model.load(p); Session s = new Session(m, new SessionOptions(2, 32, 32, ActivationMode.INT8))) {
                assertArrayEquals(tokens, m.tokenizer.encode(text, false, false));
                Perplexity.Result r = Perplexity.compute(s, tokens, 3, null);
                assertEquals(trainerLoss, r.meanNll(), 1e-4, p.getFileName().toString());
            }
        }
    }
}
