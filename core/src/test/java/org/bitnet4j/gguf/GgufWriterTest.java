package org.bitnet4j.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");

    @TempDir
    Path dir;

    /** Re-writing a fixture (llama.cpp's writer) with our writer gives a file with the same bytes. */
    @Test
    void rewritingAFixtureReproducesItByteForByte() throws IOException {
        for (String name : List.of("bitnet-silu-i2_s.gguf", "bitnet-b1.58-relu2-tq1_0.gguf", "bitnet-silu-f32.gguf")) {
            Path src = FIX.resolve(name);
            Path out = dir.resolve(name);
            try (GgufFile in = GgufFile.open(src); GgufWriter w = GgufWriter.create(out, false)) {
                w.putAll(in.metadata().asMap());
                for (GgufTensorInfo t : in.tensors()) {
                    w.addTensor(t.name(), t.dims(), t.type());
                }
                for (GgufTensorInfo t : in.tensors()) {
                    w.writeTensor(t.name(), seg -> seg.copyFrom(in.data(t)));
                }
                w.finish();
            }
            assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(out), name);
        }
        // the model gets the permissions of any new file (umask), not a temporary file's owner-only ones
        Path plain = Files.writeString(dir.resolve("plain"), "x");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(dir.resolve("bitnet-silu-f32.gguf")));
    }

    @Test
    void everyValueTypeRoundTrips() {
        Path out = dir.resolve("types.gguf");
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.put("u8", new GgufValue(GgufValueType.UINT8, 255));
            w.put("i8", new GgufValue(GgufValueType.INT8, -128));
            w.put("u16", new GgufValue(GgufValueType.UINT16, 65535));
            w.put("i16", new GgufValue(GgufValueType.INT16, -32768));
            w.put("u32", new GgufValue(GgufValueType.UINT32, 4294967295L));
            w.put("i32", GgufValue.ofInt32(-7));
            w.put("f32", GgufValue.ofFloat32(1.5f));
            w.put("bool", GgufValue.ofBool(true));
            w.put("str", GgufValue.of("héllo ✓"));
            w.put("u64", new GgufValue(GgufValueType.UINT64, -1L));
            w.put("i64", new GgufValue(GgufValueType.INT64, Long.MIN_VALUE));
            w.put("f64", new GgufValue(GgufValueType.FLOAT64, Math.PI));
            w.put("strings", GgufValue.ofStrings(List.of("a", "", "ü")));
            w.put("floats", GgufValue.ofFloats(new float[] {1f, -2f}));
            w.put("ints", GgufValue.ofInts(new int[] {3, -4}));
            w.put("nested", new GgufValue(GgufValueType.ARRAY, new GgufValue.Array(GgufValueType.ARRAY, List.of(
                    new GgufValue(GgufValueType.ARRAY, new GgufValue.Array(GgufValueType.INT32, new int[] {1, 2}, 2))), 1)));
            for (GgmlType t : GgmlType.values()) {
                w.addTensor("t." + t, new long[] {256, 2}, t);
            }
            for (GgmlType t : GgmlType.values()) {
                w.writeTensor("t." + t, seg -> {
                    for (long i = 0; i < seg.byteSize(); i++) {
                        seg.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + t.id));
                    }
                });
            }
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            GgufMetadata m = f.metadata();
            assertEquals(255, m.getInt("u8"));
            assertEquals(-128, m.getInt("i8"));
            assertEquals(65535, m.getInt("u16"));
            assertEquals(-32768, m.getInt("i16"));
            assertEquals(4294967295L, m.getLong("u32"));
            assertEquals(-7, m.getInt("i32"));
            assertEquals(1.5f, m.getFloat("f32"));
            assertTrue(m.getBoolean("bool", false));
            assertEquals("héllo ✓", m.getString("str"));
            assertEquals(-1L, m.get("u64").value(), "UINT64 bits kept");
            assertEquals("m: metadata key 'u64' = 18446744073709551615 is out of range".replace("m:", out + ":"),
                    assertThrows(GgufFormatException.class, () -> m.getLong("u64")).getMessage());
            assertEquals(1.8446744e19f, m.getFloat("u64"));
            assertEquals(Long.MIN_VALUE, m.getLong("i64"));
            assertEquals(Math.PI, ((Number) m.get("f64").value()).doubleValue());
            assertEquals(List.of("a", "", "ü"), m.getStringArray("strings"));
            assertArrayEquals(new float[] {1f, -2f}, m.getFloatArray("floats"));
            assertArrayEquals(new int[] {3, -4}, m.getIntArray("ints"));
            GgufValue.Array nested = m.get("nested").array();
            assertEquals(GgufValueType.ARRAY, nested.elementType());
            assertArrayEquals(new int[] {1, 2}, (int[]) ((GgufValue) ((List<?>) nested.elements()).get(0)).array().elements());
            for (GgmlType t : GgmlType.values()) {
                GgufTensorInfo ti = f.tensor("t." + t);
                assertEquals(t, ti.type());
                assertEquals(t.byteSize(512), ti.byteSize());
                MemorySegment d = f.data(ti);
                for (long i = 0; i < d.byteSize(); i++) {
                    assertEquals((byte) (i * 7 + t.id), d.get(ValueLayout.JAVA_BYTE, i));
                }
            }
        }
    }

    @Test
    void anExistingFileIsNotOverwrittenAndAnUnfinishedWriteLeavesNothing() throws IOException {
        Path out = dir.resolve("keep.gguf");
        Files.writeString(out, "precious");
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufWriter.create(out, false));
        assertEquals(out + ": exists; refusing to overwrite it (use --force)", e.getMessage());
        assertEquals("precious", Files.readString(out));
        Path other = dir.resolve("other.gguf");
        try (GgufWriter w = GgufWriter.create(other, false)) {
            w.addTensor("x", new long[] {4}, GgmlType.F32);
            // closed without finish(): an interrupted write
        }
        assertFalse(Files.exists(other));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(out), files.toList(), "the temporary file is gone");
        }
    }

    @Test
    void aUsersTmpFileIsNotTouchedAndATargetThatAppearsMeanwhileIsKept() throws IOException {
        Path out = dir.resolve("m.gguf");
        Path users = Files.writeString(dir.resolve("m.gguf.tmp"), "mine");
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.put("k", GgufValue.of("v"));
            Files.writeString(out, "appeared");
            GgufFormatException e = assertThrows(GgufFormatException.class, w::finish);
            assertEquals(out + ": appeared while writing; refusing to overwrite it (use --force)", e.getMessage());
        }
        assertEquals("appeared", Files.readString(out));
        assertEquals("mine", Files.readString(users));
        try (GgufWriter w = GgufWriter.create(out, true)) {
            w.put("k", GgufValue.of("v"));
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals("v", f.metadata().getString("k"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "only m.gguf and the user's m.gguf.tmp");
        }
    }

    /** Tensors streamed in uneven chunks (and a non-default alignment) read back exactly. */
    @Test
    void streamedChunksRoundTripWithAnyAlignment() {
        Path out = dir.resolve("stream.gguf");
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        java.util.Map<String, byte[]> expected = new java.util.LinkedHashMap<>();
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.put("general.alignment", new GgufValue(GgufValueType.UINT32, 64L));
            for (GgmlType t : GgmlType.values()) {
                w.addTensor("s." + t, new long[] {t.blockSize == 1 ? 3 : t.blockSize, 3}, t);
            }
            for (GgmlType t : GgmlType.values()) {
                byte[] data = new byte[(int) w.byteSize("s." + t)];
                rnd.nextBytes(data);
                expected.put("s." + t, data);
                try (GgufWriter.TensorOutput o = w.openTensor("s." + t)) {
                    int at = 0;
                    while (at < data.length) {
                        int n = Math.min(data.length - at, 1 + rnd.nextInt(70));
                        if (n % 2 == 0) {
                            o.write(data, at, n);
                        } else {
                            o.write(MemorySegment.ofArray(java.util.Arrays.copyOfRange(data, at, at + n)));
                        }
                        at += n;
                    }
                    assertEquals(0, o.remaining());
                }
            }
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(0, f.fileSize() % 64, "the last tensor is padded too");
            for (GgufTensorInfo t : f.tensors()) {
                assertEquals(0, t.offset() % 64, t.name());
                assertArrayEquals(expected.get(t.name()), f.data(t).toArray(ValueLayout.JAVA_BYTE), t.name());
            }
        }
    }

    @Test
    void byteCountsAndOrderAreChecked() {
        try (GgufWriter w = GgufWriter.create(dir.resolve("bad.gguf"), false)) {
            w.addTensor("a", new long[] {8}, GgmlType.F32);
            w.addTensor("b", new long[] {32}, GgmlType.Q8_0);
            assertEquals(32, w.byteSize("a"));
            assertEquals(34, w.byteSize("b"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.openTensor("b"));
            assertEquals("tensor b written out of order: tensors are written in declaration order, next is a", e.getMessage());
            GgufWriter.TensorOutput o = w.openTensor("a");
            assertThrows(IllegalStateException.class, () -> w.openTensor("a"), "still open");
            o.write(new byte[20], 0, 20);
            e = assertThrows(IllegalStateException.class, () -> o.write(new byte[13], 0, 13));
            assertEquals("tensor a is 32 bytes; 20 written, 13 more offered", e.getMessage());
            e = assertThrows(IllegalStateException.class, o::close);
            assertEquals("tensor a needs 32 bytes, 20 were written", e.getMessage());
            e = assertThrows(IllegalStateException.class, w::finish);
            assertEquals("tensors declared but not written: [a, b]", e.getMessage());
            assertThrows(IllegalStateException.class, () -> w.addTensor("c", new long[] {8}, GgmlType.F32),
                    "no declarations after the header is out");
        }
        try (GgufWriter w = GgufWriter.create(dir.resolve("bad2.gguf"), false)) {
            assertEquals("metadata key 'x': a UINT32 value cannot be a String",
                    assertThrows(IllegalArgumentException.class, () -> w.put("x", new GgufValue(GgufValueType.UINT32, "1")))
                            .getMessage());
            assertEquals("tensor q: first dimension 100 is not a multiple of Q8_0's block size 32",
                    assertThrows(IllegalArgumentException.class, () -> w.addTensor("q", new long[] {100}, GgmlType.Q8_0))
                            .getMessage());
            w.addTensor("a", new long[] {8}, GgmlType.F32);
            w.writeTensor("a", seg -> {});
            assertEquals("tensor a written twice",
                    assertThrows(IllegalStateException.class, () -> w.writeTensor("a", seg -> {})).getMessage());
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "failed writes leave nothing behind");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * A tensor that starts beyond 4 GiB: offsets and slices are 64-bit through the whole path. The 4 GiB tensor
     * before it is written through a mapped window and left mostly untouched, so the file stays sparse.
     */
    @Test
    void aModelLargerThanTheFreeDiskIsRefusedBeforeWriting() throws IOException {
        Path out = dir.resolve("huge.gguf");
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addTensor("t", new long[] {1L << 24, 1L << 24}, GgmlType.F32); // 1 PiB, after a 96-byte header
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> w.openTensor("t"));
            assertTrue(e.getMessage().startsWith(out + ": needs " + ((1L << 50) + 96) + " bytes, but only "), e.getMessage());
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void dataBeyondFourGigabytes() throws IOException {
        Path out = dir.resolve("big.gguf");
        // sparse on disk, but the writer asks for the room a real model of this size would take
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.getFileStore(dir).getUsableSpace() > (6L << 30),
                "needs 6 GiB of free disk");
        long bigElements = 1L << 31; // F16: 4 GiB
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addTensor("big", new long[] {1L << 16, 1L << 15}, GgmlType.F16);
            w.addTensor("tail", new long[] {4}, GgmlType.F32);
            w.writeTensor("big", seg -> {
                assertEquals(2 * bigElements, seg.byteSize());
                seg.set(ValueLayout.JAVA_BYTE, seg.byteSize() - 1, (byte) 0x5A);
            });
            try (GgufWriter.TensorOutput o = w.openTensor("tail")) {
                MemorySegment v = MemorySegment.ofArray(new float[] {1.5f, -2f, 3.25f, 1e-3f});
                o.write(v);
            }
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            GgufTensorInfo tail = f.tensor("tail");
            assertEquals(4L << 30, tail.offset());
            assertTrue(f.fileSize() > (4L << 30));
            MemorySegment d = f.data(tail);
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 1e-3f},
                    d.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)));
            MemorySegment big = f.data(f.tensor("big"));
            assertEquals((byte) 0x5A, big.get(ValueLayout.JAVA_BYTE, big.byteSize() - 1));
            assertEquals(0, big.get(ValueLayout.JAVA_BYTE, 1L << 31));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
