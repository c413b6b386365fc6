package org.bitnet4j.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (v2 or v3), memory-mapped with FFM so files far beyond 2 GB work and tensor data is never
 * copied into the heap. Every count, length, offset and size is checked against the file before it is used:
 * a malformed file gives one {@link GgufFormatException} naming the file and the byte offset or key.
 */
public final class GgufFile implements AutoCloseable {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int MAX_DIMS = 4;
    static final int MAX_NESTING = 8;
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_ALIGNMENT = 1 << 20;
    /** the GGUF specification's limit for keys; also applied to tensor names */
    static final int MAX_KEY_BYTES = 65535;
    /** no real metadata string (chat templates included) comes near this; a larger one is a corrupt length */
    static final long MAX_STRING_BYTES = 64L << 20;
    /** likewise for arrays: vocabularies have a few hundred thousand entries */
    static final long MAX_ARRAY_LENGTH = 1L << 26;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final String name;
    private final Arena arena;
    private final MemorySegment segment;
    private final int version;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> byName;
    private final long dataOffset;
    private final int alignment;

    private GgufFile(Path path, String name, Arena arena, MemorySegment segment) {
        this.path = path;
        this.name = name;
        this.arena = arena;
        this.segment = segment;
        Parser p = new Parser(segment, name);
        int magic = p.i32("magic");
        if (magic != MAGIC) {
            throw new GgufFormatException(name + ": not a GGUF file (magic bytes at offset 0 are "
                    + String.format("0x%08x", magic) + ", expected \"GGUF\")");
        }
        version = p.i32("version");
        if (version != 2 && version != 3) {
            throw new GgufFormatException(name + ": GGUF version " + version + " is not supported (only 2 and 3)");
        }
        long tensorCount = p.i64("tensor count");
        long kvCount = p.i64("metadata count");
        // each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8
        if (kvCount < 0 || kvCount > p.remaining() / 13) {
            throw new GgufFormatException(name + ": metadata count " + Long.toUnsignedString(kvCount)
                    + " at offset 16 cannot fit in a file of " + segment.byteSize() + " bytes");
        }
        if (tensorCount < 0 || tensorCount > p.remaining() / 32) {
            throw new GgufFormatException(name + ": tensor count " + Long.toUnsignedString(tensorCount)
                    + " at offset 8 cannot fit in a file of " + segment.byteSize() + " bytes");
        }
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = p.pos;
            String key = p.string("metadata key #" + i, MAX_KEY_BYTES);
            int typeId = p.i32("type of '" + key + "'");
            GgufValueType type = GgufValueType.fromId(typeId);
            if (type == null) {
                throw new GgufFormatException(name + ": metadata key '" + key + "' at offset " + at
                        + " has unknown value type " + typeId);
            }
            GgufValue v = p.value(type, key, 0);
            if (kv.putIfAbsent(key, v) != null) {
                throw new GgufFormatException(name + ": metadata key '" + key + "' at offset " + at + " appears twice");
            }
        }
        metadata = new GgufMetadata(name, kv);
        GgufValue align = kv.get("general.alignment");
        if (align != null) {
            if (!align.type().isInteger()) {
                throw new GgufFormatException(name + ": metadata key 'general.alignment' must be an integer, is " + align.type());
            }
            long a = ((Number) align.value()).longValue();
            if (a <= 0 || a > MAX_ALIGNMENT || Long.bitCount(a) != 1) {
                throw new GgufFormatException(name + ": general.alignment " + a + " is not a power of two (up to 1 MiB)");
            }
            alignment = (int) a;
        } else {
            alignment = DEFAULT_ALIGNMENT;
        }
        // the count is only bounded by the file size: grow the list as tensors are actually read
        List<GgufTensorInfo> list = new ArrayList<>((int) Math.min(tensorCount, 1024));
        Map<String, GgufTensorInfo> names = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long at = p.pos;
            String tname = p.string("name of tensor #" + i, MAX_KEY_BYTES);
            String where = name + ": tensor '" + tname + "' (header offset " + at + ")";
            int nd = p.i32("dimension count of tensor '" + tname + "'");
            if (nd < 1 || nd > MAX_DIMS) {
                throw new GgufFormatException(where + " has " + nd + " dimensions, expected 1.." + MAX_DIMS);
            }
            long[] dims = new long[nd];
            long elements = 1;
            for (int d = 0; d < nd; d++) {
                dims[d] = p.i64("dimension " + d + " of tensor '" + tname + "'");
                if (dims[d] <= 0) {
                    throw new GgufFormatException(where + " has dimension " + d + " = " + Long.toUnsignedString(dims[d])
                            + ", must be positive");
                }
                try {
                    elements = Math.multiplyExact(elements, dims[d]);
                } catch (ArithmeticException e) {
                    throw new GgufFormatException(where + " has an element count that overflows: " + java.util.Arrays.toString(dims));
                }
            }
            GgmlType type = GgmlType.fromId(p.i32("type of tensor '" + tname + "'"), where);
            long offset = p.i64("data offset of tensor '" + tname + "'");
            if (dims[0] % type.blockSize != 0) {
                throw new GgufFormatException(where + ": its first dimension " + dims[0] + " is not a multiple of "
                        + type + "'s block size " + type.blockSize);
            }
            long bytes;
            try {
                bytes = type.byteSize(elements);
            } catch (ArithmeticException e) {
                throw new GgufFormatException(where + " is too large");
            }
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException(where + ": data offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            GgufTensorInfo t = new GgufTensorInfo(tname, dims, type, offset, bytes);
            if (names.putIfAbsent(tname, t) != null) {
                throw new GgufFormatException(where + ": the name appears twice");
            }
            list.add(t);
        }
        long start = (p.pos + alignment - 1) / alignment * alignment;
        dataOffset = start;
        long dataSize = segment.byteSize() - start;
        if (dataSize < 0 && !list.isEmpty()) {
            throw new GgufFormatException(name + ": the file ends at byte " + segment.byteSize()
                    + " before its data section (offset " + start + ")");
        }
        List<GgufTensorInfo> sorted = new ArrayList<>(list);
        sorted.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        long end = 0;
        String prev = null;
        for (GgufTensorInfo t : sorted) {
            if (t.offset() > dataSize || t.byteSize() > dataSize - t.offset()) {
                throw new GgufFormatException(name + ": tensor '" + t.name() + "' data (" + t.byteSize() + " bytes at data offset "
                        + t.offset() + ", file offset " + (start + t.offset()) + ") extends past the end of the file ("
                        + segment.byteSize() + " bytes); the file is truncated or corrupt");
            }
            if (t.offset() < end) {
                throw new GgufFormatException(name + ": tensor '" + t.name() + "' data at offset " + t.offset()
                        + " overlaps tensor '" + prev + "'");
            }
            end = t.offset() + t.byteSize();
            prev = t.name();
        }
        tensors = Collections.unmodifiableList(list);
        byName = names;
    }

    /** Opens and maps a file; the mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) {
        String name = path.toString();
        if (Files.isDirectory(path)) {
            throw new GgufFormatException(name + ": is a directory, not a GGUF file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 24) {
                throw new GgufFormatException(name + ": file of " + size + " bytes is too short for a GGUF header (24 bytes)");
            }
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new GgufFile(path, name, arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new GgufFormatException(name + ": file not found");
        } catch (AccessDeniedException e) {
            arena.close();
            throw new GgufFormatException(name + ": permission denied");
        } catch (IOException e) {
            arena.close();
            throw new GgufFormatException(name + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Parses a GGUF image already in memory (tests, fuzzing). */
    public static GgufFile parse(MemorySegment image, String name) {
        if (image.byteSize() < 24) {
            throw new GgufFormatException(name + ": " + image.byteSize() + " bytes is too short for a GGUF header (24 bytes)");
        }
        return new GgufFile(Path.of(name), name, null, image.asReadOnly());
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    /** The tensor of that name, or null. */
    public GgufTensorInfo tensor(String tensorName) {
        return byName.get(tensorName);
    }

    /** Read-only view of a tensor's bytes, exactly byteSize long. */
    public MemorySegment data(GgufTensorInfo t) {
        return segment.asSlice(dataOffset + t.offset(), t.byteSize()).asReadOnly();
    }

    public long fileSize() {
        return segment.byteSize();
    }

    public long dataOffset() {
        return dataOffset;
    }

    public int alignment() {
        return alignment;
    }

    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }

    /** Bounds-checked little-endian reads from the mapped header. */
    private static final class Parser {
        final MemorySegment seg;
        final String file;
        long pos;

        Parser(MemorySegment seg, String file) {
            this.seg = seg;
            this.file = file;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        private void need(long n, String what) {
            if (n < 0 || n > remaining()) {
                throw new GgufFormatException(file + ": truncated at offset " + pos + " while reading " + what
                        + " (needs " + (n < 0 ? Long.toUnsignedString(n) : n) + " bytes, " + remaining() + " left)");
            }
        }

        int i32(String what) {
            need(4, what);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long i64(String what) {
            need(8, what);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        String string(String what) {
            return string(what, MAX_STRING_BYTES);
        }

        String string(String what, long max) {
            long at = pos;
            long len = i64("length of " + what);
            if (len < 0 || len > remaining()) {
                throw new GgufFormatException(file + ": " + what + " at offset " + at + " has length "
                        + Long.toUnsignedString(len) + ", past the end of the file (" + remaining() + " bytes left)");
            }
            if (len > max) {
                throw new GgufFormatException(file + ": " + what + " at offset " + at + " is " + len
                        + " bytes long, more than the " + max + " allowed");
            }
            byte[] b = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, b.length);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                // llama.cpp vocabularies can hold byte tokens that are not valid UTF-8 on their own: keep them lossily
                return new String(b, StandardCharsets.UTF_8);
            }
        }

        GgufValue value(GgufValueType type, String key, int depth) {
            return switch (type) {
                case UINT8 -> { need(1, key); yield new GgufValue(type, Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, pos++))); }
                case INT8 -> { need(1, key); yield new GgufValue(type, (int) seg.get(ValueLayout.JAVA_BYTE, pos++)); }
                case UINT16 -> { need(2, key); int v = Short.toUnsignedInt(seg.get(I16, pos)); pos += 2; yield new GgufValue(type, v); }
                case INT16 -> { need(2, key); int v = seg.get(I16, pos); pos += 2; yield new GgufValue(type, v); }
                case UINT32 -> new GgufValue(type, Integer.toUnsignedLong(i32(key)));
                case INT32 -> new GgufValue(type, i32(key));
                case FLOAT32 -> { need(4, key); float v = seg.get(F32, pos); pos += 4; yield new GgufValue(type, v); }
                case BOOL -> {
                    need(1, key);
                    byte b = seg.get(ValueLayout.JAVA_BYTE, pos);
                    if (b != 0 && b != 1) {
                        throw new GgufFormatException(file + ": metadata key '" + key + "' has boolean byte " + b + " at offset " + pos);
                    }
                    pos++;
                    yield new GgufValue(type, b == 1);
                }
                case STRING -> new GgufValue(type, string("value of '" + key + "'"));
                case UINT64, INT64 -> new GgufValue(type, i64(key));
                case FLOAT64 -> { need(8, key); double v = seg.get(F64, pos); pos += 8; yield new GgufValue(type, v); }
                case ARRAY -> new GgufValue(type, array(key, depth));
            };
        }

        private GgufValue.Array array(String key, int depth) {
            if (depth >= MAX_NESTING) {
                throw new GgufFormatException(file + ": metadata key '" + key + "' nests arrays deeper than " + MAX_NESTING);
            }
            long at = pos;
            int typeId = i32("array element type of '" + key + "'");
            GgufValueType et = GgufValueType.fromId(typeId);
            if (et == null) {
                throw new GgufFormatException(file + ": metadata key '" + key + "' at offset " + at
                        + " is an array of unknown type " + typeId);
            }
            long n = i64("array length of '" + key + "'");
            long minBytes = et.size > 0 ? et.size : et == GgufValueType.STRING ? 8 : 12;
            if (n < 0 || n > remaining() / minBytes) {
                throw new GgufFormatException(file + ": metadata key '" + key + "' at offset " + at + " claims "
                        + Long.toUnsignedString(n) + " elements of " + et + ", more than the " + remaining()
                        + " bytes left in the file");
            }
            if (n > MAX_ARRAY_LENGTH) {
                throw new GgufFormatException(file + ": metadata key '" + key + "' at offset " + at + " claims " + n
                        + " elements, more than the " + MAX_ARRAY_LENGTH + " allowed for one array");
            }
            int len = (int) n;
            Object elements = switch (et) {
                case UINT8, INT8, UINT16, INT16, INT32 -> {
                    int[] a = new int[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = ((Number) value(et, key, depth).value()).intValue();
                    }
                    yield a;
                }
                case UINT32, UINT64, INT64 -> {
                    long[] a = new long[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = ((Number) value(et, key, depth).value()).longValue();
                    }
                    yield a;
                }
                case FLOAT32 -> {
                    float[] a = new float[len];
                    MemorySegment.copy(seg, F32, pos, a, 0, len);
                    pos += 4L * len;
                    yield a;
                }
                case FLOAT64 -> {
                    double[] a = new double[len];
                    MemorySegment.copy(seg, F64, pos, a, 0, len);
                    pos += 8L * len;
                    yield a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = (Boolean) value(et, key, depth).value();
                    }
                    yield a;
                }
                case STRING -> {
                    List<String> a = new ArrayList<>(len);
                    for (int i = 0; i < len; i++) {
                        a.add(string("element " + i + " of '" + key + "'"));
                    }
                    yield Collections.unmodifiableList(a);
                }
                case ARRAY -> {
                    List<GgufValue> a = new ArrayList<>(len);
                    for (int i = 0; i < len; i++) {
                        a.add(new GgufValue(GgufValueType.ARRAY, array(key, depth + 1)));
                    }
                    yield Collections.unmodifiableList(a);
                }
            };
            return new GgufValue.Array(et, elements, len);
        }
    }
}
