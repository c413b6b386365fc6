package org.bitnet4j.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per malformed-file error: each gives a GgufFormatException whose message names file and place. */
class GgufMalformedTest {
    @TempDir
    Path dir;

    /** Little-endian GGUF bytes, written field by field. */
    static final class B {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        B i32(int v) {
            byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
            out.writeBytes(b);
            return this;
        }

        B i64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        B str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            out.writeBytes(b);
            return this;
        }

        B header(int version, long tensors, long kvs) {
            return i32(GgufFile.MAGIC).i32(version).i64(tensors).i64(kvs);
        }

        B tensor(String name, long[] dims, int type, long offset) {
            str(name).i32(dims.length);
            for (long d : dims) {
                i64(d);
            }
            return i32(type).i64(offset);
        }

        B pad(int to) {
            while (out.size() % to != 0) {
                out.write(0);
            }
            return this;
        }

        B zeros(int n) {
            out.writeBytes(new byte[n]);
            return this;
        }

        String parseError() {
            MemorySegment seg = MemorySegment.ofArray(out.toByteArray());
            return assertThrows(GgufFormatException.class, () -> GgufFile.parse(seg, "m.gguf")).getMessage();
        }
    }

    @Test
    void badMagic() {
        String m = new B().i32(0x12345678).i32(3).i64(0).i64(0).parseError();
        assertEquals("m.gguf: not a GGUF file (magic bytes at offset 0 are 0x12345678, expected \"GGUF\")", m);
    }

    @Test
    void unsupportedVersion() {
        assertEquals("m.gguf: GGUF version 1 is not supported (only 2 and 3)", new B().header(1, 0, 0).parseError());
    }

    @Test
    void hugeTensorCountDoesNotAllocate() {
        String m = new B().header(3, 1L << 60, 0).zeros(64).parseError();
        assertTrue(m.startsWith("m.gguf: tensor count 1152921504606846976 at offset 8 cannot fit in a file of 88 bytes"), m);
    }

    @Test
    void hugeMetadataCount() {
        String m = new B().header(3, 0, -1).zeros(8).parseError();
        assertTrue(m.startsWith("m.gguf: metadata count 18446744073709551615 at offset 16 cannot fit"), m);
    }

    @Test
    void stringLengthPastTheEnd() {
        String m = new B().header(3, 0, 1).i64(1L << 40).zeros(20).parseError();
        assertEquals("m.gguf: metadata key #0 at offset 24 has length 1099511627776, past the end of the file (20 bytes left)", m);
    }

    @Test
    void unknownValueType() {
        String m = new B().header(3, 0, 1).str("k").i32(99).zeros(8).parseError();
        assertEquals("m.gguf: metadata key 'k' at offset 24 has unknown value type 99", m);
    }

    @Test
    void arrayLengthPastTheEnd() {
        String m = new B().header(3, 0, 1).str("arr").i32(9).i32(4).i64(1L << 50).zeros(16).parseError();
        assertTrue(m.startsWith("m.gguf: metadata key 'arr' at offset 39 claims 1125899906842624 elements of UINT32"), m);
    }

    @Test
    void arraysNestedTooDeep() {
        B b = new B().header(3, 0, 1).str("deep").i32(9);
        for (int i = 0; i < 10; i++) {
            b.i32(9).i64(1);
        }
        b.i32(4).i64(0).zeros(16);
        assertEquals("m.gguf: metadata key 'deep' nests arrays deeper than 8", b.parseError());
    }

    @Test
    void invalidBoolean() {
        String m = new B().header(3, 0, 1).str("flag").i32(7).i32(2).parseError();
        assertEquals("m.gguf: metadata key 'flag' has boolean byte 2 at offset 40", m);
    }

    @Test
    void duplicateKey() {
        String m = new B().header(3, 0, 2).str("a").i32(4).i32(1).str("a").i32(4).i32(2).parseError();
        assertEquals("m.gguf: metadata key 'a' at offset 41 appears twice", m);
    }

    @Test
    void alignmentNotAPowerOfTwo() {
        String m = new B().header(3, 0, 1).str("general.alignment").i32(4).i32(24).parseError();
        assertEquals("m.gguf: general.alignment 24 is not a power of two (up to 1 MiB)", m);
    }

    @Test
    void dimensionCountOutOfRange() {
        String m = new B().header(3, 1, 0).str("t").i32(5).zeros(64).parseError();
        assertEquals("m.gguf: tensor 't' (header offset 24) has 5 dimensions, expected 1..4", m);
    }

    @Test
    void zeroDimension() {
        String m = new B().header(3, 1, 0).tensor("t", new long[] {4, 0}, 0, 0).zeros(32).parseError();
        assertEquals("m.gguf: tensor 't' (header offset 24) has dimension 1 = 0, must be positive", m);
    }

    @Test
    void overflowingElementCount() {
        String m = new B().header(3, 1, 0).tensor("t", new long[] {1L << 32, 1L << 32}, 0, 0).zeros(32).parseError();
        assertTrue(m.startsWith("m.gguf: tensor 't' (header offset 24) has an element count that overflows"), m);
    }

    @Test
    void rowNotAMultipleOfTheBlock() {
        String m = new B().header(3, 1, 0).tensor("t", new long[] {100, 2}, 35, 0).zeros(200).parseError();
        assertEquals("m.gguf: tensor 't' (header offset 24): its first dimension 100 is not a multiple of TQ2_0's block size 256", m);
    }

    @Test
    void unknownAndCollidingTypeIds() {
        String unknown = new B().header(3, 1, 0).tensor("t", new long[] {32}, 77, 0).zeros(200).parseError();
        assertEquals("m.gguf: tensor 't' (header offset 24): unknown ggml type id 77 (supported: F32, F16, BF16, Q8_0, Q6_K, "
                + "TQ1_0, TQ2_0, I2_S)", unknown);
        String tl2 = new B().header(3, 1, 0).tensor("t", new long[] {32}, 39, 0).zeros(200).parseError();
        assertTrue(tl2.contains("type id 39 is TL2 in bitnet.cpp but MXFP4 in llama.cpp"), tl2);
        String tl1 = new B().header(3, 1, 0).tensor("t", new long[] {32}, 38, 0).zeros(200).parseError();
        assertTrue(tl1.contains("type id 38 is TL1 in bitnet.cpp"), tl1);
    }

    @Test
    void unalignedOffset() {
        String m = new B().header(3, 1, 0).tensor("t", new long[] {8}, 0, 4).zeros(200).parseError();
        assertEquals("m.gguf: tensor 't' (header offset 24): data offset 4 is not a multiple of the alignment 32", m);
    }

    @Test
    void dataPastTheEndOfTheFile() {
        B b = new B().header(3, 1, 0).tensor("t", new long[] {64}, 0, 0).pad(32).zeros(100);
        String m = b.parseError();
        assertTrue(m.startsWith("m.gguf: tensor 't' data (256 bytes at data offset 0, file offset 64) extends past the end"
                + " of the file (164 bytes); the file is truncated or corrupt"), m);
    }

    @Test
    void overlappingTensors() {
        B b = new B().header(3, 2, 0).tensor("a", new long[] {16}, 0, 0).tensor("b", new long[] {16}, 0, 32).pad(32).zeros(128);
        assertEquals("m.gguf: tensor 'b' data at offset 32 overlaps tensor 'a'", b.parseError());
    }

    @Test
    void duplicateTensorName() {
        B b = new B().header(3, 2, 0).tensor("a", new long[] {8}, 0, 0).tensor("a", new long[] {8}, 0, 32).pad(32).zeros(64);
        assertEquals("m.gguf: tensor 'a' (header offset 57): the name appears twice", b.parseError());
    }

    @Test
    void truncatedHeader() {
        String m = new B().header(3, 0, 1).str("key").i32(8).i64(3).parseError();
        assertEquals("m.gguf: value of 'key' at offset 39 has length 3, past the end of the file (0 bytes left)", m);
    }

    @Test
    void keyLongerThanTheSpecificationAllows() {
        String m = new B().header(3, 0, 1).str("k".repeat(65536)).i32(4).i32(1).parseError();
        assertEquals("m.gguf: metadata key #0 at offset 24 is 65536 bytes long, more than the 65535 allowed", m);
    }

    @Test
    void alignmentOfTheWrongType() {
        String m = new B().header(3, 0, 1).str("general.alignment").i32(8).str("32").parseError();
        assertEquals("m.gguf: metadata key 'general.alignment' must be an integer, is STRING", m);
    }

    @Test
    void dataSectionPastTheEndOfTheFile() {
        // a valid tensor info, then the file stops before the aligned start of the data section
        String m = new B().header(3, 1, 0).tensor("t", new long[] {8}, 0, 0).parseError();
        assertEquals("m.gguf: the file ends at byte 57 before its data section (offset 64)", m);
    }

    @Test
    void hugeTensorOffset() {
        B b = new B().header(3, 1, 0).tensor("t", new long[] {8}, 0, 1L << 40).pad(32).zeros(32);
        assertEquals("m.gguf: tensor 't' data (32 bytes at data offset 1099511627776, file offset 1099511627840) extends"
                + " past the end of the file (96 bytes); the file is truncated or corrupt", b.parseError());
    }

    @Test
    void unsignedValuesOutOfRangeNameTheKey() {
        byte[] img = new B().header(3, 0, 2).str("big").i32(10).i64(-1L).str("u32").i32(4).i32(-1).out.toByteArray();
        try (GgufFile f = GgufFile.parse(MemorySegment.ofArray(img), "m.gguf")) {
            assertEquals("m.gguf: metadata key 'big' = 18446744073709551615 is out of range",
                    assertThrows(GgufFormatException.class, () -> f.metadata().getLong("big")).getMessage());
            assertEquals(4294967295L, f.metadata().getLong("u32"), "UINT32 reads as unsigned");
            assertEquals("m.gguf: metadata key 'u32' = 4294967295 is out of range",
                    assertThrows(GgufFormatException.class, () -> f.metadata().getInt("u32")).getMessage());
        }
    }

    @Test
    void fileProblems() throws IOException {
        Path missing = dir.resolve("none.gguf");
        assertEquals(missing + ": file not found", assertThrows(GgufFormatException.class, () -> GgufFile.open(missing)).getMessage());
        assertEquals(dir + ": is a directory, not a GGUF file",
                assertThrows(GgufFormatException.class, () -> GgufFile.open(dir)).getMessage());
        Path tiny = Files.write(dir.resolve("tiny.gguf"), new byte[] {'G', 'G', 'U', 'F'});
        assertEquals(tiny + ": file of 4 bytes is too short for a GGUF header (24 bytes)",
                assertThrows(GgufFormatException.class, () -> GgufFile.open(tiny)).getMessage());
    }

    @Test
    void wrongMetadataTypesNameTheKey() {
        try (GgufFile f = GgufFile.parse(MemorySegment.ofArray(new B().header(3, 0, 1).str("n").i32(8).str("x").out.toByteArray()),
                "m.gguf")) {
            assertEquals("m.gguf: metadata key 'n' is of type STRING, expected an integer",
                    assertThrows(GgufFormatException.class, () -> f.metadata().getInt("n")).getMessage());
            assertEquals("m.gguf: metadata key 'missing' is missing",
                    assertThrows(GgufFormatException.class, () -> f.metadata().getString("missing")).getMessage());
        }
    }
}
