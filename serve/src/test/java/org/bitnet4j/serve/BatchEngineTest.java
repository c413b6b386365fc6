package org.bitnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BatchEngineTest {
    static final int CTX = 256;
    static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(Fixtures.model());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Collects a request's events; completes when the engine is done with it. */
    static final class Collect implements GenerationSink {
        final StringBuilder pieces = new StringBuilder();
        final CompletableFuture<Completion> done = new CompletableFuture<>();
        volatile int textEvents;

        @Override
        public void onText(String text) {
            pieces.append(text);
            textEvents++;
        }

        @Override
        public void onDone(Completion c) {
            done.complete(c);
        }

        @Override
        public void onError(RuntimeException e) {
            done.completeExceptionally(e);
        }
    }

    static SamplerParams params(float temp, long seed, int max, List<String> stop) {
        return new SamplerParams(temp, 40, 0.95f, 0.05f, 1.1f, 64, 0.1f, 0.05f, seed, max, stop);
    }

    static GenerationResult single(int[] prompt, SamplerParams p) {
        try (Session s = new Session(model, new SessionOptions(1, CTX, 128, ActivationMode.INT8))) {
            return s.generate(prompt, p, t -> true);
        }
    }

    static int[] prompt(String text) {
        return model.tokenizer.encode(text, true, false);
    }

    @Test
    void batchedOutputEqualsASingleSessionForEveryRequest() throws Exception {
        // 7 requests on 3 slots with 8 rows per step: prompts are prefilled in chunks beside other slots' decode
        // rows, requests queue and take over freed slots; each must still equal its own Session run
        String[] texts = {"Hello there, how are you today?", "The capital of France is", "a",
                "Once upon a time in a land far away there lived a", "1 2 3 4 5 6 7 8 9 10 11 12", "zzz", "What is BitNet?"};
        List<SamplerParams> ps = List.of(params(0f, 0, 40, List.of()), params(0.8f, 1, 50, List.of()),
                params(1.0f, 2, 30, List.of()), params(0.7f, 3, 60, List.of("e")), params(0f, 4, 25, List.of("th", "an")),
                params(1.2f, 5, 70, List.of()), params(0.9f, 6, CTX, List.of()));
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(3, CTX, 1, 8, 16, ActivationMode.INT8))) {
            List<Collect> sinks = new ArrayList<>();
            for (int i = 0; i < texts.length; i++) {
                Collect c = new Collect();
                engine.submit(prompt(texts[i]), ps.get(i), c);
                sinks.add(c);
            }
            for (int i = 0; i < texts.length; i++) {
                Completion got = sinks.get(i).done.get(20, TimeUnit.SECONDS);
                GenerationResult want = single(prompt(texts[i]), ps.get(i));
                assertEquals(want.text(), got.text(), "request " + i);
                assertEquals(want.text(), sinks.get(i).pieces.toString(), "streamed pieces of request " + i);
                assertEquals(want.finishReason(), got.finishReason(), "request " + i);
                assertEquals(want.generatedTokens(), got.completionTokens(), "request " + i);
                assertEquals(want.promptTokens(), got.promptTokens(), "request " + i);
            }
            assertTrue(engine.stats().steps() > 0);
            assertEquals(0, engine.activeSlots());
        }
    }

    @Test
    void aFollowUpReusesTheCachedPrefixOfItsSlotAndStillEqualsTheSession() throws Exception {
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(2, CTX, 1, 16, 4, ActivationMode.INT8))) {
            int[] first = prompt("User: tell me about ternary weights. Assistant:");
            Collect a = new Collect();
            engine.submit(first, params(0f, 0, 12, List.of()), a);
            Completion ca = a.done.get(10, TimeUnit.SECONDS);
            assertEquals(0, ca.cachedTokens());
            // the next turn: the first prompt, the answer, a new question
            int[] answer = model.tokenizer.encode(ca.text(), false, false);
            int[] more = model.tokenizer.encode(" User: and then? Assistant:", false, false);
            int[] second = new int[first.length + answer.length + more.length];
            System.arraycopy(first, 0, second, 0, first.length);
            System.arraycopy(answer, 0, second, first.length, answer.length);
            System.arraycopy(more, 0, second, first.length + answer.length, more.length);
            long evaluatedBefore = engine.stats().promptTokens();
            Collect b = new Collect();
            SamplerParams pb = params(0.8f, 3, 20, List.of());
            engine.submit(second, pb, b);
            Completion cb = b.done.get(10, TimeUnit.SECONDS);
            assertTrue(cb.cachedTokens() >= first.length, "reused " + cb.cachedTokens() + " of " + second.length);
            assertEquals(second.length - cb.cachedTokens(), engine.stats().promptTokens() - evaluatedBefore);
            GenerationResult want = single(second, pb);
            assertEquals(want.text(), cb.text());
            assertEquals(want.generatedTokens(), cb.completionTokens());

            // the same prompt again: everything but the last token comes from the cache
            Collect c = new Collect();
            engine.submit(second, pb, c);
            Completion cc = c.done.get(10, TimeUnit.SECONDS);
            assertEquals(second.length - 1, cc.cachedTokens());
            assertEquals(want.text(), cc.text());
        }
    }

    @Test
    void aContextFullRequestEndsLikeTheSession() throws Exception {
        int[] p = prompt("Fill the context please");
        SamplerParams sp = params(1.0f, 9, -1, List.of());
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(2, 64, 1, 16, 4, ActivationMode.INT8))) {
            Collect c = new Collect();
            engine.submit(p, sp, c);
            Completion got = c.done.get(20, TimeUnit.SECONDS);
            GenerationResult want;
            try (Session s = new Session(model, new SessionOptions(1, 64, 128, ActivationMode.INT8))) {
                want = s.generate(p, sp, t -> true);
            }
            assertEquals(want.text(), got.text());
            assertEquals(want.finishReason(), got.finishReason());
            assertEquals(want.generatedTokens(), got.completionTokens());
        }
    }

    @Test
    void aFullQueueIsRefusedAndCancelledRequestsFreeTheirSlot() throws Exception {
        Semaphore steps = new Semaphore(0);
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(1, CTX, 1, 32, 1, ActivationMode.INT8))) {
            engine.beforeStep = () -> steps.acquireUninterruptibly();
            Collect first = new Collect();
            BatchEngine.Job job = engine.submit(prompt("first"), params(0.8f, 1, 200, List.of()), first);
            Collect second = new Collect();
            engine.submit(prompt("second"), params(0f, 1, 5, List.of()), second);
            // one slot + one queue place are taken: the third is refused
            assertThrows(QueueFullException.class, () -> engine.submit(prompt("third"), params(0f, 1, 5, List.of()),
                    new Collect()));
            assertEquals(1, engine.stats().requestsRejected());
            steps.release(3);  // prefill and two decode steps
            while (first.textEvents == 0 && steps.availablePermits() > 0) {
                Thread.sleep(5);
            }
            job.cancel();
            engine.beforeStep = null;
            steps.release(1000);
            Completion c = first.done.get(10, TimeUnit.SECONDS);
            assertEquals(FinishReason.CANCELLED, c.finishReason());
            assertTrue(c.completionTokens() < 200, "cancelled before max tokens: " + c.completionTokens());
            Completion s = second.done.get(10, TimeUnit.SECONDS);
            assertEquals(single(prompt("second"), params(0f, 1, 5, List.of())).text(), s.text());
        }
    }

    @Test
    void promptsThatDoNotFitAreRefusedOnSubmit() {
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(1, 16, 1, 8, 1, ActivationMode.INT8))) {
            int[] longPrompt = new int[16];
            var e = assertThrows(IllegalArgumentException.class, () -> engine.submit(longPrompt, SamplerParams.GREEDY,
                    new Collect()));
            assertTrue(e.getMessage().contains("16 tokens"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> engine.submit(new int[0], SamplerParams.GREEDY, new Collect()));
            assertThrows(IllegalArgumentException.class, () -> engine.submit(new int[] {512}, SamplerParams.GREEDY,
                    new Collect()));
        }
    }

    @Test
    void closingFailsRunningAndWaitingRequests() {
        Semaphore steps = new Semaphore(0);
        Collect running = new Collect();
        Collect waiting = new Collect();
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(1, CTX, 1, 8, 2, ActivationMode.INT8))) {
            engine.beforeStep = () -> {
                try {
                    steps.acquire(); // held here until close() interrupts the scheduler
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            engine.submit(prompt("one"), params(0f, 1, 100, List.of()), running);
            engine.submit(prompt("two"), params(0f, 1, 100, List.of()), waiting);
        }
        for (Collect c : List.of(running, waiting)) {
            var e = assertThrows(Exception.class, () -> c.done.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("shutting down"), e.toString());
        }
    }

    @Test
    void aClosedEngineRefusesNewRequests() {
        BatchEngine engine = new BatchEngine(model, new EngineOptions(1, CTX, 1, 8, 2, ActivationMode.INT8));
        assertTrue(engine.alive());
        engine.close();
        assertFalse(engine.alive());
        assertThrows(IllegalStateException.class, () -> engine.submit(prompt("late"), SamplerParams.GREEDY, new Collect()));
    }

    @Test
    void aFailingStepFailsOnlyTheRequestsInFlightAndTheEngineGoesOn() throws Exception {
        try (BatchEngine engine = new BatchEngine(model, new EngineOptions(2, CTX, 1, 8, 2, ActivationMode.INT8))) {
            java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean(true);
            engine.beforeStep = () -> {
                if (once.getAndSet(false)) {
                    throw new IllegalStateException("injected");
                }
            };
            Collect hit = new Collect();
            engine.submit(prompt("unlucky"), params(0f, 0, 5, List.of()), hit);
            var e = assertThrows(Exception.class, () -> hit.done.get(5, TimeUnit.SECONDS));
            assertEquals("injected", e.getCause().getMessage());
            assertEquals(1, engine.stats().requestsFailed());
            Collect next = new Collect();
            engine.submit(prompt("lucky"), params(0f, 0, 5, List.of()), next);
            assertEquals(single(prompt("lucky"), params(0f, 0, 5, List.of())).text(), next.done.get(5, TimeUnit.SECONDS).text());
            assertTrue(engine.alive());
        }
    }
}
