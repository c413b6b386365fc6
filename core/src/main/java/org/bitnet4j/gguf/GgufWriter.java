package org.bitnet4j.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
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
 * Writes a GGUF v3 file without holding it in memory. Metadata and tensor shapes are declared first; then each
 * tensor's bytes are produced in declaration order, either streamed in chunks of any size through
 * {@link #openTensor(String)} (the byte count is checked) or filled into a memory-mapped window of the output
 * through {@link #writeTensor(String, Consumer)} (several threads may fill rows of one window). Either way a
 * 20 GB model needs no more heap than the caller's chunk.
 *
 * <p>The file is written beside the target under a temporary name and renamed into place by {@link #finish()};
 * {@link #close()} without finish() deletes it. An existing target is never replaced unless asked, and a file
 * that appears at the target while writing is not replaced either.
 *
 * <pre>{@code
 * try (GgufWriter w = GgufWriter.create(path, false)) {
 *     w.put("general.architecture", GgufValue.of("bitnet-b1.58"));
 *     w.addTensor("token_embd.weight", new long[] {2560, 128256}, GgmlType.F16);
 *     try (GgufWriter.TensorOutput out = w.openTensor("token_embd.weight")) {
 *         for (...) out.write(rowBlock);          // exactly byteSize bytes in total
 *     }
 *     w.finish();
 * }
 * }</pre>
 */
public final class GgufWriter implements AutoCloseable {
    private record Declared(String name, long[] dims, GgmlType type, long bytes) {}

    private final Path target;
    private final Path temp;
    private final boolean overwrite;
    private final FileChannel channel;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Declared> tensors = new ArrayList<>();
    private final Map<String, Integer> index = new LinkedHashMap<>();
    private long[] offsets;
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;
    private long dataStart = -1;
    private long dataSize;
    /** index of the next tensor to write */
    private int next;
    private TensorOutput open;
    private boolean finished;

    private GgufWriter(Path target, Path temp, boolean overwrite, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.overwrite = overwrite;
        this.channel = channel;
    }

    /**
     * @param overwrite replace an existing file at target (otherwise that is an error, and the file is untouched)
     * @throws GgufFormatException if target exists and overwrite is false, or the folder cannot be written
     */
    public static GgufWriter create(Path target, boolean overwrite) {
        if (!overwrite && Files.exists(target)) {
            throw new GgufFormatException(target + ": exists; refusing to overwrite it (use --force)");
        }
        if (Files.isDirectory(target)) {
            throw new GgufFormatException(target + ": is a directory");
        }
        Path dir = target.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            // a fresh name (CREATE_NEW): an unrelated "x.gguf.tmp" the user may have is never truncated; not
            // Files.createTempFile, whose owner-only permissions the finished model would keep
            java.util.SplittableRandom rnd = new java.util.SplittableRandom();
            for (int attempt = 0; ; attempt++) {
                Path temp = dir.resolve(target.getFileName() + "." + Long.toHexString(rnd.nextLong() >>> 16) + ".tmp");
                try {
                    FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                            StandardOpenOption.WRITE);
                    return new GgufWriter(target, temp, overwrite, ch);
                } catch (FileAlreadyExistsException e) {
                    if (attempt == 9) {
                        throw e;
                    }
                }
            }
        } catch (IOException e) {
            throw new GgufFormatException(target + ": cannot write: " + e, e);
        }
    }

    public Path target() {
        return target;
    }

    /** The temporary file being written (renamed onto the target by finish()). */
    public Path tempFile() {
        return temp;
    }

    /**
     * Sets a metadata value (insertion order is file order; setting a key again replaces its value in place).
     * {@code general.alignment} also sets the alignment of the data section.
     *
     * @throws IllegalArgumentException if the value's Java type does not match its GGUF type
     */
    public GgufWriter put(String key, GgufValue value) {
        requireHeaderOpen();
        if (key.isEmpty() || key.getBytes(StandardCharsets.UTF_8).length > GgufFile.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("metadata key of " + key.length() + " characters (1.."
                    + GgufFile.MAX_KEY_BYTES + " bytes allowed)");
        }
        check(key, value.type(), value.value(), 0);
        if (key.equals("general.alignment")) {
            if (!value.type().isInteger()) {
                throw new IllegalArgumentException("general.alignment must be an integer, got " + value.type());
            }
            long a = ((Number) value.value()).longValue();
            if (a <= 0 || a > GgufFile.MAX_ALIGNMENT || Long.bitCount(a) != 1) {
                throw new IllegalArgumentException("general.alignment must be a power of two up to 1 MiB, got " + a);
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

    /** Declares a tensor; dims in GGUF order (dims[0] contiguous). Tensors are laid out and written in this order. */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type) {
        requireHeaderOpen();
        if (index.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " declared twice");
        }
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > GgufFile.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' is empty or too long");
        }
        if (dims.length < 1 || dims.length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException("tensor " + name + " has " + dims.length + " dimensions, expected 1.."
                    + GgufFile.MAX_DIMS);
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
        index.put(name, tensors.size());
        tensors.add(new Declared(name, dims.clone(), type, type.byteSize(n)));
        return this;
    }

    /** Bytes the named declared tensor occupies. */
    public long byteSize(String name) {
        return declared(name).bytes();
    }

    /**
     * Produces the next tensor through a writable window: {@code fill} receives a zeroed segment of exactly its
     * byte size, mapped onto the output file. The segment belongs to a shared arena, so the callback may hand
     * rows to other threads as long as they finish before it returns.
     */
    public void writeTensor(String name, Consumer<MemorySegment> fill) {
        int i = claim(name);
        Declared d = tensors.get(i);
        // no msync per tensor: the fsync in finish() flushes the page cache, mapped pages included (Linux, macOS),
        // and meanwhile the kernel writes back while the next tensor is computed
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_WRITE, dataStart + offsets[i], d.bytes(), arena);
            fill.accept(seg);
        } catch (InternalError e) {
            // how a mapped write reports an I/O error (a full disk, a file truncated by someone else)
            throw new UncheckedIOException(temp + ": cannot write tensor " + name + " (disk full?): " + e.getMessage(),
                    new IOException(e));
        } catch (IOException e) {
            throw new UncheckedIOException(temp + ": cannot write tensor " + name + ": " + e.getMessage(), e);
        }
        next++;
    }

    /**
     * Starts streaming the next tensor: write its bytes in chunks of any size, then close the output, which
     * checks that exactly {@link #byteSize(String)} bytes arrived.
     */
    public TensorOutput openTensor(String name) {
        int i = claim(name);
        open = new TensorOutput(tensors.get(i), dataStart + offsets[i]);
        return open;
    }

    private int claim(String name) {
        Integer i = index.get(name);
        if (i == null) {
            throw new IllegalArgumentException("tensor " + name + " was not declared");
        }
        if (open != null) {
            throw new IllegalStateException("tensor " + open.tensor.name() + " is still open");
        }
        if (i != next) {
            throw new IllegalStateException(i < next ? "tensor " + name + " written twice"
                    : "tensor " + name + " written out of order: tensors are written in declaration order, next is "
                    + tensors.get(next).name());
        }
        writeHeaderIfNeeded();
        return i;
    }

    /** Checks that every tensor was written, then moves the temporary file onto the target. */
    public void finish() {
        if (open != null) {
            throw new IllegalStateException("tensor " + open.tensor.name() + " is still open");
        }
        writeHeaderIfNeeded();
        if (next != tensors.size()) {
            List<String> missing = new ArrayList<>();
            for (int i = next; i < tensors.size(); i++) {
                missing.add(tensors.get(i).name());
            }
            throw new IllegalStateException("tensors declared but not written: " + missing);
        }
        long end = dataStart + align(dataSize);
        try {
            // the last tensor is padded too, as llama.cpp's writer does; mapped pages are zero-filled past their end
            channel.truncate(end);
            if (channel.size() < end) {
                channel.write(ByteBuffer.allocate(1), end - 1);
            }
            channel.force(true);
            channel.close();
            if (overwrite) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } else {
                publishWithoutReplacing();
            }
            finished = true;
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": cannot finish writing: " + e.getMessage(), e);
        }
    }

    /** A hard link fails if the target exists, atomically; where links are unsupported, check then move. */
    private void publishWithoutReplacing() throws IOException {
        try {
            Files.createLink(target, temp);
            Files.delete(temp);
        } catch (FileAlreadyExistsException e) {
            throw new GgufFormatException(target + ": appeared while writing; refusing to overwrite it (use --force)");
        } catch (UnsupportedOperationException | IOException e) {
            if (Files.exists(target)) {
                throw new GgufFormatException(target + ": appeared while writing; refusing to overwrite it (use --force)");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
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

    private Declared declared(String name) {
        Integer i = index.get(name);
        if (i == null) {
            throw new IllegalArgumentException("tensor " + name + " was not declared");
        }
        return tensors.get(i);
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
        offsets = new long[tensors.size()];
        long pos = 0;
        for (int i = 0; i < tensors.size(); i++) {
            offsets[i] = align(pos);
            pos = offsets[i] + tensors.get(i).bytes();
        }
        dataSize = pos;
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
        for (int i = 0; i < tensors.size(); i++) {
            Declared d = tensors.get(i);
            o.string(d.name());
            o.i32(d.dims().length);
            for (long dim : d.dims()) {
                o.i64(dim);
            }
            o.i32(d.type().id);
            o.i64(offsets[i]);
        }
        long headerEnd = o.size();
        dataStart = align(headerEnd);
        requireSpace(dataStart + align(dataSize));
        try {
            ByteBuffer b = o.buffer();
            long at = 0;
            while (b.hasRemaining()) {
                at += channel.write(b, at);
            }
            if (dataStart > headerEnd) {
                channel.write(ByteBuffer.allocate((int) (dataStart - headerEnd)), headerEnd);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(temp + ": cannot write the header: " + e.getMessage(), e);
        }
    }

    /**
     * Tensors are written into a sparse file through mappings, and a mapped write that finds the disk full kills
     * the thread with a memory fault instead of an IOException: so check the room first.
     */
    private void requireSpace(long fileBytes) {
        try {
            long free = Files.getFileStore(temp).getUsableSpace();
            if (free > 0 && free < fileBytes) {
                throw new GgufFormatException(target + ": needs " + fileBytes + " bytes, but only " + free
                        + " are free on " + Files.getFileStore(temp));
            }
        } catch (IOException e) {
            // no answer from the file system: go ahead, write errors are still reported
        }
    }

    /** Rejects values the header writer could not encode, naming the key (a wrong value is a caller's bug). */
    private static void check(String key, GgufValueType t, Object v, int depth) {
        boolean ok = switch (t) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> v instanceof Integer || v instanceof Long
                    || v instanceof Short || v instanceof Byte;
            case FLOAT32, FLOAT64 -> v instanceof Number;
            case BOOL -> v instanceof Boolean;
            case STRING -> v instanceof String;
            case ARRAY -> v instanceof GgufValue.Array;
        };
        if (!ok) {
            throw new IllegalArgumentException("metadata key '" + key + "': a " + t + " value cannot be "
                    + (v == null ? "null" : "a " + v.getClass().getSimpleName()));
        }
        if (t == GgufValueType.ARRAY) {
            if (depth >= GgufFile.MAX_NESTING) {
                throw new IllegalArgumentException("metadata key '" + key + "' nests arrays deeper than " + GgufFile.MAX_NESTING);
            }
            GgufValue.Array a = (GgufValue.Array) v;
            int len = switch (a.elements()) {
                case int[] x -> x.length;
                case long[] x -> x.length;
                case float[] x -> x.length;
                case double[] x -> x.length;
                case boolean[] x -> x.length;
                case List<?> x -> x.size();
                default -> throw new IllegalArgumentException("metadata key '" + key + "': unsupported array storage "
                        + a.elements().getClass().getSimpleName());
            };
            if (len != a.length()) {
                throw new IllegalArgumentException("metadata key '" + key + "': array length " + a.length() + " but "
                        + len + " elements");
            }
            for (int i = 0; i < len; i++) {
                check(key, a.elementType(), Out.element(a.elements(), i), depth + 1);
            }
        }
    }

    /**
     * Sequential output of one tensor's bytes, at most {@code size()} in total; {@link #close()} fails unless
     * exactly that many were written, and only then counts the tensor as written.
     */
    public final class TensorOutput implements WritableByteChannel {
        private final Declared tensor;
        private final long base;
        private long written;
        private boolean closed;

        private TensorOutput(Declared tensor, long base) {
            this.tensor = tensor;
            this.base = base;
        }

        public String name() {
            return tensor.name();
        }

        public long size() {
            return tensor.bytes();
        }

        public long written() {
            return written;
        }

        public long remaining() {
            return tensor.bytes() - written;
        }

        @Override
        public int write(ByteBuffer src) {
            ensureOpen();
            int n = src.remaining();
            if (n > remaining()) {
                throw new IllegalStateException("tensor " + tensor.name() + " is " + tensor.bytes() + " bytes; "
                        + written + " written, " + n + " more offered");
            }
            try {
                while (src.hasRemaining()) {
                    written += channel.write(src, base + written);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(temp + ": cannot write tensor " + tensor.name() + ": " + e.getMessage(), e);
            }
            return n;
        }

        /** Writes a chunk of any size (segments beyond 2 GB are written piecewise). */
        public void write(MemorySegment chunk) {
            ensureOpen();
            if (chunk.byteSize() > remaining()) {
                throw new IllegalStateException("tensor " + tensor.name() + " is " + tensor.bytes() + " bytes; "
                        + written + " written, " + chunk.byteSize() + " more offered");
            }
            // native, mapped and byte[] segments are viewed as buffers; other heap arrays (float[]...) are copied
            boolean view = chunk.heapBase().map(o -> o instanceof byte[]).orElse(true);
            int piece = view ? 1 << 30 : 1 << 20;
            byte[] copy = view ? null : new byte[(int) Math.min(piece, chunk.byteSize())];
            for (long at = 0; at < chunk.byteSize(); at += piece) {
                int n = (int) Math.min(piece, chunk.byteSize() - at);
                if (view) {
                    write(chunk.asSlice(at, n).asByteBuffer());
                } else {
                    MemorySegment.copy(chunk, ValueLayout.JAVA_BYTE, at, copy, 0, n);
                    write(ByteBuffer.wrap(copy, 0, n));
                }
            }
        }

        public void write(byte[] b, int off, int len) {
            write(ByteBuffer.wrap(b, off, len));
        }

        @Override
        public boolean isOpen() {
            return !closed;
        }

        private void ensureOpen() {
            if (closed) {
                throw new IllegalStateException("tensor " + tensor.name() + " output is closed");
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            open = null;
            if (written != tensor.bytes()) {
                throw new IllegalStateException("tensor " + tensor.name() + " needs " + tensor.bytes() + " bytes, "
                        + written + " were written");
            }
            next++;
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

        /** Element i of an array's storage; nested arrays and strings live in Lists (a nested array as GgufValue). */
        static Object element(Object storage, int i) {
            return switch (storage) {
                case int[] x -> x[i];
                case long[] x -> x[i];
                case float[] x -> x[i];
                case double[] x -> x[i];
                case boolean[] x -> x[i];
                case List<?> x -> x.get(i) instanceof GgufValue gv ? gv.value() : x.get(i);
                default -> throw new IllegalArgumentException("unsupported array storage " + storage.getClass());
            };
        }

        void array(GgufValue.Array a) {
            i32(a.elementType().id());
            i64(a.length());
            for (int i = 0; i < a.length(); i++) {
                value(a.elementType(), element(a.elements(), i));
            }
        }
    }
}
