package org.bitnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.FinishReason;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One slot and one queue place, with the scheduler held between steps by the test: a full queue answers 503,
 * and a streaming client that hangs up frees its slot.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServerBusyTest {
    static final ObjectMapper JSON = new ObjectMapper();
    Model model;
    BatchEngine engine;
    OpenAiServer server;
    final Semaphore steps = new Semaphore(0);
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() {
        model = Model.load(Fixtures.model());
        engine = new BatchEngine(model, new EngineOptions(1, 512, 1, 16, 1, ActivationMode.INT8));
        engine.beforeStep = steps::acquireUninterruptibly;
        server = OpenAiServer.start(engine, ChatTemplates.forModel(model.file().metadata(), model.tokenizer),
                OpenAiServer.Options.loopback(0, "tiny"));
    }

    @AfterEach
    void stop() {
        engine.beforeStep = null;
        steps.release(100_000);
        server.close();
        engine.close();
        model.close();
    }

    HttpRequest completion(String prompt, int maxTokens, boolean stream) {
        String body = "{\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"stream\":"
                + stream + "}";
        return HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions")).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    void await(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        for (int i = 0; i < 2000 && !cond.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        assertTrue(cond.getAsBoolean(), what);
    }

    @Test
    void aFullQueueAnswers503WithRetryAfterAndTheQueuedRequestsStillComplete() throws Exception {
        CompletableFuture<HttpResponse<String>> first = http.sendAsync(completion("first", 20, true),
                HttpResponse.BodyHandlers.ofString());
        await("first request in the slot", () -> engine.activeSlots() == 1);
        CompletableFuture<HttpResponse<String>> second = http.sendAsync(completion("second", 5, false),
                HttpResponse.BodyHandlers.ofString());
        await("second request queued", () -> engine.queueLength() == 1);

        HttpResponse<String> third = http.send(completion("third", 5, false), HttpResponse.BodyHandlers.ofString());
        assertEquals(503, third.statusCode(), third.body());
        assertEquals("1", third.headers().firstValue("Retry-After").orElse(null));
        JsonNode e = JSON.readTree(third.body()).get("error");
        assertEquals("server_error", e.get("type").asText());
        assertEquals("server_busy", e.get("code").asText());

        engine.beforeStep = null;
        steps.release(100_000);
        assertEquals(200, first.get(20, TimeUnit.SECONDS).statusCode());
        assertTrue(first.get().body().endsWith("data: [DONE]\n\n"));
        HttpResponse<String> s = second.get(20, TimeUnit.SECONDS);
        assertEquals(200, s.statusCode());
        assertEquals(5, JSON.readTree(s.body()).at("/usage/completion_tokens").asInt());
        assertEquals(1, engine.stats().requestsRejected());
    }

    @Test
    void aStreamingClientThatHangsUpFreesItsSlot() throws Exception {
        String body = "{\"prompt\":\"tell me everything\",\"max_tokens\":400,\"temperature\":1.0,\"seed\":5,\"stream\":true}";
        try (Socket sock = new Socket("127.0.0.1", server.port())) {
            sock.setSoTimeout(10_000);
            OutputStream out = sock.getOutputStream();
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            steps.release(20); // the prompt and 19 tokens, of 400
            BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertTrue(status.contains(" 200 "), status);
            boolean sawText = false;
            for (String line; !sawText && (line = in.readLine()) != null; ) {
                sawText = line.startsWith("data: {") && !JSON.readTree(line.substring(6)).at("/choices/0/text")
                        .asText().isEmpty();
            }
            assertTrue(sawText);
            assertEquals(1, engine.activeSlots());
        } // the client hangs up mid-stream
        // step the engine until the failed write cancels the request; it had 380 tokens to go
        for (int i = 0; i < 300 && engine.activeSlots() > 0; i++) {
            steps.release(1);
            Thread.sleep(3);
        }
        await("slot freed", () -> engine.activeSlots() == 0);
        assertEquals(1, engine.stats().requestsFinished(FinishReason.CANCELLED));
        assertEquals(0, engine.stats().requestsFinished(FinishReason.LENGTH));
        assertTrue(engine.stats().generatedTokens() < 400, "tokens: " + engine.stats().generatedTokens());

        // the slot serves the next request
        engine.beforeStep = null;
        steps.release(100_000);
        HttpResponse<String> r = http.send(completion("next", 4, false), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
    }
}
