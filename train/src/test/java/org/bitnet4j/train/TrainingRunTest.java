package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bitnet4j.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingRunTest {
    @Test
    void lineRangesSplitAFileBetweenTrainingAndValidation(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "one\ntwo\nthree\nfour\nfive");
        TextSource val = TextSource.parse(f + ":2-3");
        assertEquals("two\nthree\n", val.read(List.of()));
        assertEquals("one\nfour\nfive", TextSource.readTraining(List.of(TextSource.parse(f.toString())), val).get(0));
        assertEquals("four\nfive", TextSource.parse(f + ":4-").read(List.of()));
        IOException e = assertThrows(IOException.class, () -> TextSource.parse(f + ":9-10").read(List.of()));
        assertEquals(f + ": line range starts at line 9 but the file has 5 lines", e.getMessage());
        e = assertThrows(IOException.class, () -> TextSource.parse(dir.resolve("none.txt").toString()).read(List.of()));
        assertEquals(dir.resolve("none.txt") + ": no such file", e.getMessage());
        Files.write(dir.resolve("bin"), new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        e = assertThrows(IOException.class, () -> TextSource.parse(dir.resolve("bin").toString()).read(List.of()));
        assertEquals(dir.resolve("bin") + ": not UTF-8 text", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TextSource.parse(f + ":3-2"));
    }

    @Test
    void wholeRunOnAPieceOfTheCorpus(@TempDir Path dir) throws IOException {
        // Emma's first 600 lines to train on, 40 lines of Persuasion to validate on: every stage runs and the
        // files are where TrainingRun's documentation says
        Path austen = BpeTest.corpus("austen.txt");
        TrainConfig c = TrainConfig.preset("tiny").with(Map.of("steps", "4", "eval-every", "2", "save-every", "2",
                "context", "32", "warmup", "2"));
        List<String> messages = new ArrayList<>();
        var o = new TrainingRun.Options(List.of(TextSource.parse(austen + ":1-600")), TextSource.parse(austen + ":39440-39480"),
                dir, c, false, 2, List.of(GgmlType.I2_S, GgmlType.F32), false);
        TrainingRun.Result r = TrainingRun.run(o, new TrainingRun.Listener() {
            @Override
            public void message(String text) {
                messages.add(text);
            }
        });
        assertEquals(4, r.steps());
        assertEquals(2, r.models().size());
        assertTrue(Double.isNaN(r.engineValLoss())); // the engine check has its own test (ExportTest)
        assertTrue(r.valLoss() < Math.log(c.vocab()), "learned something: " + r.valLoss());
        assertTrue(r.baselines().unigram() > r.baselines().bigram(), r.baselines().toString());
        for (String f : List.of("tokenizer.bpe", "config.txt", "checkpoint.bin", "loss.tsv", "loss.png", "results.txt",
                "model-i2_s.gguf", "model-f32.gguf")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        assertTrue(Files.readString(dir.resolve("results.txt")).contains("bigram_kn_val_ppl="));
        assertEquals(5, Files.readAllLines(dir.resolve("loss.tsv")).size());
        // a second run into the same folder must ask for --resume; with it, the finished run just re-exports
        IOException e = assertThrows(IOException.class, () -> TrainingRun.run(o, null));
        assertTrue(e.getMessage().endsWith("exists: add --resume to continue that run, or choose another --out folder"));
        var again = new TrainingRun.Options(o.data(), o.val(), dir, c, true, 2, List.of(GgmlType.I2_S), false);
        assertEquals(r.valLoss(), TrainingRun.run(again, null).valLoss(), 0.0);
    }
}
