package org.bitnet4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The validation split and the one-line errors for bad input. */
class InputErrorsTest {
    @Test
    void titleSectionIsValidationAndLeftOutOfTraining(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("novels.txt");
        Files.writeString(f, "EMMA\n\nBy Jane Austen\n\nemma text\nPersuasion\n\nby\n\npersuasion text\nPRIDE AND PREJUDICE\n\n"
                + "By Jane Austen\n\npride text\n");
        TrainingRun.Texts t = TrainingRun.readTexts(List.of(f), f + ":Persuasion");
        assertEquals("Persuasion\n\nby\n\npersuasion text\n", t.val());
        assertTrue(t.train().getFirst().contains("emma text") && t.train().getFirst().contains("pride text"));
        assertTrue(!t.train().getFirst().contains("persuasion text"));
    }

    @Test
    void persuasionInTheSharedCorpus() {
        Path austen = Path.of(System.getProperty("bitnet4j.shared", "../../shared"), "data", "corpus", "austen.txt");
        TrainingRun.Texts t = TrainingRun.readTexts(List.of(austen), austen + ":Persuasion");
        assertTrue(t.val().startsWith("Persuasion\n"));
        assertTrue(!t.val().contains("By Jane Austen") && !t.val().contains("PRIDE AND PREJUDICE"));
        assertTrue(t.train().getFirst().contains("PRIDE AND PREJUDICE") && !t.train().getFirst().contains("Anne Elliot"));
    }

    @Test
    void missingTitleNamesFileAndTitle(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("a.txt");
        Files.writeString(f, "some text\n");
        TrainingException e = assertThrows(TrainingException.class, () -> TrainingRun.readTexts(List.of(f), f + ":Nope"));
        assertTrue(e.getMessage().contains("a.txt") && e.getMessage().contains("Nope"), e.getMessage());
    }

    @Test
    void missingDataFile(@TempDir Path dir) {
        TrainingException e = assertThrows(TrainingException.class,
                () -> TrainingRun.readTexts(List.of(dir.resolve("none.txt")), dir.resolve("none.txt").toString()));
        assertTrue(e.getMessage().contains("none.txt"), e.getMessage());
    }

    @Test
    void badAndTruncatedCheckpoints(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.bin");
        Files.write(bad, new byte[64]);
        TrainingException e = assertThrows(TrainingException.class, () -> Trainer.readHeader(bad));
        assertTrue(e.getMessage().contains("bad.bin") && e.getMessage().contains("magic"), e.getMessage());

        BpeTrainer.Vocab v = BpeTrainer.train(List.of("the cat and the hat and the bat"), 270);
        TrainConfig c = new TrainConfig(v.tokens().size(), 128, 1, 4, 2, 128, 8, 1, 1, 1e-3, 1e-3, 1, 0, 0, 1, 1, 1, 1);
        Path ck = dir.resolve("ck.bin");
        try (Trainer t = new Trainer(c, v, new int[20], null, 1)) {
            t.save(ck);
        }
        byte[] all = Files.readAllBytes(ck);
        Files.write(ck, java.util.Arrays.copyOf(all, all.length / 2));
        try (Trainer t = new Trainer(c, v, new int[20], null, 1)) {
            TrainingException e2 = assertThrows(TrainingException.class, () -> t.load(ck));
            assertTrue(e2.getMessage().contains("ck.bin") && e2.getMessage().contains("truncated"), e2.getMessage());
        }
    }

    @Test
    void textShorterThanContext() {
        BpeTrainer.Vocab v = BpeTrainer.train(List.of("abc"), 270);
        TrainConfig c = new TrainConfig(v.tokens().size(), 128, 1, 4, 2, 128, 8, 1, 1, 1e-3, 1e-3, 1, 0, 0, 1, 1, 1, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(c, v, new int[5], null, 1));
        assertTrue(e.getMessage().contains("fewer than one context"), e.getMessage());
    }
}
