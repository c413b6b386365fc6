package org.bitnet4j.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes a GGUF v3 file without holding it in memory: metadata and tensor shapes are declared first, then each
 * tensor's bytes are produced straight into a memory-mapped window of the output (one tensor at a time, so a
 * 20 GB model needs no more memory than its largest tensor's page cache). The file is written beside the target
 * under a temporary name and renamed into place by {@link #finish()}; {@link #close()} without finish() deletes
 * it. An existing target is never replaced unless asked.
 *
 * <pre>{@code
 * try (GgufWriter w = GgufWriter.create(path, false)) {
 *     w.put("general.architecture", GgufValue.of("bitnet-b1.58"));
 *     w.addTensor("token_embd.weight", new long[] {2560, 128256}, GgmlType.F16);
 *     w.writeTensor("token_embd.weight", seg -> ...fill seg...);
 *     w.finish();
 * }
 * }</pre>
 */
public final class GgufWriter implements AutoCloseable {
    private record Declared(String name, long[] dims, GgmlType type, long offset, long bytes) {}

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final Map<String, Declared> tensors = new LinkedHashMap<>();
    private final List<String> written = new ArrayList<>();
    private int alignment = 32;
    private long dataStart = -1;
    private long dataSize;
    private boolean finished;

    private GgufWriter(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    /** @param overwrite replace an existing file at target (otherwise that is an error) */
    public static GgufWriter create(Path target, boolean overwrite) {
        if (!overwrite && Files.exists(target)) {
            throw new GgufFormatException(target + ": exists; refusing to overwrite it (use --force)");
        }
        Path dir = target.toAbsolutePath().getParent();
        try {
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Path temp = target.resolveSibling(target.getFileName() + ".tmp");
            FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            return new GgufWriter(target, temp, ch);
        } catch (IOException e) {
            throw new GgufFormatException(target + ": cannot write: " + e.getMessage(), e);
        }
    }

    public Path target() {
        return target;
    }

    /** Sets a metadata value (insertion order is file order); {@code general.alignment} also sets the alignment. */
    public GgufWriter put(String key, GgufValue value) {
        requireHeaderOpen();
        if (key.equals("general.alignment")) {
            long a = ((Number) value.value()).longValue();
            if (a <= 0 || Long.bitCount(a) != 1) {
                throw new IllegalArgumentException("general.alignment must be a power of two, got " + a);
            }
            alignment = (int) a;
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putAll(Map<String, GgufValue> values) {
        values.forEach(this::put);
        return this;
    }

    /** Declares a tensor; dims in GGUF order (dims[0] contiguous). Data offsets are assigned in declaration order. */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type) {
        requireHeaderOpen();
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " declared twice");
        }
        long n = 1;
        for (long d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor " + name + " has a non-positive dimension");
            }
            n = Math.multiplyExact(n, d);
        }
        if (dims[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor " + name + ": first dimension " + dims[0] + " is not a multiple of "
                    + type + "'s block size " + type.blockSize);
        }
        long bytes = type.byteSize(n);
        long offset = align(dataSize);
        tensors.put(name, new Declared(name, dims.clone(), type, offset, bytes));
        dataSize = offset + bytes;
        return this;
    }

    /**
     * Produces one declared tensor: {@code fill} receives a writable segment of exactly its byte size (zeroed),
     * mapped onto the output file. Tensors may be written in any order, each once.
     */
    public void writeTensor(String name, Consumer<MemorySegment> fill) {
        Declared d = tensors.get(name);
        if (d == null) {
            throw new IllegalArgumentException("tensor " + name + " was not declared");
        }
        if (written.contains(name)) {
            throw new IllegalArgumentException("tensor " + name + " written twice");
        }
        writeHeaderIfNeeded();
        try (Arena arena = Arena.ofShared()) { // shared: producers may fill rows from several threads
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_WRITE, dataStart + d.offset(), d.bytes(), arena);
            fill.accept(seg);
            seg.force();
        } catch (IOException e) {
            throw new UncheckedIOException(temp + ": cannot write tensor " + name + ": " + e.getMessage(), e);
        }
        written.add(name);
    }

    /** Checks that every tensor was written, then renames the temporary file onto the target. */
    public void finish() {
        writeHeaderIfNeeded();
        if (written.size() != tensors.size()) {
            List<String> missing = new ArrayList<>(tensors.keySet());
            missing.removeAll(written);
            throw new IllegalStateException("tensors declared but not written: " + missing);
        }
        try {
            channel.truncate(dataStart + align(dataSize));
            if (channel.size() < dataStart + align(dataSize)) {
                channel.write(ByteBuffer.allocate(1), dataStart + align(dataSize) - 1);
            }
            channel.force(true);
            channel.close();
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            finished = true;
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": cannot finish writing: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (!finished) {
            try {
                channel.close();
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                // the temporary file stays; nothing the user had is touched
            }
        }
    }

    private long align(long v) {
        return (v + alignment - 1) / alignment * alignment;
    }

    private void requireHeaderOpen() {
        if (dataStart >= 0) {
            throw new IllegalStateException("metadata and tensors must be declared before the first tensor is written");
        }
    }

    private void writeHeaderIfNeeded() {
        if (dataStart >= 0) {
            return;
        }
        Out o = new Out();
        o.i32(GgufFile.MAGIC);
        o.i32(3);
        o.i64(tensors.size());
        o.i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            o.string(e.getKey());
            o.i32(e.getValue().type().id());
            o.value(e.getValue().type(), e.getValue().value());
        }
        for (Declared d : tensors.values()) {
            o.string(d.name());
            o.i32(d.dims().length);
            for (long dim : d.dims()) {
                o.i64(dim);
            }
            o.i32(d.type().id);
            o.i64(d.offset());
        }
        long headerEnd = o.size();
        dataStart = align(headerEnd);
        try {
            ByteBuffer b = o.buffer();
            long pos = 0;
            while (b.hasRemaining()) {
                pos += channel.write(b, pos);
            }
            if (dataStart > headerEnd) {
                channel.write(ByteBuffer.allocate((int) (dataStart - headerEnd)), headerEnd);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(temp + ": cannot write the header: " + e.getMessage(), e);
        }
    }

    /** A growing little-endian byte buffer for the header. */
    private static final class Out {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                b.flip();
                bigger.put(b);
                b = bigger;
            }
        }

        long size() {
            return b.position();
        }

        ByteBuffer buffer() {
            ByteBuffer d = b.duplicate();
            d.flip();
            return d;
        }

        void i8(int v) {
            ensure(1);
            b.put((byte) v);
        }

        void i16(int v) {
            ensure(2);
            b.putShort((short) v);
        }

        void i32(int v) {
            ensure(4);
            b.putInt(v);
        }

        void i64(long v) {
            ensure(8);
            b.putLong(v);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            ensure(bytes.length);
            b.put(bytes);
        }

        void value(GgufValueType t, Object v) {
            switch (t) {
                case UINT8, INT8 -> i8(((Number) v).intValue());
                case UINT16, INT16 -> i16(((Number) v).intValue());
                case UINT32, INT32 -> i32(((Number) v).intValue());
                case UINT64, INT64 -> i64(((Number) v).longValue());
                case FLOAT32 -> { ensure(4); b.putFloat(((Number) v).floatValue()); }
                case FLOAT64 -> { ensure(8); b.putDouble(((Number) v).doubleValue()); }
                case BOOL -> i8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> array((GgufValue.Array) v);
            }
        }

        void array(GgufValue.Array a) {
            i32(a.elementType().id());
            i64(a.length());
            Object e = a.elements();
            for (int i = 0; i < a.length(); i++) {
                Object item = switch (e) {
                    case int[] x -> x[i];
                    case long[] x -> x[i];
                    case float[] x -> x[i];
                    case double[] x -> x[i];
                    case boolean[] x -> x[i];
                    case List<?> x -> x.get(i) instanceof GgufValue gv ? gv.value() : x.get(i);
                    default -> throw new IllegalArgumentException("unsupported array storage " + e.getClass());
                };
                value(a.elementType(), item);
            }
        }
    }
}
