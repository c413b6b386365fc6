package org.bitnet4j.serve;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 32 concurrent loopback clients, 3 requests each (half streamed), fixed seeds and max_tokens, through 4 slots
 * and the queue: every request is answered with the text one Session gives alone, and the server is idle and
 * healthy afterwards.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerLoadTest {
    static final int CLIENTS = 32, REQUESTS = 3, MAX_TOKENS = 12, CTX = 128;
    static final ObjectMapper JSON = new ObjectMapper();

    record Outcome(int status, String text, int completionTokens) {}

    @Test
    void everyClientGetsItsSingleSessionAnswer() throws Exception {
        try (Model model = Model.load(Fixtures.model());
             BatchEngine engine = new BatchEngine(model, new EngineOptions(4, CTX, 1, 32, 64, ActivationMode.INT8))) {
            OpenAiServer server = OpenAiServer.start(engine, ChatTemplates.forModel(model.file().metadata(),
                    model.tokenizer), OpenAiServer.Options.loopback(0, "tiny"));
            try (ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
                 HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                List<Future<List<Outcome>>> futures = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    futures.add(clients.submit(() -> {
                        List<Outcome> out = new ArrayList<>();
                        for (int k = 0; k < REQUESTS; k++) {
                            out.add(request(http, server.baseUrl(), client, k));
                        }
                        return out;
                    }));
                }
                for (int c = 0; c < CLIENTS; c++) {
                    List<Outcome> got = futures.get(c).get(50, TimeUnit.SECONDS);
                    for (int k = 0; k < REQUESTS; k++) {
                        Outcome o = got.get(k);
                        assertEquals(200, o.status(), "client " + c + " request " + k + ": " + o.text());
                        var want = single(model, c, k);
                        assertEquals(want.text(), o.text(), "client " + c + " request " + k);
                        assertEquals(want.generatedTokens(), o.completionTokens(), "client " + c + " request " + k);
                    }
                }
                HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/health"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, h.statusCode());
                JsonNode health = JSON.readTree(h.body());
                assertEquals("ok", health.get("status").asText());
                assertEquals(0, health.get("slots_processing").asInt());
                assertEquals(0, health.get("queue_length").asInt());
                assertEquals(CLIENTS * REQUESTS, engine.stats().requestsAdmitted());
                assertEquals(0, engine.stats().requestsRejected());
                assertTrue(engine.stats().steps() < CLIENTS * REQUESTS * (MAX_TOKENS + 1),
                        "requests shared forward passes: " + engine.stats().steps() + " steps");
            } finally {
                server.close();
            }
        }
    }

    static String prompt(int client, int k) {
        return "Client " + client + " asks question number " + k + ":";
    }

    static long seed(int client, int k) {
        return 1000L * client + k;
    }

    static Outcome request(HttpClient http, String base, int client, int k) throws Exception {
        boolean stream = (client + k) % 2 == 0;
        String body = "{\"prompt\":\"" + prompt(client, k) + "\",\"max_tokens\":" + MAX_TOKENS + ",\"temperature\":0.8,"
                + "\"seed\":" + seed(client, k) + ",\"stream\":" + stream + "}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .timeout(Duration.ofSeconds(40)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            return new Outcome(r.statusCode(), r.body(), -1);
        }
        if (!stream) {
            JsonNode j = JSON.readTree(r.body());
            return new Outcome(200, j.at("/choices/0/text").asText(), j.at("/usage/completion_tokens").asInt());
        }
        StringBuilder text = new StringBuilder();
        int tokens = -1;
        for (String event : OpenAiServerTest.sse(r.body())) {
            if (event.equals("[DONE]")) {
                break;
            }
            JsonNode c = JSON.readTree(event);
            text.append(c.at("/choices/0/text").asText());
            if (c.has("usage")) {
                tokens = c.at("/usage/completion_tokens").asInt();
            }
        }
        return new Outcome(200, text.toString(), tokens);
    }

    static org.bitnet4j.generate.GenerationResult single(Model model, int client, int k) {
        SamplerParams d = SamplerParams.DEFAULT;
        SamplerParams p = new SamplerParams(0.8f, d.topK(), d.topP(), d.minP(), d.repeatPenalty(), d.repeatLastN(), 0f, 0f,
                seed(client, k), MAX_TOKENS, List.of());
        try (Session s = new Session(model, new SessionOptions(1, CTX, 64, ActivationMode.INT8))) {
            return s.generate(ChatTemplates.encodePrompt(model.tokenizer, prompt(client, k)), p, t -> true);
        }
    }
}
