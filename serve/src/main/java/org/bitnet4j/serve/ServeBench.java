package org.bitnet4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.tokenizer.chat.ChatTemplates;

/**
 * Aggregate generation speed of a running server with 1, 2, 4, 8... concurrent streaming clients on loopback:
 * each client sends one streamed completion of a fixed length; tokens/s = all completion tokens / wall time.
 * Not a test: speed belongs in benchmarks.
 *
 * <pre>
 * java ... org.bitnet4j.serve.ServeBench -m model.gguf [-t threads] [-c ctx] [--streams 1,2,4,8] [--tokens 32]
 * java ... org.bitnet4j.serve.ServeBench --url http://127.0.0.1:8080 [--streams ...] [--tokens ...]
 * </pre>
 */
public final class ServeBench {
    /** One concurrency level's figures. */
    /**
     * @param tokensPerSecond       all completion tokens over the wall time (prefill included)
     * @param decodeTokensPerSecond tokens after each stream's first, over the time from the last stream's first
     *                              token to the end: the batched decode rate once every prompt is in
     */
    public record Row(int streams, int completionTokens, double seconds, double tokensPerSecond,
                      double perStreamTokensPerSecond, double decodeTokensPerSecond, double meanFirstTokenSeconds) {}

    private ServeBench() {}

    /** Runs every level against the server at baseUrl (no /v1), printing one line per level. */
    public static List<Row> run(String baseUrl, String apiKey, int[] streams, int tokens, PrintWriter out)
            throws Exception {
        List<Row> rows = new ArrayList<>();
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build()) {
            stream(http, baseUrl, apiKey, 0, Math.min(4, tokens)); // warm-up: JIT and first-touch of the weights
            out.printf("%8s %8s %9s %12s %14s %13s %10s%n", "streams", "tokens", "seconds", "tok/s total",
                    "tok/s/stream", "decode tok/s", "ttft s");
            for (int c : streams) {
                try (ExecutorService pool = Executors.newFixedThreadPool(c)) {
                    long t0 = System.nanoTime();
                    List<Future<double[]>> fs = new ArrayList<>();
                    for (int i = 0; i < c; i++) {
                        int client = i;
                        fs.add(pool.submit(() -> stream(http, baseUrl, apiKey, client, tokens)));
                    }
                    int total = 0;
                    double ttft = 0, lastFirst = 0;
                    for (Future<double[]> f : fs) {
                        double[] r = f.get();
                        total += (int) r[0];
                        ttft += r[1];
                        lastFirst = Math.max(lastFirst, r[1]);
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    double decode = secs > lastFirst ? (total - c) / (secs - lastFirst) : 0;
                    Row row = new Row(c, total, secs, total / secs, total / secs / c, decode, ttft / c);
                    rows.add(row);
                    out.printf("%8d %8d %9.2f %12.2f %14.2f %13.2f %10.3f%n", c, total, secs, row.tokensPerSecond(),
                            row.perStreamTokensPerSecond(), row.decodeTokensPerSecond(), row.meanFirstTokenSeconds());
                    out.flush();
                }
            }
        }
        return rows;
    }

    /** One streamed completion: {completion tokens, seconds to the first content chunk}. */
    static double[] stream(HttpClient http, String baseUrl, String apiKey, int client, int tokens)
            throws IOException, InterruptedException {
        // a short distinct prompt and seed per client (prefill is not what this measures); sampling, not greedy,
        // so a random-weight model rarely stops early
        String body = "{\"prompt\":\"Story " + client + ":\",\"max_tokens\":"
                + tokens + ",\"temperature\":0.8,\"seed\":" + (client + 1) + ",\"stream\":true}";
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions"))
                .timeout(Duration.ofMinutes(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        long t0 = System.nanoTime();
        HttpResponse<java.io.InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            throw new IOException("server answered " + r.statusCode() + ": "
                    + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        double first = -1;
        int completion = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith("data: {")) {
                    continue;
                }
                JsonNode j = OpenAiServer.JSON.readTree(line.substring(6));
                if (first < 0) {
                    first = (System.nanoTime() - t0) / 1e9;
                }
                if (j.has("usage")) {
                    completion = j.at("/usage/completion_tokens").asInt();
                }
            }
        }
        return new double[] {completion, first};
    }

    public static void main(String[] args) throws Exception {
        String url = null, model = null, key = null;
        int threads = Runtime.getRuntime().availableProcessors(), ctx = 512, tokens = 32, batch = 64;
        int[] streams = {1, 2, 4, 8};
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--url" -> url = args[++i];
                case "-m", "--model" -> model = args[++i];
                case "--api-key" -> key = args[++i];
                case "-t", "--threads" -> threads = Integer.parseInt(args[++i]);
                case "-c", "--ctx-size" -> ctx = Integer.parseInt(args[++i]);
                case "-b", "--batch-size" -> batch = Integer.parseInt(args[++i]);
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                case "--streams" -> streams = parseList(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + a + (v == null ? "" : ""));
            }
        }
        PrintWriter out = new PrintWriter(System.out, true);
        if (url != null) {
            run(url, key, streams, tokens, out);
            return;
        }
        if (model == null) {
            throw new IllegalArgumentException("give -m MODEL.gguf (in-process server) or --url of a running server");
        }
        int slots = 0;
        for (int s : streams) {
            slots = Math.max(slots, s);
        }
        try (Model m = Model.load(Path.of(model));
             BatchEngine engine = new BatchEngine(m, new EngineOptions(slots, Math.min(ctx, m.config.contextLength()),
                     threads, batch, 2 * slots, ActivationMode.INT8));
             OpenAiServer server = OpenAiServer.start(engine, ChatTemplates.forModel(m.file().metadata(), m.tokenizer),
                     OpenAiServer.Options.loopback(0, m.path().getFileName().toString()))) {
            out.printf("%s: %d slots, %d threads, %d max tokens per stream, server %s%n", m.path().getFileName(), slots,
                    threads, tokens, server.baseUrl());
            run(server.baseUrl(), null, streams, tokens, out);
        }
    }

    static int[] parseList(String s) {
        String[] p = s.split(",");
        int[] r = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            r[i] = Integer.parseInt(p[i].trim());
            if (r[i] < 1) {
                throw new IllegalArgumentException("stream counts must be >= 1: " + s);
            }
        }
        return r;
    }
}
