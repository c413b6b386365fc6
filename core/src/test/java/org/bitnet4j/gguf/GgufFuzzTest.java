package org.bitnet4j.gguf;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Mutates and truncates the real fixture files (seeded, thousands of cases) and shows that reading them never
 * fails with anything but {@link GgufFormatException}: no other exception, no OOM, no hang.
 */
class GgufFuzzTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");
    static final String[] FILES = {"bitnet-silu-i2_s.gguf", "bitnet-b1.58-relu2-tq1_0.gguf", "bitnet-silu-tq2_0.gguf"};
    static final int MODES = 7;
    static final long[] HUGE = {-1L, 1L << 60, 1L << 40, Integer.MAX_VALUE, Integer.MAX_VALUE + 1L, 1L << 32, 0x7FFFFFFFFFFFFFFFL,
            1_000_000_000L};

    @Test
    void mutatedAndTruncatedFilesFailOnlyWithFormatErrors() throws IOException {
        SplittableRandom rnd = new SplittableRandom(20251122);
        int cases = 0, rejected = 0;
        for (String name : FILES) {
            byte[] orig = Files.readAllBytes(FIX.resolve(name));
            int header;
            try (GgufFile f = GgufFile.open(FIX.resolve(name))) {
                header = (int) f.dataOffset();
            }
            Fields fields = Fields.of(orig);
            assertTrue(fields.wide.size() > 800 && fields.narrow.size() > 70,
                    "the walker found the header's fields: " + fields.wide.size() + " + " + fields.narrow.size());
            for (int i = 0; i < 2000; i++) {
                byte[] b = orig.clone();
                int len = b.length;
                ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                switch (i % MODES) {
                    case 0 -> { // bit flips in the header
                        for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                            int at = rnd.nextInt(header);
                            b[at] ^= (byte) (1 << rnd.nextInt(8));
                        }
                    }
                    case 1 -> { // random bytes anywhere in the header
                        int at = rnd.nextInt(header);
                        for (int k = rnd.nextInt(1, 16); k > 0 && at < header; k--) {
                            b[at++] = (byte) rnd.nextInt(256);
                        }
                    }
                    case 2 -> { // a huge or negative 64-bit value where a count, length, dimension or offset may live
                        int at = rnd.nextInt(header - 8);
                        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, HUGE[rnd.nextInt(HUGE.length)]);
                    }
                    case 3 -> len = rnd.nextInt(b.length); // truncated anywhere
                    case 4 -> { // truncated inside the header, plus a flip
                        len = rnd.nextInt(Math.max(1, header));
                        if (len > 0) {
                            b[rnd.nextInt(len)] ^= 0x40;
                        }
                    }
                    case 5 -> { // a huge, negative or off-by-some value exactly where a count, length, dimension or offset lives
                        int at = fields.wide.get(rnd.nextInt(fields.wide.size()));
                        long v = rnd.nextBoolean() ? HUGE[rnd.nextInt(HUGE.length)] : bb.getLong(at) + rnd.nextInt(-64, 65);
                        bb.putLong(at, v);
                    }
                    default -> { // a random or neighbouring id where a value type, element type, n_dims or ggml type lives
                        int at = fields.narrow.get(rnd.nextInt(fields.narrow.size()));
                        bb.putInt(at, rnd.nextBoolean() ? rnd.nextInt() : bb.getInt(at) + rnd.nextInt(-3, 4));
                    }
                }
                cases++;
                MemorySegment seg = MemorySegment.ofArray(java.util.Arrays.copyOf(b, len));
                try (GgufFile f = GgufFile.parse(seg, name + "#" + i)) {
                    touch(f);
                } catch (GgufFormatException e) {
                    rejected++;
                    assertTrue(e.getMessage().startsWith(name + "#" + i), "message names the file: " + e.getMessage());
                } catch (Throwable t) {
                    fail(name + " case " + i + " (mode " + (i % MODES) + ") escaped with " + t, t);
                }
            }
        }
        assertTrue(cases >= 6000);
        assertTrue(rejected > cases / 3, "most mutations must be detected, got " + rejected + "/" + cases);
    }

    /**
     * Where the header's counts, lengths, dimensions and offsets (64-bit: {@code wide}) and its type ids and
     * dimension counts (32-bit: {@code narrow}) are, found by walking a valid file independently of the reader.
     */
    record Fields(List<Integer> wide, List<Integer> narrow) {
        static Fields of(byte[] file) {
            ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
            Fields f = new Fields(new ArrayList<>(), new ArrayList<>());
            f.wide.add(8);
            f.wide.add(16);
            long tensors = b.getLong(8), kvs = b.getLong(16);
            int pos = 24;
            for (long i = 0; i < kvs; i++) {
                pos = f.string(b, pos);
                f.narrow.add(pos);
                int type = b.getInt(pos);
                pos = f.value(b, pos + 4, type);
            }
            for (long i = 0; i < tensors; i++) {
                pos = f.string(b, pos);
                f.narrow.add(pos);
                int nd = b.getInt(pos);
                pos += 4;
                for (int d = 0; d < nd; d++) {
                    f.wide.add(pos);
                    pos += 8;
                }
                f.narrow.add(pos);
                f.wide.add(pos + 4);
                pos += 12;
            }
            return f;
        }

        int string(ByteBuffer b, int pos) {
            wide.add(pos);
            return pos + 8 + (int) b.getLong(pos);
        }

        int value(ByteBuffer b, int pos, int type) {
            return switch (type) {
                case 0, 1, 7 -> pos + 1;
                case 2, 3 -> pos + 2;
                case 4, 5, 6 -> pos + 4;
                case 10, 11, 12 -> pos + 8;
                case 8 -> string(b, pos);
                case 9 -> {
                    narrow.add(pos);
                    int et = b.getInt(pos);
                    wide.add(pos + 4);
                    long n = b.getLong(pos + 4);
                    int p = pos + 12;
                    for (long i = 0; i < n; i++) {
                        p = value(b, p, et);
                    }
                    yield p;
                }
                default -> throw new IllegalStateException("fixture has value type " + type);
            };
        }
    }

    /** Reads everything a loader would: every metadata value through the typed getters and every tensor byte range. */
    static void touch(GgufFile f) {
        GgufMetadata md = f.metadata();
        for (String k : md.keys()) {
            GgufValue v = md.get(k);
            switch (v.type()) {
                case STRING -> md.getString(k);
                case FLOAT32, FLOAT64 -> md.getFloat(k);
                case BOOL -> md.getBoolean(k, false);
                case ARRAY -> {
                    switch (v.array().elementType()) {
                        case STRING -> md.getStringArray(k).size();
                        case FLOAT32, FLOAT64 -> md.getFloatArray(k);
                        case ARRAY, BOOL -> v.array().length();
                        default -> md.getIntArray(k);
                    }
                }
                default -> md.getLong(k);
            }
        }
        for (GgufTensorInfo t : f.tensors()) {
            MemorySegment d = f.data(t);
            if (d.byteSize() > 0) {
                d.get(ValueLayout.JAVA_BYTE, 0);
                d.get(ValueLayout.JAVA_BYTE, d.byteSize() - 1);
            }
        }
    }
}
