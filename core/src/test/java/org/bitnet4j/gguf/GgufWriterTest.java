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
            assertEquals(-1L, m.getLong("u64"));
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
        assertFalse(Files.exists(dir.resolve("other.gguf.tmp")));
    }
}
