package org.bitnet4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.AuthenticationException;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The HTTP API end to end on loopback: langchain4j's OpenAI client (blocking and streaming) against answers
 * computed by a single Session, and every error status through raw HTTP.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenAiServerTest {
    static final String KEY = "sk-test-1234";
    static final long MAX_BODY = 64 * 1024;
    static Model model;
    static ChatTemplate template;
    static Session reference;
    static BatchScheduler scheduler;
    static OpenAiServer server;
    static HttpClient http;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() {
        model = Model.load(BatchSchedulerTest.fixture("bitnet-b1.58-relu2-i2_s.gguf"));
        template = ChatTemplates.forModel(model.file().metadata(), model.tokenizer);
        reference = new Session(model, new SessionOptions(1, 512, 128, ActivationMode.INT8));
        scheduler = new BatchScheduler(model, new BatchScheduler.Options(4, 512, 2, 64, 16, ActivationMode.INT8));
        server = OpenAiServer.start(scheduler, template, new OpenAiServer.Options("127.0.0.1", 0, KEY, "tiny-bitnet",
                MAX_BODY, 10));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        server.close();
        scheduler.close();
        reference.close();
        model.close();
        http.close();
    }

    static String base() {
        return "http://127.0.0.1:" + server.port();
    }

    /** A Session's answer for a chat, from a clean cache. */
    static GenerationResult alone(List<ChatMessage> messages, SamplerParams p) {
        reference.reset();
        return reference.generate(ChatTemplates.encodePrompt(model.tokenizer, template.render(messages, true)), p, t -> true);
    }

    static GenerationResult aloneCompletion(String prompt, SamplerParams p) {
        reference.reset();
        return reference.generate(model.tokenizer.encode(prompt, true, true), p, t -> true);
    }

    static OpenAiChatModel.OpenAiChatModelBuilder client() {
        return OpenAiChatModel.builder().baseUrl(server.baseUrl()).apiKey(KEY).modelName("tiny-bitnet").maxRetries(0)
                .timeout(Duration.ofSeconds(30));
    }

    // ---- the OpenAI client ----

    @Test
    void openAiClientGetsTheGreedyAnswerOfASession() {
        OpenAiChatModel chat = client().temperature(0.0).maxTokens(24).build();
        ChatResponse r = chat.chat(SystemMessage.from("You are terse."), UserMessage.from("Hello there"));
        GenerationResult expected = alone(List.of(ChatMessage.system("You are terse."), ChatMessage.user("Hello there")),
                SamplerParams.GREEDY.withMaxTokens(24));
        assertEquals(expected.text(), r.aiMessage().text());
        assertEquals(expected.promptTokens(), r.tokenUsage().inputTokenCount());
        assertEquals(expected.generatedTokens(), r.tokenUsage().outputTokenCount());
        assertEquals(expected.finishReason() == org.bitnet4j.generate.FinishReason.STOP ? FinishReason.STOP
                : FinishReason.LENGTH, r.finishReason());
        assertEquals("tiny-bitnet", r.modelName());
    }

    @Test
    void seededSamplingThroughTheClientIsReproducible() {
        OpenAiChatModel chat = client().temperature(0.9).topP(0.9).seed(42).maxTokens(30).build();
        String a = chat.chat("Tell me something").trim();
        SamplerParams p = new SamplerParams(0.9f, 40, 0.9f, 0.05f, 1f, 64, 0f, 0f, 42, 30, List.of());
        assertEquals(alone(List.of(ChatMessage.user("Tell me something")), p).text().trim(), a);
        assertEquals(a, chat.chat("Tell me something").trim());
    }

    @Test
    void streamingClientReceivesTheSameTextInPieces() throws Exception {
        OpenAiStreamingChatModel chat = OpenAiStreamingChatModel.builder().baseUrl(server.baseUrl()).apiKey(KEY)
                .modelName("tiny-bitnet").temperature(0.7).seed(7).maxTokens(40).timeout(Duration.ofSeconds(30)).build();
        List<String> pieces = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        chat.chat("Stream a story", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                pieces.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(30, TimeUnit.SECONDS);
        SamplerParams p = new SamplerParams(0.7f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, 7, 40, List.of());
        GenerationResult expected = alone(List.of(ChatMessage.user("Stream a story")), p);
        assertEquals(expected.text(), String.join("", pieces));
        assertEquals(expected.text(), r.aiMessage().text());
        // (how many pieces depends on timing: text that piles up while the client is busy comes as one chunk)
        assertTrue(!pieces.isEmpty());
        assertEquals(expected.generatedTokens(), r.tokenUsage().outputTokenCount());
        assertEquals(expected.promptTokens(), r.tokenUsage().inputTokenCount());
    }

    @Test
    void clientErrorsMapToTheClientsExceptions() {
        OpenAiChatModel wrongKey = OpenAiChatModel.builder().baseUrl(server.baseUrl()).apiKey("sk-wrong")
                .modelName("x").maxRetries(0).build();
        assertThrows(AuthenticationException.class, () -> wrongKey.chat("hi"));
        OpenAiChatModel tooMany = client().maxTokens(100_000).build();
        assertThrows(InvalidRequestException.class, () -> tooMany.chat("hi"));
    }

    // ---- raw HTTP: responses ----

    @Test
    void completionsStreamAndNonStreamAgreeWithASession() throws Exception {
        SamplerParams p = new SamplerParams(0.8f, 20, 0.95f, 0.05f, 1f, 64, 0f, 0f, 11, 16, List.of());
        GenerationResult expected = aloneCompletion("Once upon a time", p);
        String body = "{\"model\":\"tiny-bitnet\",\"prompt\":[\"Once upon a time\"],\"max_tokens\":16,\"seed\":11,"
                + "\"top_k\":20,\"temperature\":0.8,\"unknown_field\":{\"x\":1}}";
        HttpResponse<String> r = post("/v1/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        assertEquals("text_completion", j.get("object").asText());
        assertEquals(expected.text(), j.at("/choices/0/text").asText());
        assertEquals("length", j.at("/choices/0/finish_reason").asText());
        assertEquals(expected.promptTokens(), j.at("/usage/prompt_tokens").asInt());
        assertEquals(16, j.at("/usage/completion_tokens").asInt());
        assertEquals(expected.promptTokens() + 16, j.at("/usage/total_tokens").asInt());

        HttpResponse<String> s = post("/v1/completions", body.replace("{\"model\"", "{\"stream\":true,\"model\""));
        assertEquals(200, s.statusCode());
        assertTrue(s.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = sse(s.body());
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events) {
            text.append(e.at("/choices/0/text").asText());
        }
        assertEquals(expected.text(), text.toString());
        JsonNode last = events.getLast();
        assertEquals("length", last.at("/choices/0/finish_reason").asText());
        assertEquals(16, last.at("/usage/completion_tokens").asInt());
        assertTrue(s.body().strip().endsWith("data: [DONE]"));
    }

    @Test
    void chatStreamStartsWithTheRoleAndEndsWithFinishReasonUsageAndDone() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}],"
                + "\"stream\":true,\"max_completion_tokens\":10,\"temperature\":0,\"stream_options\":{\"include_usage\":true}}";
        HttpResponse<String> s = post("/v1/chat/completions", body);
        assertEquals(200, s.statusCode());
        List<JsonNode> events = sse(s.body());
        assertEquals("assistant", events.getFirst().at("/choices/0/delta/role").asText());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode e : events) {
            assertEquals("chat.completion.chunk", e.get("object").asText());
            assertEquals(events.getFirst().get("id").asText(), e.get("id").asText());
            JsonNode c = e.at("/choices/0");
            if (!c.isMissingNode()) {
                text.append(c.at("/delta/content").asText(""));
                if (!c.get("finish_reason").isNull()) {
                    finish = c.get("finish_reason").asText();
                }
            }
        }
        GenerationResult expected = alone(List.of(ChatMessage.user("Hi")), SamplerParams.GREEDY.withMaxTokens(10));
        assertEquals(expected.text(), text.toString());
        assertEquals(expected.finishReason().openAiName(), finish);
        JsonNode usage = events.getLast(); // include_usage: a last chunk with empty choices and the usage
        assertEquals(0, usage.get("choices").size());
        assertEquals(expected.generatedTokens(), usage.at("/usage/completion_tokens").asInt());
    }

    @Test
    void stopStringsCutTheAnswer() throws Exception {
        GenerationResult free = aloneCompletion("The", SamplerParams.GREEDY.withMaxTokens(40));
        String stop = free.text().substring(6, 9);
        GenerationResult expected = aloneCompletion("The", SamplerParams.GREEDY.withMaxTokens(40).withStop(List.of(stop)));
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"The\",\"max_tokens\":40,\"temperature\":0,\"stop\":"
                + JSON.writeValueAsString(stop) + "}");
        JsonNode j = JSON.readTree(r.body());
        assertEquals(expected.text(), j.at("/choices/0/text").asText());
        assertEquals("stop", j.at("/choices/0/finish_reason").asText());
        assertFalse(j.at("/choices/0/text").asText().contains(stop));
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        HttpResponse<String> m = get("/v1/models", KEY);
        assertEquals(200, m.statusCode());
        assertEquals("tiny-bitnet", JSON.readTree(m.body()).at("/data/0/id").asText());
        assertEquals(200, get("/v1/models/tiny-bitnet", KEY).statusCode());
        assertError(get("/v1/models/gpt-9", KEY), 404, "model", "model_not_found");
        HttpResponse<String> h = get("/health", null); // open without the key, like llama.cpp's
        assertEquals(200, h.statusCode());
        JsonNode hj = JSON.readTree(h.body());
        assertEquals("ok", hj.get("status").asText());
        assertEquals(4, hj.get("slots_idle").asInt() + hj.get("slots_processing").asInt());
        post("/v1/completions", "{\"prompt\":\"metrics\",\"max_tokens\":3}");
        HttpResponse<String> met = get("/metrics", null);
        assertEquals(200, met.statusCode());
        assertTrue(met.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        String text = met.body();
        for (String series : List.of("bitnet4j_requests_total{endpoint=\"/v1/completions\",status=\"200\"} ",
                "bitnet4j_tokens_generated_total ", "bitnet4j_prompt_tokens_total ", "bitnet4j_queue_length 0",
                "bitnet4j_slots_total 4", "bitnet4j_slots_active ", "bitnet4j_tokens_per_second ")) {
            assertTrue(text.contains(series), series + " missing in\n" + text);
        }
        long generated = Long.parseLong(text.lines().filter(l -> l.startsWith("bitnet4j_tokens_generated_total "))
                .findFirst().orElseThrow().split(" ")[1]);
        assertTrue(generated >= 3, text);
    }

    // ---- raw HTTP: every error ----

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(post("/v1/chat/completions", "{\"messages\": [}"), 400, null, null);
        assertError(post("/v1/chat/completions", "{\"messages\": []} trailing"), 400, null, null);
        assertError(post("/v1/chat/completions", ""), 400, null, null);
        assertError(post("/v1/chat/completions", "[1,2]"), 400, null, null);
    }

    @Test
    void missingFieldsAre400() throws Exception {
        assertError(post("/v1/chat/completions", "{\"model\":\"x\"}"), 400, "messages", null);
        assertError(post("/v1/completions", "{\"model\":\"x\"}"), 400, "prompt", null);
        assertError(post("/v1/chat/completions", "{\"messages\":[]}"), 400, "messages", null);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"content\":\"x\"}]}"), 400, "messages[0].role", null);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\"}]}"), 400, "messages[0].content", null);
    }

    @Test
    void wrongTypesAndUnsupportedValuesAre400() throws Exception {
        String user = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
        assertError(post("/v1/chat/completions", "{" + user + ",\"temperature\":\"hot\"}"), 400, "temperature", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"temperature\":3}"), 400, "temperature", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"top_p\":1.5}"), 400, "top_p", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"top_k\":2.5}"), 400, "top_k", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"stream\":\"yes\"}"), 400, "stream", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"stop\":5}"), 400, "stop", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"stop\":[\"\"]}"), 400, "stop", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"seed\":\"1\"}"), 400, "seed", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"n\":2}"), 400, "n", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"presence_penalty\":5}"), 400, "presence_penalty", null);
        assertError(post("/v1/chat/completions", "{\"messages\":\"hi\"}"), 400, "messages", null);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}"), 400,
                "messages[0].role", null);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}"),
                400, "messages[0].content[0].type", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"tools\":[{\"type\":\"function\"}]}"), 400, "tools", null);
        assertError(post("/v1/chat/completions", "{" + user + ",\"response_format\":{\"type\":\"json_object\"}}"), 400,
                "response_format.type", null);
        assertError(post("/v1/completions", "{\"prompt\":[\"a\",\"b\"]}"), 400, "prompt", null);
        assertError(post("/v1/completions", "{\"prompt\":7}"), 400, "prompt", null);
        assertError(post("/v1/completions", "{\"prompt\":[1, 99999]}"), 400, "prompt", null);
        assertError(post("/v1/completions", "{\"prompt\":\"a\",\"stream_options\":3}"), 400, "stream_options", null);
    }

    @Test
    void maxTokensOutOfRangeIs400() throws Exception {
        assertError(post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":0}"), 400, "max_tokens", null);
        assertError(post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":-5}"), 400, "max_tokens", null);
        assertError(post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":513}"), 400, "max_tokens", null);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"max_completion_tokens\":100000}"), 400, "max_completion_tokens", null);
        assertEquals(200, post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":1}").statusCode());
    }

    @Test
    void promptLongerThanTheContextIs400() throws Exception {
        StringBuilder words = new StringBuilder();
        for (int i = 0; words.length() < 6000; i++) {
            words.append(Integer.toString(i * 7919, 36)).append(' ');
        }
        assertTrue(model.tokenizer.encode(words.toString(), true, true).length > 512);
        assertError(post("/v1/completions", "{\"prompt\":" + JSON.writeValueAsString(words.toString()) + "}"), 400,
                "prompt", "context_length_exceeded");
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":"
                + JSON.writeValueAsString(words.toString()) + "}]}"), 400, "messages", "context_length_exceeded");
    }

    @Test
    void missingOrWrongApiKeyIs401() throws Exception {
        String body = "{\"prompt\":\"a\",\"max_tokens\":1}";
        HttpResponse<String> none = send(HttpRequest.newBuilder(URI.create(base() + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertError(none, 401, null, "invalid_api_key");
        assertEquals("Bearer", none.headers().firstValue("www-authenticate").orElse(null));
        HttpResponse<String> wrong = send(HttpRequest.newBuilder(URI.create(base() + "/v1/completions"))
                .header("Authorization", "Bearer sk-test-1235").POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertError(wrong, 401, null, "invalid_api_key");
        assertError(get("/v1/models", "nope"), 401, null, "invalid_api_key");
        assertError(get("/v1/models", null), 401, null, "invalid_api_key");
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        String big = "{\"prompt\":\"" + "a".repeat((int) MAX_BODY) + "\"}";
        assertError(post("/v1/completions", big), 413, null, "request_too_large");
        // without a Content-Length (chunked), the limit is found while reading
        byte[] bytes = big.getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> chunked = send(HttpRequest.newBuilder(URI.create(base() + "/v1/completions"))
                .header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes))).build());
        assertError(chunked, 413, null, "request_too_large");
        // the server is fine afterwards
        assertEquals(200, post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":1}").statusCode());
    }

    @Test
    void unknownRoutesAre404AndWrongMethods405() throws Exception {
        assertError(post("/v1/embeddings", "{}"), 404, null, "unknown_url");
        assertError(get("/nothing/here", KEY), 404, null, "unknown_url");
        HttpResponse<String> m = get("/v1/chat/completions", KEY);
        assertError(m, 405, null, "method_not_allowed");
        assertEquals("POST", m.headers().firstValue("allow").orElse(null));
    }

    // ---- slots: a full queue, a client that goes away ----

    @Test
    void aFullQueueIs503WithRetryAfter() throws Exception {
        try (BatchScheduler small = new BatchScheduler(model, new BatchScheduler.Options(1, 128, 1, 16, 0, ActivationMode.INT8));
             OpenAiServer s = OpenAiServer.start(small, template, OpenAiServer.Options.defaults("m").withPort(0))) {
            Semaphore gate = new Semaphore(0);
            small.stepGate(gate);
            String body = "{\"prompt\":\"hold the slot\",\"max_tokens\":5}";
            CompletableFuture<HttpResponse<String>> first = http.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + s.port() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            waitFor(() -> small.stats().activeSlots() == 1);
            HttpResponse<String> busy = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build());
            assertError(busy, 503, null, "queue_full");
            int retry = Integer.parseInt(busy.headers().firstValue("retry-after").orElseThrow());
            assertTrue(retry >= 1 && retry <= 60);
            small.stepGate(null);
            gate.release(1_000);
            assertEquals(200, first.get(30, TimeUnit.SECONDS).statusCode());
        }
    }

    @Test
    void aClientThatDisconnectsFreesItsSlot() throws Exception {
        try (BatchScheduler small = new BatchScheduler(model, new BatchScheduler.Options(1, 512, 1, 16, 2, ActivationMode.INT8));
             OpenAiServer s = OpenAiServer.start(small, template, OpenAiServer.Options.defaults("m").withPort(0))) {
            Semaphore gate = new Semaphore(0);
            small.stepGate(gate);
            String body = "{\"prompt\":\"a long story\",\"max_tokens\":480,\"stream\":true,\"seed\":1}";
            // one step every 10 ms (at most 20 s): slow enough that the client leaves long before 480 tokens
            Thread pacer = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 2000 && small.stats().cancelled() == 0; i++) {
                    gate.release(1);
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try (Socket socket = new Socket("127.0.0.1", s.port())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null && !line.startsWith("data: {")) {
                    // status line, headers, chunk sizes
                }
                assertNotNull(line, "no token arrived");
            } // the client is gone
            pacer.join(30_000);
            BatchScheduler.Stats st = small.stats();
            assertEquals(1, st.cancelled(), "the server never noticed the client leaving");
            assertTrue(st.generatedTokens() < 480, "generated " + st.generatedTokens());
            assertEquals(0, st.activeSlots());
            small.stepGate(null);
            gate.release(1_000);
            HttpResponse<String> h = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/health")).build());
            assertEquals(200, h.statusCode());
        }
    }

    // ---- helpers ----

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), "condition not reached in 10 s");
    }

    static List<JsonNode> sse(String body) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                out.add(JSON.readTree(line.substring(6)));
            }
        }
        return out;
    }

    static void assertError(HttpResponse<String> r, int status, String param, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertNotNull(e, r.body());
        assertTrue(e.get("message").isTextual() && !e.get("message").asText().isBlank(), r.body());
        assertTrue(e.get("type").isTextual(), r.body());
        assertTrue(e.has("param") && e.has("code"), r.body());
        if (param == null) {
            assertTrue(e.get("param").isNull(), r.body());
        } else {
            assertEquals(param, e.get("param").asText(), r.body());
        }
        if (code != null) {
            assertEquals(code, e.get("code").asText(), r.body());
        }
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(base() + path)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    static HttpResponse<String> get(String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return send(b.build());
    }

    static HttpResponse<String> send(HttpRequest r) throws Exception {
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }
}
