package org.bitnet4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.bitnet4j.generate.FinishReason;
import org.bitnet4j.model.Model;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplateException;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ServerConnector;

/**
 * OpenAI's HTTP API in front of a {@link BatchEngine}: {@code POST /v1/chat/completions},
 * {@code POST /v1/completions} (both with {@code "stream": true} as server-sent events), {@code GET /v1/models},
 * {@code GET /health} and {@code GET /metrics} (Prometheus text).
 *
 * <p>Javalin (on Jetty 12) runs each request on a virtual thread; the handler turns the body into prompt tokens,
 * queues it on the engine and then only waits for the engine's events and writes them out, so a slow client
 * never holds up the scheduler. A failed write means the client is gone: the request is cancelled and its
 * slot is free at the next step.
 */
public final class OpenAiServer implements AutoCloseable {
    /**
     * @param host              address to bind (127.0.0.1 unless told otherwise)
     * @param port              TCP port, 0 = any free one
     * @param apiKey            when set, /v1/* needs {@code Authorization: Bearer <apiKey>}
     * @param modelId           the id /v1/models lists and responses carry
     * @param maxBodyBytes      larger request bodies get 413
     * @param retryAfterSeconds the Retry-After of a 503 when the queue is full
     */
    public record Options(String host, int port, String apiKey, String modelId, long maxBodyBytes, int retryAfterSeconds) {
        public static final long DEFAULT_MAX_BODY = 1 << 20;

        public Options {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("host must be set");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            if (apiKey != null && apiKey.isBlank()) {
                throw new IllegalArgumentException("the API key must not be blank");
            }
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("the body limit must be >= 1 byte, got " + maxBodyBytes);
            }
        }

        public static Options loopback(int port, String modelId) {
            return new Options("127.0.0.1", port, null, modelId, DEFAULT_MAX_BODY, 1);
        }
    }

    /** an SSE comment goes out after this long without an event */
    static final long KEEP_ALIVE_SECONDS = 10;
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Set<String> ROUTES = Set.of("/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
            "/metrics");

    private final BatchEngine engine;
    private final Model model;
    private final ChatTemplate template;
    private final Options options;
    private final byte[] expectedAuth;
    private final long created = System.currentTimeMillis() / 1000;
    private final Object templateLock = new Object();
    private final Map<String, LongAdder> httpCounts = new ConcurrentHashMap<>();
    private final Javalin app;

    private OpenAiServer(BatchEngine engine, ChatTemplate template, Options options) {
        this.engine = engine;
        this.model = engine.model();
        this.template = template;
        this.options = options;
        this.expectedAuth = options.apiKey() == null ? null
                : ("Bearer " + options.apiKey()).getBytes(StandardCharsets.UTF_8);
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.concurrency.useVirtualThreads = true;
            cfg.http.prefer405over404 = true;
            cfg.http.compressionStrategy = CompressionStrategy.NONE; // SSE chunks must leave as they are written
            cfg.jetty.host = options.host();
            cfg.jetty.port = options.port();
            cfg.routes.before("/v1/*", this::authorize);
            cfg.routes.post("/v1/chat/completions", ctx -> complete(ctx, true));
            cfg.routes.post("/v1/completions", ctx -> complete(ctx, false));
            cfg.routes.get("/v1/models", this::models);
            cfg.routes.get("/health", this::health);
            cfg.routes.get("/metrics", this::metrics);
            cfg.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, fromJavalin(e)));
            cfg.routes.exception(Exception.class, (e, ctx) -> error(ctx, new ApiException(500, "server_error", null,
                    null, "internal error: " + e, Map.of())));
            cfg.routes.after(this::count);
        });
    }

    /** Starts listening; the engine and template stay the caller's to close. */
    public static OpenAiServer start(BatchEngine engine, ChatTemplate template, Options options) {
        OpenAiServer s = new OpenAiServer(engine, template, options);
        s.app.start();
        for (Connector c : s.app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) {
                // a request may wait in the queue or generate for minutes without a byte on the wire
                sc.setIdleTimeout(30 * 60_000L);
            }
        }
        return s;
    }

    public int port() {
        return app.port();
    }

    public String baseUrl() {
        String h = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return "http://" + h + ":" + port();
    }

    @Override
    public void close() {
        app.stop();
    }

    // ---- routes ----

    private void authorize(Context ctx) {
        if (expectedAuth == null) {
            return;
        }
        String got = ctx.header("Authorization");
        byte[] g = got == null ? new byte[0] : got.getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(g, expectedAuth)) { // constant time: the key is not guessable byte by byte
            throw new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                    got == null ? "missing API key: send 'Authorization: Bearer <key>'" : "incorrect API key",
                    Map.of("WWW-Authenticate", "Bearer"));
        }
    }

    private void models(Context ctx) {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", options.modelId()).put("object", "model").put("created", created).put("owned_by", "bitnet4j");
        ObjectNode meta = m.putObject("meta");
        meta.put("n_ctx", engine.options().contextLength()).put("n_ctx_train", model.config.contextLength())
                .put("n_vocab", model.config.vocab()).put("n_params", model.parameterCount())
                .put("architecture", model.config.arch().ggufName);
        ObjectNode list = JSON.createObjectNode().put("object", "list");
        list.putArray("data").add(m);
        json(ctx, 200, list);
    }

    private void health(Context ctx) {
        if (!engine.alive()) {
            throw new ApiException(503, "server_error", null, "engine_stopped", "the batching engine has stopped",
                    Map.of());
        }
        ObjectNode h = JSON.createObjectNode().put("status", "ok")
                .put("slots_idle", engine.options().slots() - engine.activeSlots())
                .put("slots_processing", engine.activeSlots())
                .put("queue_length", engine.queueLength());
        json(ctx, 200, h);
    }

    private void metrics(Context ctx) {
        EngineStats s = engine.stats();
        StringBuilder b = new StringBuilder();
        help(b, "bitnet4j_http_requests_total", "counter", "HTTP requests answered, by route and status");
        httpCounts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String[] k = e.getKey().split(" ", 2);
            b.append("bitnet4j_http_requests_total{path=\"").append(k[1]).append("\",status=\"").append(k[0])
                    .append("\"} ").append(e.getValue().sum()).append('\n');
        });
        metric(b, "bitnet4j_requests_admitted_total", "counter", "requests that got a slot", s.requestsAdmitted());
        metric(b, "bitnet4j_requests_rejected_total", "counter", "requests refused with 503 (queue full)",
                s.requestsRejected());
        help(b, "bitnet4j_requests_finished_total", "counter", "requests that ended, by reason");
        for (FinishReason r : FinishReason.values()) {
            b.append("bitnet4j_requests_finished_total{reason=\"").append(r.name().toLowerCase())
                    .append("\"} ").append(s.requestsFinished(r)).append('\n');
        }
        metric(b, "bitnet4j_requests_failed_total", "counter", "requests the engine failed", s.requestsFailed());
        metric(b, "bitnet4j_prompt_tokens_total", "counter", "prompt tokens evaluated", s.promptTokens());
        metric(b, "bitnet4j_cached_prompt_tokens_total", "counter", "prompt tokens reused from a slot's cache",
                s.cachedTokens());
        metric(b, "bitnet4j_generated_tokens_total", "counter", "tokens generated", s.generatedTokens());
        metric(b, "bitnet4j_forward_steps_total", "counter", "forward passes (batches) run", s.steps());
        metric(b, "bitnet4j_forward_rows_total", "counter", "rows (tokens) evaluated in all batches", s.rows());
        gauge(b, "bitnet4j_forward_seconds_total", "counter", "time spent in forward passes", s.forwardSeconds());
        gauge(b, "bitnet4j_tokens_per_second", "gauge", "tokens generated per second over the last 10 s",
                s.tokensPerSecond());
        metric(b, "bitnet4j_queue_length", "gauge", "requests waiting for a slot", engine.queueLength());
        metric(b, "bitnet4j_active_slots", "gauge", "slots generating", engine.activeSlots());
        metric(b, "bitnet4j_slots", "gauge", "slots configured (-np)", engine.options().slots());
        ctx.status(200).contentType("text/plain; version=0.0.4; charset=utf-8").result(b.toString());
    }

    private static void help(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void metric(StringBuilder b, String name, String type, String help, long v) {
        help(b, name, type, help);
        b.append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String type, String help, double v) {
        help(b, name, type, help);
        b.append(name).append(' ').append(v).append('\n');
    }

    private void count(Context ctx) {
        String path = ROUTES.contains(ctx.path()) ? ctx.path() : "other";
        httpCounts.computeIfAbsent(ctx.statusCode() + " " + path, k -> new LongAdder()).increment();
    }

    private void complete(Context ctx, boolean chat) throws IOException {
        JsonNode body = readJson(ctx);
        OpenAiRequest req = OpenAiRequest.parse(body, chat, engine.options().contextLength());
        int[] prompt = tokens(req, chat);
        String param = chat ? "messages" : "prompt";
        if (prompt.length == 0) {
            throw ApiException.invalid(param, "invalid_value", "the prompt has no tokens");
        }
        int ctxLen = engine.options().contextLength();
        if (prompt.length >= ctxLen) {
            throw ApiException.invalid(param, "context_length_exceeded", "the prompt has " + prompt.length
                    + " tokens but the context holds " + ctxLen + " (prompt and completion must fit)");
        }
        Events events = new Events();
        BatchEngine.Job job;
        try {
            job = engine.submit(prompt, req.params(), events);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(param, "invalid_value", e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiException(503, "server_error", null, "engine_stopped", e.getMessage(), Map.of());
        } catch (QueueFullException e) {
            throw new ApiException(503, "server_error", null, "server_busy", e.getMessage(),
                    Map.of("Retry-After", Integer.toString(options.retryAfterSeconds())));
        }
        Reply reply = new Reply(chat, chat ? "chatcmpl-" + id() : "cmpl-" + id(), System.currentTimeMillis() / 1000);
        try {
            if (req.stream()) {
                stream(ctx, req, reply, events, job);
            } else {
                whole(ctx, reply, events, job);
            }
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private int[] tokens(OpenAiRequest req, boolean chat) {
        if (!chat) {
            if (req.promptIds() != null) {
                int vocab = model.config.vocab();
                for (int id : req.promptIds()) {
                    if (id < 0 || id >= vocab) {
                        throw ApiException.invalid("prompt", "invalid_value", "token id " + id
                                + " is outside the vocabulary 0.." + (vocab - 1));
                    }
                }
                return req.promptIds();
            }
            return ChatTemplates.encodePrompt(model.tokenizer, req.prompt());
        }
        String rendered;
        try {
            synchronized (templateLock) {
                rendered = template.render(req.messages(), true);
            }
        } catch (ChatTemplateException e) {
            throw ApiException.invalid("messages", "invalid_value", "the chat template rejected the messages: "
                    + e.getMessage());
        }
        return ChatTemplates.encodePrompt(model.tokenizer, rendered);
    }

    /** The body, at most maxBodyBytes (else 413), parsed (else 400). */
    private JsonNode readJson(Context ctx) throws IOException {
        long limit = options.maxBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) {
            throw tooLarge(limit);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] chunk = new byte[8192];
            for (int r; (r = in.read(chunk)) > 0; ) {
                buf.write(chunk, 0, r);
                if (buf.size() > limit) {
                    throw tooLarge(limit);
                }
            }
        }
        if (buf.size() == 0) {
            throw ApiException.invalid(null, "invalid_body", "the request body is empty: send a JSON object");
        }
        try {
            return JSON.readTree(buf.toByteArray());
        } catch (JsonProcessingException e) {
            throw ApiException.invalid(null, "invalid_json", "the body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than " + limit + " bytes", Map.of());
    }

    // ---- responses ----

    /** What the engine says about one request, handed from the scheduler thread to the request's thread. */
    private static final class Events implements GenerationSink {
        final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();

        @Override
        public void onText(String text) {
            queue.add(text);
        }

        @Override
        public void onDone(Completion completion) {
            queue.add(completion);
        }

        @Override
        public void onError(RuntimeException error) {
            queue.add(error);
        }
    }

    private record Reply(boolean chat, String id, long created) {}

    private void whole(Context ctx, Reply reply, Events events, BatchEngine.Job job) throws InterruptedException {
        while (true) {
            Object e = events.queue.take();
            if (e instanceof RuntimeException err) {
                throw new ApiException(500, "server_error", null, null, "generation failed: " + err.getMessage(),
                        Map.of());
            }
            if (e instanceof Completion c) {
                ObjectNode r = head(reply, false);
                ObjectNode choice = r.putArray("choices").addObject().put("index", 0);
                if (reply.chat()) {
                    choice.putObject("message").put("role", "assistant").put("content", c.text());
                } else {
                    choice.put("text", c.text()).putNull("logprobs");
                }
                choice.put("finish_reason", c.finishReason().openAiName());
                usage(r, c);
                json(ctx, 200, r);
                return;
            }
            // text pieces: the completion carries the whole text at the end
        }
    }

    private void stream(Context ctx, OpenAiRequest req, Reply reply, Events events, BatchEngine.Job job)
            throws InterruptedException {
        HttpServletResponse res = ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream; charset=utf-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        ServletOutputStream out;
        try {
            out = res.getOutputStream();
            if (reply.chat()) {
                ObjectNode first = chunk(reply);
                ObjectNode d = delta(first, null);
                d.put("role", "assistant").put("content", "");
                send(out, first);
            }
        } catch (IOException gone) {
            job.cancel();
            return;
        }
        boolean writing = true;
        while (true) {
            Object e = events.queue.poll(KEEP_ALIVE_SECONDS, TimeUnit.SECONDS);
            if (e == null) {
                // waiting in the queue or on a long prompt: an SSE comment keeps proxies patient and, if the
                // client has gone, fails so the request leaves the queue without generating
                if (writing) {
                    try {
                        out.write(": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    } catch (IOException gone) {
                        job.cancel();
                        writing = false;
                    }
                }
                continue;
            }
            if (!writing) {
                if (e instanceof Completion || e instanceof RuntimeException) {
                    return;
                }
                continue;
            }
            try {
                if (e instanceof String text) {
                    ObjectNode c = chunk(reply);
                    if (reply.chat()) {
                        delta(c, null).put("content", text);
                    } else {
                        delta(c, null).put("text", text);
                    }
                    send(out, c);
                } else if (e instanceof Completion done) {
                    ObjectNode c = chunk(reply);
                    delta(c, done.finishReason().openAiName());
                    if (!req.includeUsage()) {
                        usage(c, done); // llama.cpp's habit: clients that did not ask still find the counts
                    }
                    send(out, c);
                    if (req.includeUsage()) {
                        ObjectNode u = chunk(reply);
                        u.putArray("choices");
                        usage(u, done);
                        send(out, u);
                    }
                    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return;
                } else if (e instanceof RuntimeException err) {
                    ObjectNode body = errorBody(new ApiException(500, "server_error", null, null,
                            "generation failed: " + err.getMessage(), Map.of()));
                    send(out, body);
                    return;
                }
            } catch (IOException gone) {
                // the client went away: free the slot at the next step, keep draining until the engine says so
                job.cancel();
                writing = false;
            }
        }
    }

    private static void send(ServletOutputStream out, JsonNode event) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private ObjectNode head(Reply reply, boolean chunk) {
        ObjectNode r = JSON.createObjectNode();
        r.put("id", reply.id());
        r.put("object", reply.chat() ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        r.put("created", reply.created());
        r.put("model", options.modelId());
        r.put("system_fingerprint", "bitnet4j");
        return r;
    }

    private ObjectNode chunk(Reply reply) {
        return head(reply, true);
    }

    /** Adds the one choice of a chunk; returns its delta object (chat) or the choice itself (completions). */
    private static ObjectNode delta(ObjectNode chunk, String finishReason) {
        ArrayNode choices = chunk.putArray("choices");
        ObjectNode choice = choices.addObject().put("index", 0);
        boolean chat = chunk.get("object").asText().startsWith("chat");
        ObjectNode target = chat ? choice.putObject("delta") : choice;
        if (!chat) {
            choice.put("text", "");
            choice.putNull("logprobs");
        }
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return target;
    }

    private static void usage(ObjectNode r, Completion c) {
        ObjectNode u = r.putObject("usage").put("prompt_tokens", c.promptTokens())
                .put("completion_tokens", c.completionTokens()).put("total_tokens", c.totalTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", c.cachedTokens());
    }

    private static void json(Context ctx, int status, JsonNode body) {
        try {
            ctx.status(status).contentType("application/json").result(JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode errorBody(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage()).put("type", e.type);
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
        return root;
    }

    private static void error(Context ctx, ApiException e) {
        e.headers.forEach(ctx::header);
        json(ctx, e.status, errorBody(e));
    }

    private static ApiException fromJavalin(HttpResponseException e) {
        int s = e.getStatus();
        String type = s == 404 ? "not_found_error" : s >= 500 ? "server_error" : "invalid_request_error";
        String msg = s == 404 ? "unknown route: see /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics"
                : s == 405 ? "method not allowed on this route" : e.getMessage();
        String code = s == 404 ? "not_found" : s == 405 ? "method_not_allowed" : null;
        return new ApiException(s, type, null, code, msg, Map.of());
    }

    private static String id() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
