package org.bitnet4j.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.gguf.GgufFormatException;
import org.bitnet4j.gguf.GgufTensorInfo;
import org.bitnet4j.tensor.Matrices;
import org.bitnet4j.tensor.Matrix;
import org.bitnet4j.tensor.WeightFormat;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * A loaded model: configuration, weights (matrices over the memory-mapped file) and tokenizer.
 * The forward pass lives in {@link Forward}; sessions, sampling and chat live in {@code org.bitnet4j.generate}.
 */
public final class Model implements AutoCloseable {
    public final ModelConfig config;
    public final Tokenizer tokenizer;
    private final GgufFile file;
    final Matrix embedding;     // [vocab][dim]
    final float[] outputNorm;   // [dim]
    final Matrix output;        // [vocab][dim], the embedding itself when tied
    final Layer[] layers;

    private Model(GgufFile file, ModelConfig config, Tokenizer tokenizer, Matrix embedding, float[] outputNorm,
                  Matrix output, Layer[] layers) {
        this.file = file;
        this.config = config;
        this.tokenizer = tokenizer;
        this.embedding = embedding;
        this.outputNorm = outputNorm;
        this.output = output;
        this.layers = layers;
    }

    public static Model load(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            ModelConfig c = ModelConfig.from(file);
            Tokenizer tok = Tokenizer.fromGguf(file.metadata());
            checkHeap(file);
            Loader l = new Loader(file);
            Matrix embd = l.matrix("token_embd.weight", c.vocab(), c.dim());
            float[] outNorm = l.vector("output_norm.weight", c.dim());
            Matrix out = file.tensor("output.weight") != null ? l.matrix("output.weight", c.vocab(), c.dim()) : embd;
            Layer[] layers = new Layer[c.layers()];
            for (int i = 0; i < c.layers(); i++) {
                String b = "blk." + i + ".";
                boolean sub = c.arch().subNorms;
                layers[i] = new Layer(
                        l.vector(b + "attn_norm.weight", c.dim()),
                        l.matrix(b + "attn_q.weight", c.qDim(), c.dim()),
                        l.matrix(b + "attn_k.weight", c.kvDim(), c.dim()),
                        l.matrix(b + "attn_v.weight", c.kvDim(), c.dim()),
                        sub ? l.vector(b + "attn_sub_norm.weight", c.qDim()) : null,
                        l.matrix(b + "attn_output.weight", c.dim(), c.qDim()),
                        l.vector(b + "ffn_norm.weight", c.dim()),
                        l.matrix(b + "ffn_gate.weight", c.ffnDim(), c.dim()),
                        l.matrix(b + "ffn_up.weight", c.ffnDim(), c.dim()),
                        sub ? l.vector(b + "ffn_sub_norm.weight", c.ffnDim()) : null,
                        l.matrix(b + "ffn_down.weight", c.dim(), c.ffnDim()),
                        new float[] {
                                l.scale(b + "attn_q.scale"), l.scale(b + "attn_k.scale"), l.scale(b + "attn_v.scale"),
                                l.scale(b + "attn_output.scale"), l.scale(b + "ffn_gate.scale"),
                                l.scale(b + "ffn_up.scale"), l.scale(b + "ffn_down.scale")});
            }
            l.throwIfMissing();
            return new Model(file, c, tok, embd, outNorm, out, layers);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * I2_S and TQ2_0 weights are repacked onto the heap for the vector kernels (about their file size); refuse
     * up front, with what to do, rather than fail with an OutOfMemoryError halfway through loading.
     */
    private static void checkHeap(GgufFile file) {
        long repacked = 0;
        for (GgufTensorInfo t : file.tensors()) {
            if (t.type() == GgmlType.I2_S || t.type() == GgmlType.TQ2_0) {
                repacked += t.byteSize();
            }
        }
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (repacked > free - (64L << 20)) {
            throw new ModelException(file.path() + ": its " + (repacked >> 20) + " MiB of I2_S/TQ2_0 weights are repacked "
                    + "in memory but only " + (free >> 20) + " MiB of heap is free; raise it (BITNET4J_JAVA_OPTS=-Xmx"
                    + ((repacked * 5 / 4 >> 30) + 2) + "g) or use a TQ1_0 file, which runs from the mapped file");
        }
    }

    public Path path() {
        return file.path();
    }

    public GgufFile file() {
        return file;
    }

    /** Parameter count of the weights in the file. */
    public long parameterCount() {
        long n = 0;
        for (GgufTensorInfo t : file.tensors()) {
            n += t.elements();
        }
        return n;
    }

    @Override
    public void close() {
        file.close();
    }

    /** Builds matrices and vectors by name, collecting every missing tensor so one message lists them all. */
    private static final class Loader {
        private final GgufFile file;
        private final List<String> missing = new ArrayList<>();

        Loader(GgufFile file) {
            this.file = file;
        }

        Matrix matrix(String name, int rows, int cols) {
            GgufTensorInfo t = file.tensor(name);
            if (t == null) {
                missing.add(name + " [" + cols + ", " + rows + "]");
                return null;
            }
            if (t.dims().length != 2 || t.dims()[0] != cols || t.dims()[1] != rows) {
                throw new ModelException(file.path() + ": tensor " + name + " has shape " + shape(t.dims())
                        + ", expected [" + cols + ", " + rows + "]");
            }
            try {
                return Matrices.of(t.type(), file.data(t), rows, cols);
            } catch (GgufFormatException e) {
                throw new GgufFormatException(file.path() + ": tensor " + name + ": " + e.getMessage(), e);
            }
        }

        float[] vector(String name, int n) {
            GgufTensorInfo t = file.tensor(name);
            if (t == null) {
                missing.add(name + " [" + n + "]");
                return null;
            }
            if (t.elements() != n || t.dims()[0] != n) {
                throw new ModelException(file.path() + ": tensor " + name + " has shape " + shape(t.dims())
                        + ", expected [" + n + "]");
            }
            if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16) {
                throw new ModelException(file.path() + ": tensor " + name + " is " + t.type()
                        + "; norm weights must be F32, F16 or BF16");
            }
            float[] v = new float[n];
            WeightFormat.of(t.type()).dequantize(file.data(t), n, 0, v, 0, n);
            return v;
        }

        float scale(String name) {
            GgufTensorInfo t = file.tensor(name);
            if (t == null) {
                return 1f;
            }
            if (t.elements() != 1 || t.type() != GgmlType.F32) {
                throw new ModelException(file.path() + ": tensor " + name + " must be a single F32 value, is "
                        + t.type() + " " + shape(t.dims()));
            }
            float[] v = new float[1];
            WeightFormat.of(t.type()).dequantize(file.data(t), 1, 0, v, 0, 1);
            return v[0];
        }

        void throwIfMissing() {
            if (!missing.isEmpty()) {
                throw new ModelException(file.path() + ": missing " + missing.size() + " tensor(s) required by architecture "
                        + file.metadata().getString("general.architecture") + ": " + String.join(", ", missing.subList(0,
                        Math.min(12, missing.size()))) + (missing.size() > 12 ? ", ..." : ""));
            }
        }

        private static String shape(long[] dims) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < dims.length; i++) {
                sb.append(i > 0 ? ", " : "").append(dims[i]);
            }
            return sb.append(']').toString();
        }
    }
}
