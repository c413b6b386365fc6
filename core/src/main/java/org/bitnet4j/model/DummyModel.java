package org.bitnet4j.model;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufValueType;
import org.bitnet4j.gguf.GgufWriter;
import org.bitnet4j.tensor.WeightFormat;

/**
 * Random-weight BitNet models for benchmarks and tests: BitNet-b1.58-2B-4T's exact shape and bitnet.cpp's dummy
 * sizes. Every ternary tensor is beta * T with T in {-1, 0, +1} (about 31% zeros) and one fp16-exact beta per
 * tensor, drawn from (seed, tensor, row) alone, so the same seed gives the same weights in every format and any
 * thread count: converting between I2_S, TQ1_0, TQ2_0, F16 and F32 is lossless.
 */
public final class DummyModel {
    private DummyModel() {}

    /** One model shape: hidden / FFN / layers / heads as in bitnet.cpp's dummy generator, plus vocabulary. */
    public record Shape(String name, Architecture arch, int dim, int ffn, int layers, int heads, int kvHeads, int vocab,
                        int context, float ropeTheta) {
        public long ternaryParameters() {
            long hd = dim / heads;
            long q = (long) heads * hd, kv = (long) kvHeads * hd;
            return (long) layers * (dim * q + 2 * dim * kv + q * dim + 3L * dim * ffn);
        }
    }

    /** Shapes by name (case-insensitive lookup through {@link #shape(String)}). */
    public static final Map<String, Shape> SHAPES = shapes();

    private static Map<String, Shape> shapes() {
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("2B4T", new Shape("2B4T", Architecture.BITNET_B158, 2560, 6912, 30, 20, 5, 128256, 4096, 500000f));
        int[][] sizes = { // hidden, ffn, layers, heads (bitnet.cpp's generate-dummy-bitnet-model sizes)
                {768, 3072, 11, 12}, {1024, 3072, 24, 16}, {2048, 3584, 24, 32}, {1536, 9216, 28, 32},
                {3072, 7680, 24, 32}, {3840, 8192, 24, 32}, {4096, 12032, 32, 32}, {5120, 13824, 40, 40},
                {6656, 16384, 60, 52}, {8192, 24576, 80, 64}, {8192, 45568, 72, 64}};
        String[] names = {"125M", "350M", "1B", "1.5B", "2.7B", "3.8B", "7B", "13B", "30B", "70B", "100B"};
        for (int i = 0; i < names.length; i++) {
            int[] s = sizes[i];
            // as bitnet.cpp's generator: kv heads = heads, a 32002-row embedding (bitnet_b1_58-large's vocabulary)
            m.put(names[i], new Shape(names[i], Architecture.BITNET, s[0], s[1], s[2], s[3], s[3], 32002, 2048, 10000f));
        }
        // small shapes for tests and quick experiments
        m.put("tiny", new Shape("tiny", Architecture.BITNET_B158, 256, 768, 2, 4, 2, 512, 512, 500000f));
        m.put("tiny-bitnet", new Shape("tiny-bitnet", Architecture.BITNET, 256, 768, 2, 4, 4, 512, 512, 10000f));
        return m;
    }

    public static Shape shape(String name) {
        for (Shape s : SHAPES.values()) {
            if (s.name().equalsIgnoreCase(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown shape '" + name + "'; known: " + String.join(", ", SHAPES.keySet()));
    }

    /**
     * Writes a dummy model.
     *
     * @param linear    type of the seven projections (I2_S, TQ1_0, TQ2_0, F16, F32, ...)
     * @param embedding type of token_embd (F16, Q6_K, Q8_0, F32)
     * @param vocabFile a GGUF whose tokenizer.* keys are copied (its token count becomes the vocabulary), or null
     *                  for a synthetic byte-level vocabulary of the shape's size
     * @param progress  receives the number of bytes written after each tensor
     */
    public static void write(Shape s, GgmlType linear, GgmlType embedding, Path vocabFile, long seed, Path out,
                             boolean overwrite, int threads, LongConsumer progress) {
        Map<String, GgufValue> tok = vocabFile != null ? copyTokenizer(vocabFile) : syntheticVocab(s);
        int vocab = ((GgufValue.Array) tok.get("tokenizer.ggml.tokens").value()).length();
        String p = s.arch().ggufName + ".";
        int headDim = s.dim() / s.heads();
        try (GgufWriter w = GgufWriter.create(out, overwrite); ThreadPool pool = new ThreadPool(threads)) {
            w.put("general.architecture", GgufValue.of(s.arch().ggufName));
            w.put("general.name", GgufValue.of("bitnet4j dummy " + s.name() + " " + linear.name().toLowerCase(Locale.ROOT)
                    + " seed " + seed));
            w.put(p + "vocab_size", GgufValue.ofUInt32(vocab));
            w.put(p + "context_length", GgufValue.ofUInt32(s.context()));
            w.put(p + "embedding_length", GgufValue.ofUInt32(s.dim()));
            w.put(p + "block_count", GgufValue.ofUInt32(s.layers()));
            w.put(p + "feed_forward_length", GgufValue.ofUInt32(s.ffn()));
            w.put(p + "rope.dimension_count", GgufValue.ofUInt32(headDim));
            w.put(p + "attention.head_count", GgufValue.ofUInt32(s.heads()));
            w.put(p + "attention.head_count_kv", GgufValue.ofUInt32(s.kvHeads()));
            w.put(p + "rope.freq_base", GgufValue.ofFloat32(s.ropeTheta()));
            w.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(1e-5f));
            if (s.arch() == Architecture.BITNET) { // bitnet.cpp's generator writes these two for its bitnet models
                w.put(p + "rope.scaling.type", GgufValue.of("linear"));
                w.put(p + "rope.scaling.factor", GgufValue.ofFloat32(1f));
            }
            w.put("general.file_type", GgufValue.ofUInt32(fileType(linear)));
            w.putAll(tok);
            w.put("general.quantization_version", GgufValue.ofUInt32(2));

            List<TensorSpec> specs = tensors(s, vocab, linear, embedding);
            for (TensorSpec t : specs) {
                w.addTensor(t.name, t.ggufDims(), t.type);
            }
            long done = 0;
            for (int i = 0; i < specs.size(); i++) {
                TensorSpec t = specs.get(i);
                long tensorSeed = mix(seed, i);
                w.writeTensor(t.name, seg -> fill(t, seg, tensorSeed, pool));
                done += t.type.byteSize((long) t.rows * t.cols);
                progress.accept(done);
            }
            w.finish();
        }
    }

    /** Total bytes of tensor data a write will produce (for a progress bar). */
    public static long dataBytes(Shape s, int vocab, GgmlType linear, GgmlType embedding) {
        long n = 0;
        for (TensorSpec t : tensors(s, vocab, linear, embedding)) {
            n += t.type.byteSize((long) t.rows * t.cols);
        }
        return n;
    }

    public static int vocabSize(Shape s, Path vocabFile) {
        if (vocabFile == null) {
            return s.vocab();
        }
        try (GgufFile f = GgufFile.open(vocabFile)) {
            return f.metadata().getStringArray("tokenizer.ggml.tokens").size();
        }
    }

    private enum Kind { TERNARY, NORM, EMBEDDING }

    private record TensorSpec(String name, int rows, int cols, GgmlType type, Kind kind) {
        long[] ggufDims() {
            return rows == 1 ? new long[] {cols} : new long[] {cols, rows};
        }
    }

    private static List<TensorSpec> tensors(Shape s, int vocab, GgmlType linear, GgmlType embedding) {
        int hd = s.dim() / s.heads();
        int q = s.heads() * hd, kv = s.kvHeads() * hd;
        List<TensorSpec> l = new ArrayList<>();
        l.add(new TensorSpec("token_embd.weight", vocab, s.dim(), embedding, Kind.EMBEDDING));
        l.add(new TensorSpec("output_norm.weight", 1, s.dim(), GgmlType.F32, Kind.NORM));
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            l.add(new TensorSpec(b + "attn_norm.weight", 1, s.dim(), GgmlType.F32, Kind.NORM));
            l.add(new TensorSpec(b + "attn_q.weight", q, s.dim(), linear, Kind.TERNARY));
            l.add(new TensorSpec(b + "attn_k.weight", kv, s.dim(), linear, Kind.TERNARY));
            l.add(new TensorSpec(b + "attn_v.weight", kv, s.dim(), linear, Kind.TERNARY));
            if (s.arch().subNorms) {
                l.add(new TensorSpec(b + "attn_sub_norm.weight", 1, q, GgmlType.F32, Kind.NORM));
            }
            l.add(new TensorSpec(b + "attn_output.weight", s.dim(), q, linear, Kind.TERNARY));
            l.add(new TensorSpec(b + "ffn_norm.weight", 1, s.dim(), GgmlType.F32, Kind.NORM));
            l.add(new TensorSpec(b + "ffn_gate.weight", s.ffn(), s.dim(), linear, Kind.TERNARY));
            l.add(new TensorSpec(b + "ffn_up.weight", s.ffn(), s.dim(), linear, Kind.TERNARY));
            if (s.arch().subNorms) {
                l.add(new TensorSpec(b + "ffn_sub_norm.weight", 1, s.ffn(), GgmlType.F32, Kind.NORM));
            }
            l.add(new TensorSpec(b + "ffn_down.weight", s.dim(), s.ffn(), linear, Kind.TERNARY));
        }
        return l;
    }

    private static void fill(TensorSpec t, MemorySegment seg, long seed, ThreadPool pool) {
        WeightFormat f = WeightFormat.of(t.type);
        long total = (long) t.rows * t.cols;
        // beta: fp16-exact, around 1/sqrt(cols) so activations keep a sane size through the layers
        float beta = Float.float16ToFloat(Float.floatToFloat16(
                (float) ((0.8 + 0.4 * new SplittableRandom(seed).nextDouble()) / Math.sqrt(t.cols))));
        float[] lut = {0f, beta, -beta};
        int rowsPerTask = Math.max(1, (1 << 16) / t.cols);
        pool.forRange(t.rows, rowsPerTask, (r0, r1, thread) -> {
            float[] row = new float[t.cols];
            for (int r = r0; r < r1; r++) {
                SplittableRandom rnd = new SplittableRandom(mix(seed, r + 1));
                switch (t.kind) {
                    case TERNARY -> ternaryRow(rnd, lut, row);
                    case NORM -> {
                        for (int c = 0; c < t.cols; c++) {
                            row[c] = (float) (1 + 0.25 * rnd.nextGaussian());
                        }
                    }
                    case EMBEDDING -> {
                        for (int c = 0; c < t.cols; c++) {
                            row[c] = Float.float16ToFloat(Float.floatToFloat16((float) (0.125 * rnd.nextGaussian())));
                        }
                    }
                }
                f.quantize(row, 0, t.cols, seg, total, (long) r * t.cols, beta);
            }
        });
    }

    /** 16-bit zero threshold: P(0) = 20316 / 65536 = 0.31 */
    private static final int ZERO_BELOW = 20316;
    /** the rest split evenly between +beta and -beta */
    private static final int PLUS_BELOW = ZERO_BELOW + (65536 - ZERO_BELOW) / 2;

    /**
     * Four weights per 64-bit draw, without branches: with random data the two comparisons of a branchy version
     * mispredict about half the time, which made this loop the slowest part of writing a 2B4T model.
     */
    private static void ternaryRow(SplittableRandom rnd, float[] lut, float[] row) {
        long bits = 0;
        for (int c = 0; c < row.length; c++) {
            if ((c & 3) == 0) {
                bits = rnd.nextLong();
            }
            int x = (int) (bits >>> (16 * (c & 3))) & 0xFFFF;
            int k = ((ZERO_BELOW - 1 - x) >>> 31) + ((PLUS_BELOW - 1 - x) >>> 31); // 0: zero, 1: +beta, 2: -beta
            row[c] = lut[k];
        }
    }

    private static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** llama.cpp's general.file_type numbers (I2_S: bitnet.cpp's 40). */
    private static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q8_0 -> 7;
            case Q6_K -> 18;
            case BF16 -> 32;
            case TQ1_0 -> 36;
            case TQ2_0 -> 37;
            case I2_S -> 40;
        };
    }

    private static Map<String, GgufValue> copyTokenizer(Path vocabFile) {
        try (GgufFile f = GgufFile.open(vocabFile)) {
            Map<String, GgufValue> m = new LinkedHashMap<>();
            for (String k : f.metadata().keys()) {
                if (k.startsWith("tokenizer.")) {
                    m.put(k, f.metadata().get(k));
                }
            }
            if (!m.containsKey("tokenizer.ggml.tokens")) {
                throw new ModelException(vocabFile + ": has no tokenizer.ggml.tokens to copy");
            }
            return m;
        }
    }

    /**
     * Byte-level gpt2 vocabulary: ids 0..255 are the bytes (GPT-2 byte-to-unicode form), no merges, then unused
     * filler tokens; BOS/EOS (and EOT for Llama 3 sized vocabularies) at Llama 3's ids when the size allows.
     */
    private static Map<String, GgufValue> syntheticVocab(Shape s) {
        int n = s.vocab();
        List<String> tokens = new ArrayList<>(n);
        int[] types = new int[n];
        for (int b = 0; b < 256; b++) {
            tokens.add(byteToUnicode(b));
            types[b] = 1;
        }
        int bos = n >= 128256 ? 128000 : n - 2, eos = bos + 1, eot = n >= 128256 ? 128009 : -1;
        for (int i = 256; i < n; i++) {
            if (i == bos) {
                tokens.add("<|begin_of_text|>");
                types[i] = 3;
            } else if (i == eos) {
                tokens.add("<|end_of_text|>");
                types[i] = 3;
            } else if (i == eot) {
                tokens.add("<|eot_id|>");
                types[i] = 3;
            } else {
                tokens.add("<|unused_" + i + "|>");
                types[i] = 5;
            }
        }
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.of("llama-bpe"));
        m.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
        m.put("tokenizer.ggml.token_type", GgufValue.ofInts(types));
        m.put("tokenizer.ggml.merges", GgufValue.ofStrings(List.of()));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(bos));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(eos));
        if (eot >= 0) {
            m.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(eot));
        }
        m.put("tokenizer.ggml.add_bos_token", new GgufValue(GgufValueType.BOOL, true));
        m.put("tokenizer.ggml.add_eos_token", new GgufValue(GgufValueType.BOOL, false));
        return m;
    }

    /** GPT-2's printable stand-in for a byte. */
    static String byteToUnicode(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int k = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!p) {
                k++;
            }
        }
        return String.valueOf((char) (256 + k));
    }
}
