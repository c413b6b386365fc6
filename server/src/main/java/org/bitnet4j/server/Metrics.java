package org.bitnet4j.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** HTTP request counters plus the scheduler's numbers, rendered in Prometheus' text format (version 0.0.4). */
final class Metrics {
    private final ConcurrentHashMap<String, LongAdder> requests = new ConcurrentHashMap<>(); // "endpoint\0status"

    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + '\0' + status, k -> new LongAdder()).increment();
    }

    long requests(String endpoint, int status) {
        LongAdder a = requests.get(endpoint + '\0' + status);
        return a == null ? 0 : a.sum();
    }

    String render(BatchScheduler.Stats s) {
        StringBuilder sb = new StringBuilder(2048);
        header(sb, "bitnet4j_requests_total", "counter", "HTTP requests answered, by endpoint and status code");
        Map<String, Long> sorted = new TreeMap<>();
        requests.forEach((k, v) -> sorted.put(k, v.sum()));
        sorted.forEach((k, v) -> {
            int z = k.indexOf('\0');
            sb.append("bitnet4j_requests_total{endpoint=\"").append(escape(k.substring(0, z))).append("\",status=\"")
                    .append(k.substring(z + 1)).append("\"} ").append(v).append('\n');
        });
        header(sb, "bitnet4j_generations_total", "counter", "generations that ended, by finish reason");
        sample(sb, "bitnet4j_generations_total{reason=\"stop\"}", s.finishedStop());
        sample(sb, "bitnet4j_generations_total{reason=\"length\"}", s.finishedLength());
        sample(sb, "bitnet4j_generations_total{reason=\"cancelled\"}", s.cancelled());
        sample(sb, "bitnet4j_generations_total{reason=\"error\"}", s.failed());
        gauge(sb, "bitnet4j_rejected_total", "counter", "requests refused because the queue was full (503)", s.rejected());
        gauge(sb, "bitnet4j_prompt_tokens_total", "counter", "prompt tokens evaluated (not counting reused cache)", s.promptTokens());
        gauge(sb, "bitnet4j_prompt_tokens_cached_total", "counter", "prompt tokens reused from a slot's KV cache", s.cachedPromptTokens());
        gauge(sb, "bitnet4j_tokens_generated_total", "counter", "tokens sampled", s.generatedTokens());
        gauge(sb, "bitnet4j_forward_passes_total", "counter", "batched forward passes", s.forwardPasses());
        gauge(sb, "bitnet4j_batch_rows_total", "counter", "rows (tokens) evaluated in forward passes", s.batchRows());
        gauge(sb, "bitnet4j_queue_length", "gauge", "requests waiting for a slot", s.queued());
        gauge(sb, "bitnet4j_slots_active", "gauge", "slots working on a request", s.activeSlots());
        gauge(sb, "bitnet4j_slots_total", "gauge", "slots (-np)", s.slots());
        header(sb, "bitnet4j_tokens_per_second", "gauge", "tokens generated per second over the last 10 s, all slots");
        sb.append("bitnet4j_tokens_per_second ").append(String.format(java.util.Locale.ROOT, "%.3f", s.generationTokensPerSecond()))
                .append('\n');
        return sb.toString();
    }

    private static void gauge(StringBuilder sb, String name, String type, String help, long v) {
        header(sb, name, type, help);
        sample(sb, name, v);
    }

    private static void header(StringBuilder sb, String name, String type, String help) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder sb, String series, long v) {
        sb.append(series).append(' ').append(v).append('\n');
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
