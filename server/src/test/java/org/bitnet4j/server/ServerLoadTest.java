package org.bitnet4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 32 loopback clients, 3 requests each, against 4 slots: every request is answered with exactly what a single
 * Session produces for the same prompt and seed, nothing is lost, and the server is idle and healthy afterwards.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerLoadTest {
    static final int CLIENTS = 32, REQUESTS = 3, MAX_TOKENS = 12;
    static final String[] PROMPTS = {"Hello", "Write a poem about the sea", "What is 2 + 2?", "Tell me about Java"};
    static final ObjectMapper JSON = new ObjectMapper();

    record Expected(String text, int promptTokens, int completionTokens, String finish) {}

    @Test
    void thirtyTwoClientsGetTheirSingleClientAnswers() throws Exception {
        try (Model model = Model.load(BatchSchedulerTest.fixture("bitnet-b1.58-relu2-i2_s.gguf"))) {
            ChatTemplate template = ChatTemplates.forModel(model.file().metadata(), model.tokenizer);
            // the reference: one Session, one request at a time
            Map<String, Expected> expected = new ConcurrentHashMap<>();
            try (Session s = new Session(model, new SessionOptions(1, 512, 128, ActivationMode.INT8))) {
                for (int c = 0; c < CLIENTS; c++) {
                    for (int r = 0; r < REQUESTS; r++) {
                        String prompt = PROMPTS[(c + r) % PROMPTS.length];
                        long seed = seed(c, r);
                        String key = prompt + "\u0000" + seed;
                        if (expected.containsKey(key)) {
                            continue;
                        }
                        s.reset();
                        int[] ids = ChatTemplates.encodePrompt(model.tokenizer,
                                template.render(List.of(ChatMessage.user(prompt)), true));
                        GenerationResult g = s.generate(ids, new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, seed,
                                MAX_TOKENS, List.of()), t -> true);
                        expected.put(key, new Expected(g.text(), g.promptTokens(), g.generatedTokens(),
                                g.finishReason().openAiName()));
                    }
                }
            }
            try (BatchScheduler scheduler = new BatchScheduler(model, new BatchScheduler.Options(4, 512, 2, 64,
                    CLIENTS, ActivationMode.INT8));
                 OpenAiServer server = OpenAiServer.start(scheduler, template, OpenAiServer.Options.defaults("tiny").withPort(0));
                 HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                         .connectTimeout(Duration.ofSeconds(5)).build();
                 ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                URI chat = URI.create("http://127.0.0.1:" + server.port() + "/v1/chat/completions");
                List<Future<List<String>>> futures = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    futures.add(clients.submit(() -> {
                        List<String> problems = new ArrayList<>();
                        for (int r = 0; r < REQUESTS; r++) {
                            String prompt = PROMPTS[(client + r) % PROMPTS.length];
                            long seed = seed(client, r);
                            boolean stream = (client + r) % 2 == 0;
                            String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":"
                                    + JSON.writeValueAsString(prompt) + "}],\"max_tokens\":" + MAX_TOKENS + ",\"seed\":" + seed
                                    + ",\"stream\":" + stream + "}";
                            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(chat)
                                    .timeout(Duration.ofSeconds(60))
                                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                            Expected want = expected.get(prompt + "\u0000" + seed);
                            Expected got = resp.statusCode() == 200 ? (stream ? fromStream(resp.body()) : fromJson(resp.body()))
                                    : null;
                            if (!want.equals(got)) {
                                problems.add("client " + client + " request " + r + " (stream " + stream + "): status "
                                        + resp.statusCode() + ", expected " + want + ", got " + (got != null ? got : resp.body()));
                            }
                        }
                        return problems;
                    }));
                }
                List<String> problems = new ArrayList<>();
                for (Future<List<String>> f : futures) {
                    problems.addAll(f.get(100, TimeUnit.SECONDS));
                }
                assertEquals(List.of(), problems);

                BatchScheduler.Stats st = scheduler.stats();
                assertEquals(CLIENTS * REQUESTS, st.submitted());
                assertEquals(CLIENTS * REQUESTS, st.finishedStop() + st.finishedLength());
                assertEquals(0, st.rejected() + st.cancelled() + st.failed());
                assertEquals(0, st.activeSlots());
                assertEquals(0, st.queued());
                // one request at a time would need about one pass per generated token; 4 busy slots share them
                assertTrue(st.forwardPasses() < st.generatedTokens() / 2, "little batching: " + st);
                HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + server.port() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, health.statusCode());
                JsonNode h = JSON.readTree(health.body());
                assertEquals("ok", h.get("status").asText());
                assertEquals(4, h.get("slots_idle").asInt());
            }
        }
    }

    static long seed(int client, int request) {
        return 1 + (client * 7L + request) % 10; // a few seeds per prompt: repeats must agree with each other too
    }

    static Expected fromJson(String body) throws Exception {
        JsonNode j = JSON.readTree(body);
        return new Expected(j.at("/choices/0/message/content").asText(), j.at("/usage/prompt_tokens").asInt(),
                j.at("/usage/completion_tokens").asInt(), j.at("/choices/0/finish_reason").asText());
    }

    static Expected fromStream(String body) throws Exception {
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        boolean done = false;
        for (String line : body.split("\n")) {
            if (line.equals("data: [DONE]")) {
                done = true;
            } else if (line.startsWith("data: ")) {
                JsonNode e = JSON.readTree(line.substring(6));
                JsonNode c = e.at("/choices/0");
                text.append(c.at("/delta/content").asText(""));
                if (c.has("finish_reason") && !c.get("finish_reason").isNull()) {
                    finish = c.get("finish_reason").asText();
                }
                if (e.has("usage")) {
                    usage = e.get("usage");
                }
            }
        }
        if (!done || usage == null) {
            return null;
        }
        return new Expected(text.toString(), usage.get("prompt_tokens").asInt(), usage.get("completion_tokens").asInt(), finish);
    }
}
