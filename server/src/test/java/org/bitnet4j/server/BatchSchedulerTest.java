package org.bitnet4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.FinishReason;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The continuous-batching scheduler against single-sequence Session runs of the same requests. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BatchSchedulerTest {
    static Model model;
    static Session reference;

    @BeforeAll
    static void load() {
        model = Model.load(fixture("bitnet-b1.58-relu2-i2_s.gguf"));
        reference = new Session(model, new SessionOptions(1, 512, 128, ActivationMode.INT8));
    }

    @AfterAll
    static void close() {
        reference.close();
        model.close();
    }

    static Path fixture(String name) {
        return Path.of(System.getProperty("bitnet4j.shared", "../../shared"), "fixtures", name);
    }

    /** What a Session alone produces: text, streamed pieces, finish reason and counts (cache reset first). */
    static Run alone(int[] prompt, SamplerParams p) {
        reference.reset();
        List<String> pieces = new ArrayList<>();
        GenerationResult r = reference.generate(prompt, p, t -> pieces.add(t));
        return new Run(r.text(), String.join("", pieces), r.finishReason(), r.generatedTokens());
    }

    record Run(String text, String streamed, FinishReason reason, int generated) {}

    static Run collect(Generation g) throws InterruptedException {
        StringBuilder streamed = new StringBuilder();
        GenerationResult r = g.await(t -> {
            streamed.append(t);
            return true;
        });
        return new Run(r.text(), streamed.toString(), r.finishReason(), r.generatedTokens());
    }

    static SamplerParams sampled(long seed, int maxTokens) {
        return new SamplerParams(0.9f, 40, 0.95f, 0.05f, 1.1f, 64, 0.2f, 0.1f, seed, maxTokens, List.of());
    }

    int[] tokens(String text) {
        return model.tokenizer.encode(text, true, false);
    }

    @Test
    void fourBusySlotsGiveTheTokensOfEachRequestAlone() throws Exception {
        String[] texts = {"The quick brown fox", "Once upon a time there was a little", "Hello", "In the beginning"};
        SamplerParams[] params = {SamplerParams.GREEDY.withMaxTokens(40), sampled(7, 40), sampled(1234, 33),
                sampled(99, 47)};
        Run[] expected = new Run[4];
        for (int i = 0; i < 4; i++) {
            expected[i] = alone(tokens(texts[i]), params[i]);
        }
        // a batch of 4 rows: prompts are cut into chunks and share passes with the other slots' decode rows
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(4, 512, 2, 4, 8, ActivationMode.INT8))) {
            Semaphore gate = new Semaphore(0);
            s.stepGate(gate);
            Generation[] gs = new Generation[4];
            for (int i = 0; i < 4; i++) {
                gs[i] = s.submit(tokens(texts[i]), params[i]);
            }
            s.stepGate(null);
            gate.release(1_000_000);
            for (int i = 0; i < 4; i++) {
                Run got = collect(gs[i]);
                assertEquals(expected[i], got, "request " + i);
                assertEquals(got.text(), got.streamed());
            }
            BatchScheduler.Stats st = s.stats();
            long rows = st.batchRows();
            // the passes were shared: fewer passes than rows, and more than one row per pass on average
            assertTrue(st.forwardPasses() < rows / 2, st.forwardPasses() + " passes for " + rows + " rows");
            assertEquals(0, st.activeSlots());
        }
    }

    @Test
    void requestsArrivingWhileOthersDecodeAreUnaffected() throws Exception {
        // staggered arrivals: new prompts are prefilled in the same passes as the running slots' decode rows
        List<int[]> prompts = new ArrayList<>();
        List<SamplerParams> params = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            prompts.add(tokens("request number " + i + " asks about " + "abcdefgh".repeat(i + 1)));
            params.add(sampled(1000 + i, 20 + 3 * i));
        }
        List<Run> expected = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            expected.add(alone(prompts.get(i), params.get(i)));
        }
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(3, 512, 2, 16, 16, ActivationMode.INT8))) {
            List<Generation> gs = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                gs.add(s.submit(prompts.get(i), params.get(i)));
                if (i % 2 == 1) {
                    // let the first ones get going before the next arrive
                    Generation.Event e = gs.get(i).poll(10, TimeUnit.SECONDS);
                    assertInstanceOf(Generation.Text.class, e);
                    gs.set(i, prepend((Generation.Text) e, gs.get(i)));
                }
            }
            for (int i = 0; i < gs.size(); i++) {
                assertEquals(expected.get(i), collect(gs.get(i)), "request " + i);
            }
        }
    }

    /** Re-queues an event already taken so collect() sees the whole stream. */
    private static Generation prepend(Generation.Text first, Generation g) throws InterruptedException {
        Generation copy = new Generation(g.prompt, g.params);
        copy.emit(first.text());
        while (true) {
            Generation.Event e = g.take();
            switch (e) {
                case Generation.Text t -> copy.emit(t.text());
                case Generation.Done d -> {
                    copy.complete(d.result());
                    return copy;
                }
                case Generation.Failed f -> {
                    copy.fail(f.message());
                    return copy;
                }
            }
        }
    }

    @Test
    void aFollowUpPromptReusesTheSlotCacheAndGivesTheSameAnswer() throws Exception {
        int[] first = tokens("User: tell me a story<|eot_id|>Assistant: ");
        SamplerParams p = sampled(5, 24);
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(2, 512, 1, 32, 4, ActivationMode.INT8))) {
            GenerationResult r1 = s.submit(first, p).await(t -> true);
            assertEquals(0, r1.cachedTokens());
            int[] second = concat(first, tokens(r1.text() + "<|eot_id|>User: and then?<|eot_id|>Assistant: "));
            GenerationResult r2 = s.submit(second, p).await(t -> true);
            // the slot still holds the first prompt (and answer tokens that match): they are not evaluated again
            assertTrue(r2.cachedTokens() >= first.length, "cached " + r2.cachedTokens());
            Run alone = alone(second, p);
            assertEquals(alone.text(), r2.text());
            assertEquals(alone.generated(), r2.generatedTokens());
        }
    }

    @Test
    void stopStringsAndEndTokensEndAGenerationAsInASession() throws Exception {
        int[] prompt = tokens("The story goes");
        Run free = alone(prompt, SamplerParams.GREEDY.withMaxTokens(60));
        assertTrue(free.text().length() > 12, free.text());
        String stop = free.text().substring(8, 11);
        SamplerParams withStop = SamplerParams.GREEDY.withMaxTokens(60).withStop(List.of(stop, "\u0000never"));
        Run expected = alone(prompt, withStop);
        assertEquals(FinishReason.STOP, expected.reason());
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(2, 512, 1, 32, 4, ActivationMode.INT8))) {
            Generation other = s.submit(tokens("busy neighbour"), sampled(3, 50));
            Run got = collect(s.submit(prompt, withStop));
            assertEquals(expected, got);
            assertTrue(!got.text().contains(stop) && got.text().length() <= free.text().indexOf(stop));
            collect(other);
        }
    }

    @Test
    void aGenerationThatFillsTheContextEndsWithLength() throws Exception {
        int[] prompt = tokens("x".repeat(10));
        Run expected;
        try (Session small = new Session(model, new SessionOptions(1, 24, 8, ActivationMode.INT8))) {
            GenerationResult r = small.generate(prompt, sampled(1, -1), t -> true);
            expected = new Run(r.text(), r.text(), r.finishReason(), r.generatedTokens());
        }
        assertEquals(FinishReason.CONTEXT, expected.reason());
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(1, 24, 1, 8, 2, ActivationMode.INT8))) {
            Run got = collect(s.submit(prompt, sampled(1, -1)));
            assertEquals(expected, got);
            assertEquals(24 - prompt.length + 1, got.generated()); // the last token is sampled, never evaluated
            assertThrows(IllegalArgumentException.class, () -> s.submit(new int[24], SamplerParams.GREEDY));
            assertThrows(IllegalArgumentException.class, () -> s.submit(new int[0], SamplerParams.GREEDY));
            assertThrows(IllegalArgumentException.class, () -> s.submit(new int[] {1, 512}, SamplerParams.GREEDY));
        }
    }

    @Test
    void aFullQueueIsRefusedAndCancelledRequestsFreeTheirSlot() throws Exception {
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(1, 512, 1, 8, 1, ActivationMode.INT8))) {
            Semaphore gate = new Semaphore(0);
            s.stepGate(gate);
            Generation running = s.submit(tokens("one"), sampled(1, 400));
            Generation waiting = s.submit(tokens("two"), sampled(2, 5));
            QueueFullException full = assertThrows(QueueFullException.class, () -> s.submit(tokens("three"), sampled(3, 5)));
            assertTrue(full.retryAfterSeconds() >= 1);
            assertEquals(1, s.stats().rejected());
            gate.release(3); // prefill of "one" plus a couple of tokens
            running.cancel();
            gate.release(1_000_000);
            GenerationResult r = running.await(t -> true);
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertTrue(r.generatedTokens() < 400, "generated " + r.generatedTokens());
            assertEquals(FinishReason.LENGTH, waiting.await(t -> true).finishReason());
            assertEquals(1, s.stats().cancelled());
            assertEquals(0, s.stats().activeSlots());
            // a listener that says stop cancels too
            GenerationResult stopped = s.submit(tokens("four"), sampled(4, 300)).await(t -> false);
            assertEquals(FinishReason.CANCELLED, stopped.finishReason());
        }
    }

    private static int[] concat(int[] a, int[] b) {
        // b starts with BOS (encode adds it): drop it, the conversation goes on
        int skip = b.length > 0 && b[0] == model.tokenizer.bos() ? 1 : 0;
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length - skip);
        System.arraycopy(b, skip, out, a.length, b.length - skip);
        return out;
    }
}
