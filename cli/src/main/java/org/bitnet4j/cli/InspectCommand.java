package org.bitnet4j.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufMetadata;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.gguf.GgufValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a GGUF file: architecture, hyperparameters, tokenizer, metadata, tensors and totals.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MODEL.gguf", description = "the file")
    Path file;

    @Option(names = "--no-tensors", description = "leave out the tensor table")
    boolean noTensors;

    static final String[] HYPER = {"context_length", "embedding_length", "block_count", "feed_forward_length",
            "attention.head_count", "attention.head_count_kv", "rope.dimension_count", "rope.freq_base",
            "attention.layer_norm_rms_epsilon", "vocab_size"};

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile g = GgufFile.open(file)) {
            GgufMetadata md = g.metadata();
            String arch = md.getString("general.architecture", "?");
            out.printf("file:          %s%n", file);
            out.printf("size:          %,d bytes (%s)%n", g.fileSize(), BenchCommand.bytes(g.fileSize()));
            out.printf("gguf:          version %d, alignment %d, %d metadata keys, %d tensors, data at offset %d%n",
                    g.version(), g.alignment(), md.keys().size(), g.tensors().size(), g.dataOffset());
            out.printf("architecture:  %s%s%n", arch, md.has("general.name") ? "  (" + md.getString("general.name") + ")" : "");
            out.println();
            out.println("hyperparameters:");
            for (String h : HYPER) {
                String k = arch + "." + h;
                if (md.has(k)) {
                    out.printf("  %-34s %s%n", h, md.get(k));
                }
            }
            if (!md.has(arch + ".vocab_size") && md.has("tokenizer.ggml.tokens") && md.get("tokenizer.ggml.tokens").isArray()) {
                out.printf("  %-34s %d (tokenizer.ggml.tokens)%n", "vocab_size", md.get("tokenizer.ggml.tokens").array().length());
            }
            out.println();
            out.println("tokenizer:");
            if (md.has("tokenizer.ggml.model")) {
                out.printf("  %-34s %s%n", "model", md.getString("tokenizer.ggml.model"));
                out.printf("  %-34s %s%n", "pre", md.getString("tokenizer.ggml.pre", "(none)"));
                out.printf("  %-34s %s%n", "tokens", length(md, "tokenizer.ggml.tokens"));
                out.printf("  %-34s %s%n", "merges", length(md, "tokenizer.ggml.merges"));
                for (String k : List.of("bos_token_id", "eos_token_id", "eot_token_id", "add_bos_token", "add_eos_token")) {
                    if (md.has("tokenizer.ggml." + k)) {
                        out.printf("  %-34s %s%n", k, md.get("tokenizer.ggml." + k));
                    }
                }
                out.printf("  %-34s %s%n", "chat template", md.has("tokenizer.chat_template") ? "yes" : "no");
            } else {
                out.println("  (none)");
            }
            out.println();
            out.println("other metadata:");
            for (Map.Entry<String, GgufValue> e : md.asMap().entrySet()) {
                String k = e.getKey();
                boolean shown = k.startsWith("tokenizer.") || k.equals("general.architecture") || k.equals("general.name");
                for (String h : HYPER) {
                    shown |= k.equals(arch + "." + h);
                }
                if (!shown) {
                    String v = summary(e.getValue());
                    out.printf("  %-36s %s%n", k, v.length() > 80 ? v.substring(0, 77) + "..." : v);
                }
            }
            long params = 0, ternary = 0, ternaryBytes = 0;
            Map<String, long[]> byType = new TreeMap<>();
            if (!noTensors) {
                out.println();
                out.printf("%-36s %-6s %-20s %14s%n", "tensor", "type", "shape", "bytes");
            }
            for (GgufTensorInfo t : g.tensors()) {
                params += t.elements();
                if (t.type().isTernary()) {
                    ternary += t.elements();
                    ternaryBytes += t.byteSize();
                }
                byType.computeIfAbsent(t.type().name(), x -> new long[3]);
                long[] a = byType.get(t.type().name());
                a[0]++;
                a[1] += t.elements();
                a[2] += t.byteSize();
                if (!noTensors) {
                    out.printf("%-36s %-6s %-20s %,14d%n", t.name(), t.type(), t.shape(), t.byteSize());
                }
            }
            out.println();
            out.println("totals:");
            for (Map.Entry<String, long[]> e : byType.entrySet()) {
                long[] a = e.getValue();
                out.printf("  %-6s %4d tensors %,16d parameters %,16d bytes%n", e.getKey(), a[0], a[1], a[2]);
            }
            out.printf("  parameters:         %,d (%s)%n", params, BenchCommand.count(params));
            if (ternary > 0) {
                out.printf("  ternary parameters: %,d, %.4f bits per weight as stored%n", ternary, 8.0 * ternaryBytes / ternary);
            }
            out.printf("  file:               %.4f bits per parameter overall%n", 8.0 * g.fileSize() / params);
        }
        return 0;
    }

    /** An array's length; 0 when absent, the value's summary when it is not an array. */
    static String length(GgufMetadata md, String key) {
        if (!md.has(key)) {
            return "0";
        }
        GgufValue v = md.get(key);
        return v.isArray() ? String.valueOf(v.array().length()) : "not an array: " + summary(v);
    }

    /** Scalars as they are; arrays as their element type and length with the first few elements. */
    static String summary(GgufValue v) {
        if (!v.isArray()) {
            return v.type() == org.bitnet4j.gguf.GgufValueType.STRING ? "\"" + v.value() + "\"" : String.valueOf(v.value());
        }
        GgufValue.Array a = v.array();
        StringBuilder b = new StringBuilder("[" + a.elementType() + " x " + a.length());
        int shown = Math.min(a.length(), 4);
        for (int i = 0; i < shown; i++) {
            b.append(i == 0 ? ": " : ", ").append(switch (a.elements()) {
                case int[] x -> String.valueOf(x[i]);
                case long[] x -> String.valueOf(x[i]);
                case float[] x -> String.valueOf(x[i]);
                case double[] x -> String.valueOf(x[i]);
                case boolean[] x -> String.valueOf(x[i]);
                case List<?> x -> x.get(i) instanceof GgufValue g ? summary(g) : "\"" + x.get(i) + "\"";
                default -> "?";
            });
        }
        return b.append(a.length() > shown ? ", ...]" : "]").toString();
    }
}
