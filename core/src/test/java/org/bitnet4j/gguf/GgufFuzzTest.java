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
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Mutates and truncates the real fixture files (seeded, thousands of cases) and shows that reading them never
 * fails with anything but {@link GgufFormatException}: no other exception, no OOM, no hang.
 */
class GgufFuzzTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");
    static final String[] FILES = {"bitnet-silu-i2_s.gguf", "bitnet-b1.58-relu2-tq1_0.gguf", "bitnet-silu-tq2_0.gguf"};
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
            for (int i = 0; i < 1500; i++) {
                byte[] b = orig.clone();
                int len = b.length;
                switch (i % 5) {
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
                    default -> { // truncated inside the header, plus a flip
                        len = rnd.nextInt(Math.max(1, header));
                        if (len > 0) {
                            b[rnd.nextInt(len)] ^= 0x40;
                        }
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
                    fail(name + " case " + i + " (mode " + (i % 5) + ") escaped with " + t, t);
                }
            }
        }
        assertTrue(cases >= 4500);
        assertTrue(rejected > cases / 3, "most mutations must be detected, got " + rejected + "/" + cases);
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
