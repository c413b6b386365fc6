package org.bitnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufMetadata;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.tensor.WeightFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Export, read back, decode; and the engine's loss on the file against the trainer's. */
class ExportTest {
    static Bpe bpe;
    static Trainer trainer;
    static int[] val;
    @TempDir
    static Path dir;

    @BeforeAll
    static void train() {
        bpe = TrainerTest.bpe();
        int[] s = TrainerTest.stream(bpe, 8);
        val = TrainerTest.stream(bpe, 2);
        TrainConfig c = TrainerTest.tiny(Map.of("layers", "2", "hidden", "256", "heads", "4", "kv-heads", "2", "ffn", "256",
                "steps", "6", "warmup", "1", "lr", "1e-2", "batch", "2"));
        trainer = new Trainer(c, s, val, bpe.bos(), 2);
        for (int i = 0; i < c.steps(); i++) {
            trainer.trainStep(); // weights away from their initialisation
        }
        trainer.model().prepare(trainer.params());
    }

    @AfterAll
    static void close() {
        trainer.close();
    }

    static Path export(GgmlType type) {
        Path f = dir.resolve("m-" + type + ".gguf");
        GgufExport.write(f, trainer.model(), trainer.params(), bpe, type, "test");
        return f;
    }

    @Test
    void ternaryTensorsDecodeToTheTrainersQuantisedWeights() {
        for (GgmlType type : List.of(GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.F32)) {
            TrainModel m = trainer.model();
            try (GgufFile f = GgufFile.open(export(type))) {
                GgufMetadata md = f.metadata();
                TrainConfig c = m.config;
                assertEquals("bitnet-b1.58", md.getString("general.architecture"));
                assertEquals(c.hidden(), md.getInt("bitnet-b1.58.embedding_length"));
                assertEquals(c.layers(), md.getInt("bitnet-b1.58.block_count"));
                assertEquals(c.ffn(), md.getInt("bitnet-b1.58.feed_forward_length"));
                assertEquals(c.heads(), md.getInt("bitnet-b1.58.attention.head_count"));
                assertEquals(c.kvHeads(), md.getInt("bitnet-b1.58.attention.head_count_kv"));
                assertEquals(c.context(), md.getInt("bitnet-b1.58.context_length"));
                assertEquals(500000f, md.getFloat("bitnet-b1.58.rope.freq_base"));
                assertEquals(type == GgmlType.I2_S ? 40 : type == GgmlType.TQ2_0 ? 37 : 0, md.getInt("general.file_type"));
                assertEquals("gpt2", md.getString("tokenizer.ggml.model"));
                assertEquals(bpe.tokens(), md.getStringArray("tokenizer.ggml.tokens"));
                assertEquals(bpe.merges(), md.getStringArray("tokenizer.ggml.merges"));
                assertNull(f.tensor("output.weight"));
                assertEquals(2 + 11 * c.layers(), f.tensors().size());
                for (ParamLayout.Tensor t : m.layout.tensors()) {
                    GgufTensorInfo info = f.tensor(t.name());
                    float[] got = new float[t.size()];
                    WeightFormat.of(info.type()).dequantize(f.data(info), t.size(), 0, got, 0, t.size());
                    float[] want = switch (t.kind()) {
                        case LINEAR -> GgufExport.weightOf(m, t).dequantized();
                        case EMBEDDING -> m.embedding();
                        case NORM -> java.util.Arrays.copyOfRange(trainer.params(), t.offset(), t.offset() + t.size());
                    };
                    GgmlType expectType = switch (t.kind()) {
                        case LINEAR -> type;
                        case EMBEDDING -> type == GgmlType.F32 ? GgmlType.F32 : GgmlType.F16;
                        case NORM -> GgmlType.F32;
                    };
                    assertEquals(expectType, info.type(), t.name());
                    long[] dims = info.dims();
                    assertEquals(t.cols(), dims[0], t.name());
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]),
                                type + " " + t.name() + "[" + i + "]");
                    }
                    if (t.kind() == ParamLayout.Kind.LINEAR) {
                        // really ternary: three values, -beta, 0, beta
                        float beta = GgufExport.weightOf(m, t).beta;
                        for (float v : got) {
                            assertTrue(v == 0f || v == beta || v == -beta);
                        }
                    }
                }
            }
        }
    }

    @Test
    void engineLossOnTheExportedFileEqualsTheTrainersQuantisedLoss() {
        TrainModel m = trainer.model();
        int[] seq = new int[m.config.context() + 1];
        seq[0] = bpe.bos();
        System.arraycopy(val, 3, seq, 1, seq.length - 1);
        double trainerNll = m.meanNll(trainer.params(), seq);
        for (GgmlType type : List.of(GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.F32)) {
            double engine = EngineCheck.meanNll(export(type), seq, 2);
            System.out.printf("%s engine %.9f trainer %.9f diff %.2e%n", type, engine, trainerNll, engine - trainerNll);
            assertEquals(trainerNll, engine, 1e-5, type + ": engine " + engine + " trainer " + trainerNll);
        }
        // the validation path: same sequences, same mean
        trainer.model().prepare(trainer.params());
        double v = trainer.validate(3);
        assertEquals(v, EngineCheck.meanNll(export(GgmlType.I2_S), val, m.config.context(), 3, 2), 1e-5);
        assertTrue(trainerNll > 0.5 && trainerNll < 6, "a partly trained model: " + trainerNll);
    }
}
