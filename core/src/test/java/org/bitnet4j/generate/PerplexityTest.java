package org.bitnet4j.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.junit.jupiter.api.Test;

/** llama-perplexity's chunking, checked against NLLs computed from the fixtures' float64 reference logits. */
class PerplexityTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");
    // seq2 of the fixtures: BOS followed by pseudo-random ids, so one chunk of 24 tokens starting with BOS
    static final int[] SEQ2 = {510, 211, 363, 377, 210, 229, 485, 461, 265, 330, 251, 111, 363, 307, 232, 264, 316, 339,
            119, 406, 101, 26, 149, 27};

    @Test
    void oneChunkScoresTheSecondHalfAgainstFloat64Reference() throws IOException {
        byte[] b = Files.readAllBytes(FIX.resolve("refs/bitnet-b1.58-relu2-f32.f64-int8-per-token.seq2.logits.f32"));
        float[] ref = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(ref);
        int ctx = SEQ2.length, vocab = 512;
        double nll = 0;
        int n = 0;
        for (int pos = ctx / 2; pos < ctx - 1; pos++) {   // first = n_ctx/2, predicting tokens first+1 .. n_ctx-1
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, ref[pos * vocab + i]);
            }
            for (int i = 0; i < vocab; i++) {
                sum += Math.exp(ref[pos * vocab + i] - max);
            }
            nll += -(ref[pos * vocab + SEQ2[pos + 1]] - max - Math.log(sum));
            n++;
        }
        try (Model m = Model.load(FIX.resolve("bitnet-b1.58-relu2-i2_s.gguf"));
             Session s = new Session(m, new SessionOptions(2, ctx, 8, ActivationMode.INT8))) {
            // two copies of the chunk plus a partial third: two chunks are scored, the tail is ignored
            int[] text = new int[2 * ctx + 5];
            for (int i = 0; i < text.length; i++) {
                text[i] = SEQ2[i % ctx];
            }
            text[ctx] = 7; // replaced by BOS: the model adds BOS to every chunk
            Perplexity.Result r = Perplexity.compute(s, text, -1, null);
            assertEquals(2, r.chunks());
            assertEquals(2L * n, r.scored());
            assertEquals(2 * nll, r.nll(), 1e-4);
            assertEquals(Math.exp(nll / n), r.ppl(), 1e-4 * r.ppl());
        }
    }

    @Test
    void textShorterThanOneChunkIsAClearError() {
        try (Model m = Model.load(FIX.resolve("bitnet-silu-i2_s.gguf"));
             Session s = new Session(m, new SessionOptions(1, 64, 8, ActivationMode.INT8))) {
            ModelException e = assertThrows(ModelException.class, () -> Perplexity.compute(s, new int[] {510, 1, 2}, -1, null));
            assertEquals("the text has 3 tokens; perplexity needs at least one chunk of 64 tokens (use a smaller -c or a longer text)",
                    e.getMessage());
        }
    }
}
