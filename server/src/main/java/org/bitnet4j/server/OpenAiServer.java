package org.bitnet4j.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.tokenizer.Tokenizer;
import org.bitnet4j.tokenizer.chat.ChatTemplate;

/**
 * The OpenAI-compatible HTTP API over a {@link BatchScheduler}: /v1/chat/completions, /v1/completions (both with
 * SSE streaming), /v1/models, /health and /metrics. Each request runs on its own virtual thread (Helidon SE),
 * which blocks on its {@link Generation} while the scheduler thread batches all of them.
 *
 * <pre>{@code
 * try (Model m = Model.load(path);
 *      BatchScheduler s = new BatchScheduler(m, new BatchScheduler.Options(4, 2048, 2, 128, 64, ActivationMode.INT8));
 *      OpenAiServer server = OpenAiServer.start(s, ChatTemplates.forModel(m.file().metadata(), m.tokenizer),
 *              OpenAiServer.Options.defaults("my-model"))) {
 *     System.out.println(server.baseUrl());
 * }
 * }</pre>
 */
public final class OpenAiServer implements AutoCloseable {

    /**
     * @param host         interface to bind; 127.0.0.1 unless the operator says otherwise
     * @param port         TCP port; 0 picks a free one
     * @param apiKey       when not null, /v1/* requires "Authorization: Bearer apiKey"
     * @param modelId      the id /v1/models lists and responses carry
     * @param maxBodyBytes larger request bodies get 413
     * @param keepAliveSeconds an SSE comment is sent after this long without tokens (also notices gone clients)
     */
    public record Options(String host, int port, String apiKey, String modelId, long maxBodyBytes, int keepAliveSeconds) {
        public static final long DEFAULT_MAX_BODY = 4L << 20;

        public Options {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("body size limit must be positive, got " + maxBodyBytes);
            }
            if (keepAliveSeconds < 1) {
                throw new IllegalArgumentException("keep-alive interval must be >= 1 s, got " + keepAliveSeconds);
            }
            if (apiKey != null && apiKey.isBlank()) {
                throw new IllegalArgumentException("the API key must not be blank");
            }
        }

        public static Options defaults(String modelId) {
            return new Options("127.0.0.1", 8080, null, modelId, DEFAULT_MAX_BODY, 10);
        }

        public Options withPort(int p) {
            return new Options(host, p, apiKey, modelId, maxBodyBytes, keepAliveSeconds);
        }

        public Options withApiKey(String k) {
            return new Options(host, port, k, modelId, maxBodyBytes, keepAliveSeconds);
        }

        public Options withMaxBodyBytes(long b) {
            return new Options(host, port, apiKey, modelId, b, keepAliveSeconds);
        }
    }

    static final String CHAT = "/v1/chat/completions";
    static final String COMPLETIONS = "/v1/completions";
    static final String MODELS = "/v1/models";
    private static final Map<String, String> ALLOWED = Map.of(CHAT, "POST", COMPLETIONS, "POST", MODELS, "GET",
            "/health", "GET", "/metrics", "GET");
    private static final HeaderName X_ACCEL_BUFFERING = HeaderNames.create("X-Accel-Buffering");
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final BatchScheduler scheduler;
    private final ChatTemplate template;
    private final Tokenizer tokenizer;
    private final Options options;
    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final Metrics metrics = new Metrics();
    private final long created = System.currentTimeMillis() / 1000;
    private final byte[] apiKey;
    private final WebServer server;

    private OpenAiServer(BatchScheduler scheduler, ChatTemplate template, Options options) {
        this.scheduler = scheduler;
        this.template = template;
        this.tokenizer = scheduler.model().tokenizer;
        this.options = options;
        this.apiKey = options.apiKey() == null ? null : options.apiKey().getBytes(StandardCharsets.UTF_8);
        this.server = WebServer.builder()
                .host(options.host())
                .port(options.port())
                // each SSE chunk is a few dozen bytes: Nagle's algorithm would hold it back waiting for an ACK
                .connectionOptions(o -> o.tcpNoDelay(true))
                .routing(this::routes)
                .build();
    }

    /** Binds and starts serving; the scheduler and model stay owned by the caller. */
    public static OpenAiServer start(BatchScheduler scheduler, ChatTemplate template, Options options) {
        OpenAiServer s = new OpenAiServer(scheduler, template, options);
        s.server.start();
        return s;
    }

    public int port() {
        return server.port();
    }

    /** http://host:port/v1, what OpenAI clients take as their base URL. */
    public String baseUrl() {
        String h = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return "http://" + h + ":" + port() + "/v1";
    }

    public Options options() {
        return options;
    }

    /** Stops accepting connections; generations already running finish in the scheduler. */
    @Override
    public void close() {
        server.stop();
    }

    private void routes(HttpRouting.Builder r) {
        r.post(CHAT, (req, res) -> handle(CHAT, req, res, () -> generate(req, res, true)))
                .post(COMPLETIONS, (req, res) -> handle(COMPLETIONS, req, res, () -> generate(req, res, false)))
                .get(MODELS, (req, res) -> handle(MODELS, req, res, () -> models(req, res, null)))
                .get(MODELS + "/{id}", (req, res) -> handle(MODELS, req, res,
                        () -> models(req, res, req.path().pathParameters().get("id"))))
                .get("/health", (req, res) -> handle("/health", req, res, () -> health(res)))
                .get("/metrics", (req, res) -> handle("/metrics", req, res, () -> sendText(res, 200,
                        "text/plain; version=0.0.4; charset=utf-8", metrics.render(scheduler.stats()))))
                .any((req, res) -> handle("other", req, res, () -> {
                    String path = req.path().path();
                    String allowed = ALLOWED.get(path);
                    if (allowed != null) {
                        res.header(HeaderNames.ALLOW, allowed);
                        throw new ApiError(405, "invalid_request_error", null, "method_not_allowed", "Method "
                                + req.prologue().method().text() + " is not allowed on " + path + " (use " + allowed + ")");
                    }
                    throw new ApiError(404, "invalid_request_error", null, "unknown_url", "Unknown request URL: "
                            + req.prologue().method().text() + " " + path + ". Please check the URL for typos.");
                }));
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }

    /** Every route: OpenAI-shaped errors, never a stack trace, and a count per endpoint and status. */
    private void handle(String endpoint, ServerRequest req, ServerResponse res, Body body) {
        try {
            body.run();
        } catch (ApiError e) {
            sendError(res, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sendError(res, new ApiError(503, "server_error", null, null, "the server is shutting down"));
        } catch (Exception | OutOfMemoryError e) {
            sendError(res, new ApiError(500, "server_error", null, null, "internal error: " + e));
        } finally {
            metrics.request(endpoint, res.status().code());
        }
    }

    // ---- /v1/chat/completions and /v1/completions ----

    private void generate(ServerRequest req, ServerResponse res, boolean chat) throws InterruptedException {
        authorize(req);
        JsonNode body = readJson(req, res);
        int context = scheduler.contextLength();
        OpenAiRequest r = chat ? OpenAiRequest.chat(body, tokenizer, template, context)
                : OpenAiRequest.completion(body, tokenizer, context);
        Generation g;
        try {
            g = scheduler.submit(r.prompt(), r.params());
        } catch (QueueFullException e) {
            res.header(HeaderNames.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()));
            throw new ApiError(503, "server_error", null, "queue_full", e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiError(503, "server_error", null, null, e.getMessage());
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + randomId();
        try {
            if (r.stream()) {
                stream(res, g, r, chat, id);
            } else {
                whole(res, g, chat, id);
            }
        } finally {
            g.cancel(); // no effect once it finished; otherwise nobody is left to read it
        }
    }

    private void whole(ServerResponse res, Generation g, boolean chat, String id) throws InterruptedException {
        GenerationResult result;
        try {
            result = g.await(t -> true);
        } catch (Generation.EngineFailure e) {
            throw new ApiError(500, "server_error", null, null, e.getMessage());
        }
        ObjectNode o = envelope(id, chat ? "chat.completion" : "text_completion");
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode m = choice.putObject("message");
            m.put("role", "assistant");
            m.put("content", result.text());
        } else {
            choice.put("text", result.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", result.finishReason().openAiName());
        o.set("usage", usage(result));
        sendJson(res, 200, o);
    }

    private void stream(ServerResponse res, Generation g, OpenAiRequest r, boolean chat, String id) throws InterruptedException {
        res.status(Status.OK_200);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.header(X_ACCEL_BUFFERING, "no");
        String object = chat ? "chat.completion.chunk" : "text_completion";
        try (OutputStream out = res.outputStream()) {
            if (chat) {
                ObjectNode first = chunk(id, object);
                ObjectNode ch = choice(first, chat);
                ObjectNode delta = ch.putObject("delta");
                delta.put("role", "assistant");
                delta.put("content", "");
                ch.putNull("finish_reason");
                event(out, first);
            } else {
                out.flush(); // headers now, so the client knows it was accepted
            }
            while (true) {
                Generation.Event e = g.poll(options.keepAliveSeconds(), TimeUnit.SECONDS);
                if (e == null) {
                    out.write(KEEP_ALIVE);
                    out.flush();
                    continue;
                }
                switch (e) {
                    case Generation.Text t -> {
                        StringBuilder text = new StringBuilder(t.text());
                        // a slow reader gets what piled up in one chunk instead of falling further behind
                        for (Generation.Event more; (more = peekText(g)) != null; ) {
                            if (more instanceof Generation.Text mt) {
                                text.append(mt.text());
                            } else {
                                finishStream(out, g, r, chat, id, object, text, more);
                                return;
                            }
                        }
                        ObjectNode c = chunk(id, object);
                        ObjectNode ch = choice(c, chat);
                        if (chat) {
                            ch.putObject("delta").put("content", text.toString());
                        } else {
                            ch.put("text", text.toString());
                        }
                        ch.putNull("finish_reason");
                        event(out, c);
                    }
                    default -> {
                        finishStream(out, g, r, chat, id, object, null, e);
                        return;
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            g.cancel(); // the client went away: the scheduler frees the slot at its next step
        }
    }

    /** Next event if one is already waiting. */
    private static Generation.Event peekText(Generation g) throws InterruptedException {
        return g.poll(0, TimeUnit.NANOSECONDS);
    }

    private void finishStream(OutputStream out, Generation g, OpenAiRequest r, boolean chat, String id, String object,
                              CharSequence pendingText, Generation.Event end) throws IOException {
        if (end instanceof Generation.Failed f) {
            ObjectNode err = json.createObjectNode();
            err.set("error", errorBody(new ApiError(500, "server_error", null, null, f.message())));
            event(out, err);
            out.write(DONE);
            out.flush();
            return;
        }
        GenerationResult result = ((Generation.Done) end).result();
        ObjectNode c = chunk(id, object);
        ObjectNode ch = choice(c, chat);
        String text = pendingText == null ? "" : pendingText.toString();
        if (chat) {
            ObjectNode delta = ch.putObject("delta");
            if (!text.isEmpty()) {
                delta.put("content", text);
            }
        } else {
            ch.put("text", text);
        }
        ch.put("finish_reason", result.finishReason().openAiName());
        if (!r.includeUsage()) {
            c.set("usage", usage(result)); // llama.cpp's way: usage on the last choice chunk
        }
        event(out, c);
        if (r.includeUsage()) {
            ObjectNode u = chunk(id, object);
            u.putArray("choices");
            u.set("usage", usage(result));
            event(out, u);
        }
        out.write(DONE);
        out.flush();
    }

    private ObjectNode chunk(String id, String object) {
        return envelope(id, object);
    }

    private static ObjectNode choice(ObjectNode chunk, boolean chat) {
        ArrayNode choices = chunk.putArray("choices");
        ObjectNode c = choices.addObject();
        c.put("index", 0);
        c.putNull("logprobs");
        return c;
    }

    private ObjectNode envelope(String id, String object) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", options.modelId());
        o.put("system_fingerprint", "bitnet4j");
        return o;
    }

    private ObjectNode usage(GenerationResult r) {
        ObjectNode u = json.createObjectNode();
        u.put("prompt_tokens", r.promptTokens());
        u.put("completion_tokens", r.generatedTokens());
        u.put("total_tokens", r.promptTokens() + r.generatedTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", r.cachedTokens());
        return u;
    }

    private void event(OutputStream out, ObjectNode o) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.US_ASCII));
        out.write(json.writeValueAsBytes(o));
        out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    // ---- /v1/models, /health ----

    private void models(ServerRequest req, ServerResponse res, String id) {
        authorize(req);
        ObjectNode model = json.createObjectNode();
        model.put("id", options.modelId());
        model.put("object", "model");
        model.put("created", created);
        model.put("owned_by", "bitnet4j");
        ObjectNode meta = model.putObject("meta");
        var c = scheduler.model().config;
        meta.put("architecture", c.arch().ggufName);
        meta.put("n_vocab", c.vocab());
        meta.put("n_ctx_train", c.contextLength());
        meta.put("n_ctx_slot", scheduler.contextLength());
        meta.put("n_params", scheduler.model().parameterCount());
        if (id != null) {
            if (!id.equals(options.modelId())) {
                throw new ApiError(404, "invalid_request_error", "model", "model_not_found",
                        "The model '" + id + "' does not exist (this server has '" + options.modelId() + "')");
            }
            sendJson(res, 200, model);
            return;
        }
        ObjectNode list = json.createObjectNode();
        list.put("object", "list");
        list.putArray("data").add(model);
        sendJson(res, 200, list);
    }

    private void health(ServerResponse res) {
        BatchScheduler.Stats s = scheduler.stats();
        ObjectNode o = json.createObjectNode();
        o.put("status", s.running() ? "ok" : "error");
        o.put("slots_idle", s.slots() - s.activeSlots());
        o.put("slots_processing", s.activeSlots());
        o.put("queue_length", s.queued());
        sendJson(res, s.running() ? 200 : 503, o);
    }

    // ---- request plumbing ----

    private void authorize(ServerRequest req) {
        if (apiKey == null) {
            return;
        }
        String h = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key", "You didn't provide an API key. "
                    + "Provide it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).");
        }
        byte[] given = h.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, apiKey)) {  // constant time
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key", "Incorrect API key provided.");
        }
    }

    private JsonNode readJson(ServerRequest req, ServerResponse res) {
        long limit = options.maxBodyBytes();
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > limit) {
            if (declared > 8 * limit) {
                // not worth reading to keep the connection: answer and close
                res.header(HeaderNames.CONNECTION, "close");
            }
            throw tooLarge(declared);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream((int) Math.min(Math.max(declared, 256), limit));
        if (req.content().hasEntity()) {
            try (InputStream in = req.content().inputStream()) {
                byte[] b = new byte[8192];
                for (int n; (n = in.read(b)) > 0; ) {
                    buf.write(b, 0, n);
                    if (buf.size() > limit) {
                        res.header(HeaderNames.CONNECTION, "close"); // a chunked body of unknown size: stop here
                        throw tooLarge(-1);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                throw ApiError.invalid(null, "could not read the request body: " + e.getMessage());
            }
        }
        if (buf.size() == 0) {
            throw ApiError.invalid(null, "the request body is empty; send a JSON object");
        }
        try {
            return json.readTree(buf.toByteArray());
        } catch (JacksonException e) {
            String detail = e.getOriginalMessage();
            for (String cut : new String[] {" (start marker", "\n at [Source", " at [Source", "[Source"}) {
                int i = detail.indexOf(cut);
                if (i >= 0) {
                    detail = detail.substring(0, i);
                }
            }
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr();
            throw ApiError.invalid(null, "We could not parse the JSON body of your request" + where + ": " + detail.strip());
        } catch (IOException e) {
            throw ApiError.invalid(null, "could not read the request body: " + e.getMessage());
        }
    }

    private ApiError tooLarge(long declared) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large", "The request body "
                + (declared >= 0 ? "of " + declared + " bytes " : "") + "is larger than the limit of "
                + options.maxBodyBytes() + " bytes.");
    }

    private ObjectNode errorBody(ApiError e) {
        ObjectNode err = json.createObjectNode();
        err.put("message", e.getMessage());
        err.put("type", e.type);
        if (e.param == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param);
        }
        if (e.code == null) {
            err.putNull("code");
        } else {
            err.put("code", e.code);
        }
        return err;
    }

    private void sendError(ServerResponse res, ApiError e) {
        if (res.isSent()) {
            return; // a stream already started: nothing sensible can be added
        }
        if (e.status == 401) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        ObjectNode o = json.createObjectNode();
        o.set("error", errorBody(e));
        try {
            sendJson(res, e.status, o);
        } catch (RuntimeException ignored) {
            // the response was already committed (a stream that broke): the connection is closed anyway
        }
    }

    private void sendJson(ServerResponse res, int status, JsonNode o) {
        try {
            byte[] bytes = json.writeValueAsBytes(o);
            res.status(Status.create(status));
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            res.send(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sendText(ServerResponse res, int status, String contentType, String text) {
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, contentType);
        res.send(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String randomId() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder(24);
        for (int i = 0; i < 24; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

}
