package org.bitnet4j.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes small metadata-only GGUF v3 files for tests (good and deliberately broken tokenizer
 * metadata), independently of the project's own GGUF writer.
 */
final class GgufBytes {
    private final Map<String, Object> kv = new LinkedHashMap<>();

    /** Wraps values whose GGUF type is not implied by their Java type. */
    record U32(long value) {}

    GgufBytes put(String key, Object value) {
        kv.put(key, value);
        return this;
    }

    GgufBytes remove(String key) {
        kv.remove(key);
        return this;
    }

    Path write(Path file) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write("GGUF".getBytes(StandardCharsets.US_ASCII));
        u32(out, 3);
        u64(out, 0); // no tensors
        u64(out, kv.size());
        for (Map.Entry<String, Object> e : kv.entrySet()) {
            str(out, e.getKey());
            value(out, e.getValue(), true);
        }
        Files.write(file, out.toByteArray());
        return file;
    }

    private static void value(ByteArrayOutputStream out, Object v, boolean withType) {
        switch (v) {
            case String s -> { if (withType) u32(out, 8); str(out, s); }
            case U32 u -> { if (withType) u32(out, 4); u32(out, u.value()); }
            case Integer i -> { if (withType) u32(out, 5); u32(out, i); }
            case Boolean b -> { if (withType) u32(out, 7); out.write(b ? 1 : 0); }
            case Float f -> { if (withType) u32(out, 6); u32(out, Float.floatToRawIntBits(f)); }
            case String[] a -> { u32(out, 9); u32(out, 8); u64(out, a.length); for (String s : a) str(out, s); }
            case int[] a -> { u32(out, 9); u32(out, 5); u64(out, a.length); for (int i : a) u32(out, i); }
            case float[] a -> { u32(out, 9); u32(out, 6); u64(out, a.length); for (float f : a) u32(out, Float.floatToRawIntBits(f)); }
            case List<?> l -> value(out, l.toArray(new String[0]), withType);
            default -> throw new IllegalArgumentException("unsupported GGUF test value " + v.getClass());
        }
    }

    private static void str(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(out, b.length);
        out.write(b, 0, b.length);
    }

    private static void u32(ByteArrayOutputStream out, long v) {
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array(), 0, 4);
    }

    private static void u64(ByteArrayOutputStream out, long v) {
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array(), 0, 8);
    }
}
