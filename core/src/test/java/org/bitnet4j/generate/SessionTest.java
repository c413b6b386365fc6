package org.bitnet4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.junit.jupiter.api.Test;

class SessionTest {
    static final Path MODEL = Path.of(System.getProperty("bitnet4j.shared", "../shared"))
            .resolve("fixtures/bitnet-b1.58-relu2-tq2_0.gguf");
    static final int[] PROMPT = {510, 72, 294, 292, 345, 44, 352, 319, 257, 301, 302, 359, 342, 115, 46};

    static SessionOptions opts(int batch) {
        return new SessionOptions(2, 128, batch, ActivationMode.INT8);
    }

    @Test
    void logitsDoNotDependOnHowThePromptIsBatched() {
        try (Model m = Model.load(MODEL)) {
            float[] whole, split;
            try (Session s = new Session(m, opts(64))) {
                whole = s.append(PROMPT, null).clone();
            }
            try (Session s = new Session(m, opts(4))) {
                s.append(Arrays.copyOf(PROMPT, 6), null);
                split = s.append(Arrays.copyOfRange(PROMPT, 6, PROMPT.length), null).clone();
            }
            assertArrayEquals(Arrays.copyOf(whole, 512), Arrays.copyOf(split, 512));
        }
    }

    @Test
    void aFollowUpPromptReusesTheCachedPrefixAndGivesTheSameTokens() {
        SamplerParams p = new SamplerParams(0.7f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, 1234, 12, List.of());
        try (Model m = Model.load(MODEL)) {
            GenerationResult fresh;
            try (Session s = new Session(m, opts(16))) {
                fresh = s.generate(PROMPT, p, TokenListener.NONE);
            }
            try (Session s = new Session(m, opts(16))) {
                s.generate(Arrays.copyOf(PROMPT, 9), p.withMaxTokens(3), TokenListener.NONE);
                GenerationResult again = s.generate(PROMPT, p, TokenListener.NONE);
                assertEquals(9, again.cachedTokens());
                assertEquals(fresh.text(), again.text());
                assertEquals(fresh.generatedTokens(), again.generatedTokens());
            }
        }
    }

    @Test
    void streamedPiecesConcatenateToTheResultText() {
        try (Model m = Model.load(MODEL); Session s = new Session(m, opts(16))) {
            List<String> pieces = new ArrayList<>();
            GenerationResult r = s.generate(PROMPT, SamplerParams.GREEDY.withMaxTokens(10), t -> pieces.add(t));
            assertEquals(r.text(), String.join("", pieces));
            assertEquals(10, r.generatedTokens());
            assertEquals(FinishReason.LENGTH, r.finishReason());
        }
    }

    /**
     * Float reductions in a fixed lane order: the JIT must not change results between calls (it did with
     * reduceLanes(ADD), whose order differs between interpreted and compiled code).
     */
    @Test
    void floatPathGivesTheSameLogitsEveryTime() {
        Path f32 = MODEL.resolveSibling("bitnet-silu-f32.gguf");
        try (Model m = Model.load(f32); Session s = new Session(m, new SessionOptions(2, 64, 16, ActivationMode.FLOAT))) {
            float[] first = s.append(PROMPT, null).clone();
            for (int i = 0; i < 200; i++) {
                s.reset();
                assertArrayEquals(first, s.append(PROMPT, null), "run " + i);
            }
        }
    }

    @Test
    void contextOverflowIsAClearError() {
        try (Model m = Model.load(MODEL); Session s = new Session(m, new SessionOptions(1, 16, 8, ActivationMode.INT8))) {
            ModelException e = assertThrows(ModelException.class, () -> s.append(new int[20], null));
            assertEquals("the sequence needs 20 tokens but the context holds 16 (raise -c up to the model's 512)", e.getMessage());
            GenerationResult r = s.generate(Arrays.copyOf(PROMPT, 10), SamplerParams.GREEDY, TokenListener.NONE);
            assertEquals(FinishReason.CONTEXT, r.finishReason());
            // 6 tokens fill the cache; the logits of the 16th position still predict a 7th
            assertEquals(7, r.generatedTokens());
        }
    }
}
