package org.bitnet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Aggregate generation throughput of a running server with 1, 2, 4 and 8 concurrent streaming clients (a
 * benchmark, not a test). Each client sends its requests one after another; tokens are counted from the
 * usage the server reports, time from the first request sent to the last answer received.
 *
 * <pre>
 * ./bitnet4j serve -m model.gguf -np 8 &amp;
 * java -cp 'cli/target/bitnet4j.jar:cli/target/lib/*' org.bitnet4j.server.ServerBench \
 *      --url http://127.0.0.1:8080 --streams 1,2,4,8 --requests 2 --max-tokens 64
 * </pre>
 */
public final class ServerBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Sample(int completionTokens, long firstTokenNanos, long totalNanos) {}

    record Row(int streams, int requests, long tokens, double seconds, double meanTtftMs, double meanLatencyMs) {
        double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "http://127.0.0.1:8080";
        String apiKey = null;
        int[] streams = {1, 2, 4, 8};
        int requests = 2, maxTokens = 64;
        String prompt = "Write a long story about a lighthouse keeper and the sea.";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--url" -> url = args[++i];
                case "--api-key" -> apiKey = args[++i];
                case "--streams" -> streams = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
                case "--prompt" -> prompt = args[++i];
                case "-h", "--help" -> {
                    System.out.println("usage: ServerBench [--url http://127.0.0.1:8080] [--api-key KEY] [--streams 1,2,4,8] "
                            + "[--requests N per stream] [--max-tokens N] [--prompt TEXT]");
                    return;
                }
                default -> {
                    System.err.println("unknown option " + args[i] + " (--help)");
                    System.exit(2);
                }
            }
        }
        List<Row> rows = run(url, apiKey, streams, requests, maxTokens, prompt);
        System.out.printf(Locale.ROOT, "%-8s %-9s %-8s %-8s %-12s %-14s %-10s %-10s%n", "streams", "requests", "tokens",
                "wall_s", "agg_tok/s", "per_stream_t/s", "ttft_ms", "latency_ms");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-8d %-9d %-8d %-8.2f %-12.2f %-14.2f %-10.1f %-10.1f%n", r.streams(), r.requests(),
                    r.tokens(), r.seconds(), r.tokensPerSecond(), r.tokensPerSecond() / r.streams(), r.meanTtftMs(),
                    r.meanLatencyMs());
        }
    }

    /** Runs one warm-up request, then each concurrency level in turn. */
    public static List<Row> run(String url, String apiKey, int[] streams, int requests, int maxTokens, String prompt)
            throws Exception {
        URI uri = URI.create(url.replaceAll("/+$", "").replaceAll("/v1$", "") + "/v1/chat/completions");
        List<Row> rows = new ArrayList<>();
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            one(http, uri, apiKey, prompt, Math.min(8, maxTokens), 0); // warm-up: JIT, caches
            for (int s : streams) {
                List<Future<List<Sample>>> clients = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int c = 0; c < s; c++) {
                    int client = c;
                    clients.add(pool.submit(() -> {
                        List<Sample> out = new ArrayList<>();
                        for (int r = 0; r < requests; r++) {
                            out.add(one(http, uri, apiKey, prompt, maxTokens, 1 + client * requests + r));
                        }
                        return out;
                    }));
                }
                long tokens = 0, ttft = 0, latency = 0;
                int n = 0;
                for (Future<List<Sample>> f : clients) {
                    for (Sample x : f.get()) {
                        tokens += x.completionTokens();
                        ttft += x.firstTokenNanos();
                        latency += x.totalNanos();
                        n++;
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                rows.add(new Row(s, n, tokens, seconds, ttft / 1e6 / n, latency / 1e6 / n));
            }
        }
        return rows;
    }

    /** One streaming chat request; a different seed per request so slots do not all produce the same text. */
    private static Sample one(HttpClient http, URI uri, String apiKey, String prompt, int maxTokens, long seed)
            throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":" + JSON.writeValueAsString(prompt) + "}],"
                + "\"max_tokens\":" + maxTokens + ",\"seed\":" + seed + ",\"stream\":true}";
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        long t0 = System.nanoTime();
        HttpResponse<java.io.InputStream> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (resp.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + resp.statusCode() + ": "
                    + new String(resp.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        long first = 0;
        int tokens = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith("data: {")) {
                    continue;
                }
                JsonNode e = JSON.readTree(line.substring(6));
                if (first == 0 && !e.at("/choices/0/delta/content").asText("").isEmpty()) {
                    first = System.nanoTime() - t0;
                }
                if (e.has("usage")) {
                    tokens = e.at("/usage/completion_tokens").asInt();
                }
            }
        }
        long total = System.nanoTime() - t0;
        return new Sample(tokens, first == 0 ? total : first, total);
    }
}
