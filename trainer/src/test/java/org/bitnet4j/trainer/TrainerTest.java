package org.bitnet4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bitnet4j.generate.Perplexity;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.model.Model;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static String trainText, valText;
    static BpeTrainer.Vocab vocab;
    static int[] train, val;

    @BeforeAll
    static void data() throws Exception {
        Path corpus = Path.of(System.getProperty("bitnet4j.shared", "../../shared"), "data", "corpus", "kjv.txt");
        String kjv = Files.readString(corpus);
        trainText = kjv.substring(0, 120_000);
        valText = kjv.substring(200_000, 215_000);
        vocab = BpeTrainer.train(List.of(trainText), 400);
        train = vocab.tokenizer().encode(trainText, false, false);
        val = vocab.tokenizer().encode(valText, false, false);
    }

    static TrainConfig small(int steps) {
        return new TrainConfig(vocab.tokens().size(), 128, 2, 4, 2, 256, 32, 4, steps, 4e-3, 3e-3, 5, 0.1, 1.0, 7,
                1000, 4, 1000);
    }

    /** The exported I2_S / TQ2_0 / F32 files, run by the engine, give the trainer's quantised validation loss. */
    @Test
    void exportedModelMatchesTrainerLoss(@TempDir Path dir) {
        TrainConfig c = small(30);
        try (Trainer t = new Trainer(c, vocab, train, val, 2)) {
            for (int i = 0; i < c.steps(); i++) {
                t.trainStep();
            }
            int chunks = 6;
            for (GgmlType type : new GgmlType[] {GgmlType.I2_S, GgmlType.F32}) {
                GgmlType emb = type == GgmlType.F32 ? GgmlType.F32 : GgmlType.F16;
                double mine = t.evalLoss(val, chunks, emb == GgmlType.F16);
                Path f = dir.resolve("m-" + type + ".gguf");
                GgufExport.write(t.model, t.params(), vocab, type, emb, "test", f);
                try (Model m = Model.load(f);
                     Session s = new Session(m, SessionOptions.defaults().withThreads(1).withContext(c.context()))) {
                    Perplexity.Result r = Perplexity.compute(s, val, chunks, null);
                    assertEquals(mine, r.meanNll(), 1e-4, type + ": engine " + r.meanNll() + " vs trainer " + mine);
                }
            }
        }
    }

    /** A run resumed from a checkpoint continues with a bit-identical loss curve. */
    @Test
    void resumeIsBitIdentical(@TempDir Path dir) {
        TrainConfig c = small(8);
        List<Trainer.Row> full;
        try (Trainer t = new Trainer(c, vocab, train, val, 2)) {
            for (int i = 0; i < 8; i++) {
                t.trainStep();
            }
            full = t.history();
        }
        Path ck = dir.resolve("checkpoint.bin");
        try (Trainer t = new Trainer(c, vocab, train, val, 2)) {
            for (int i = 0; i < 4; i++) {
                t.trainStep();
            }
            t.save(ck);
        }
        try (Trainer t = new Trainer(c, vocab, train, val, 2)) {
            t.load(ck);
            assertEquals(4, t.step());
            for (int i = 0; i < 4; i++) {
                t.trainStep();
            }
            assertEquals(full, t.history());
        }
    }

    /** A tiny model memorises a short text: training loss falls close to zero. */
    @Test
    void overfitsShortText() {
        int[] shortText = java.util.Arrays.copyOf(train, 40);
        TrainConfig c = new TrainConfig(vocab.tokens().size(), 128, 1, 4, 2, 256, 32, 4, 150, 1e-2, 5e-3, 10, 0.0, 1.0, 3,
                1000, 4, 1000);
        try (Trainer t = new Trainer(c, vocab, shortText, null, 2)) {
            double first = t.trainStep(), last = first;
            for (int i = 1; i < c.steps(); i++) {
                last = t.trainStep();
            }
            assertTrue(last < 0.1, "loss " + first + " -> " + last);
        }
    }
}
