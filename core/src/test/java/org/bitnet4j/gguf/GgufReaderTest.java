package org.bitnet4j.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The reader against the shared fixture files (written by llama.cpp's and bitnet.cpp's own tools). */
class GgufReaderTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");

    static List<Path> fixtures() throws IOException {
        try (Stream<Path> s = Files.list(FIX)) {
            return s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
    }

    @Test
    void everyFixtureReadsWithItsDocumentedShape() throws IOException {
        List<Path> files = fixtures();
        assertEquals(8, files.size());
        for (Path p : files) {
            String name = p.getFileName().toString();
            try (GgufFile f = GgufFile.open(p)) {
                GgufMetadata md = f.metadata();
                String arch = name.startsWith("bitnet-b1.58") ? "bitnet-b1.58" : "bitnet";
                assertEquals(3, f.version(), name);
                assertEquals(32, f.alignment(), name);
                assertEquals(Files.size(p), f.fileSize());
                assertEquals(arch, md.getString("general.architecture"));
                assertEquals(256, md.getInt(arch + ".embedding_length"));
                assertEquals(2, md.getInt(arch + ".block_count"));
                assertEquals(768, md.getInt(arch + ".feed_forward_length"));
                assertEquals(4, md.getInt(arch + ".attention.head_count"));
                assertEquals(2, md.getInt(arch + ".attention.head_count_kv"));
                assertEquals(500000f, md.getFloat(arch + ".rope.freq_base"));
                assertEquals(1e-5f, md.getFloat(arch + ".attention.layer_norm_rms_epsilon"));
                assertEquals("gpt2", md.getString("tokenizer.ggml.model"));
                List<String> tokens = md.getStringArray("tokenizer.ggml.tokens");
                assertEquals(512, tokens.size());
                assertEquals("<|begin_of_text|>", tokens.get(510));
                assertEquals("Ġ", tokens.get(' '), "GPT-2 byte-to-unicode form of the space byte");
                assertEquals(254, md.getStringArray("tokenizer.ggml.merges").size());
                assertEquals(510, md.getInt("tokenizer.ggml.bos_token_id"));
                assertEquals(511, md.getInt("tokenizer.ggml.eos_token_id"));
                assertTrue(md.getBoolean("tokenizer.ggml.add_bos_token", false));
                assertEquals(512, md.getIntArray("tokenizer.ggml.token_type").length);

                assertEquals(24, f.tensors().size());
                GgufTensorInfo embd = f.tensor("token_embd.weight");
                assertArrayEquals(new long[] {256, 512}, embd.dims());
                assertEquals(256, embd.cols());
                assertEquals(512, embd.rows());
                assertEquals(name.endsWith("f32.gguf") ? GgmlType.F32 : GgmlType.F16, embd.type());
                GgufTensorInfo down = f.tensor("blk.1.ffn_down.weight");
                assertArrayEquals(new long[] {768, 256}, down.dims());
                assertEquals(768 * 256, down.elements());
                assertNull(f.tensor("output.weight"), "tied output head");
                GgmlType lin = down.type();
                String want = name.substring(name.lastIndexOf('-') + 1, name.length() - 5).toUpperCase();
                assertEquals(want, lin.name());
            }
        }
    }

    /**
     * The byte-size convention (I2_S: n/4 bytes plus a 32-byte tail for the f32 scale) agrees with where the
     * writers actually put the tensors: each tensor starts at the aligned end of the one before, and the last
     * one ends at the end of the file.
     */
    @Test
    void tensorSizesTileTheDataSectionExactly() throws IOException {
        for (Path p : fixtures()) {
            try (GgufFile f = GgufFile.open(p)) {
                List<GgufTensorInfo> byOffset = new ArrayList<>(f.tensors());
                byOffset.sort(Comparator.comparingLong(GgufTensorInfo::offset));
                long end = 0;
                for (GgufTensorInfo t : byOffset) {
                    assertEquals((end + 31) / 32 * 32, t.offset(), p.getFileName() + " " + t.name());
                    end = t.offset() + t.byteSize();
                    assertEquals(t.byteSize(), f.data(t).byteSize());
                    if (t.type() == GgmlType.I2_S) {
                        assertEquals(t.elements() / 4 + 32, t.byteSize());
                        float scale = f.data(t).get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                                t.elements() / 4);
                        assertTrue(scale > 0 && Float.float16ToFloat(Float.floatToFloat16(scale)) == scale,
                                "the tail holds the fp16-exact tensor scale, got " + scale);
                    }
                }
                assertEquals(f.fileSize(), f.dataOffset() + end, p.getFileName().toString());
            }
        }
    }

    @Test
    void dataSlicesAreReadOnlyViewsOfTheMapping() throws IOException {
        Path p = FIX.resolve("bitnet-silu-f32.gguf");
        byte[] raw = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            GgufTensorInfo t = f.tensor("output_norm.weight");
            MemorySegment d = f.data(t);
            assertTrue(d.isReadOnly());
            assertTrue(d.isMapped());
            byte[] expected = java.util.Arrays.copyOfRange(raw, (int) (f.dataOffset() + t.offset()),
                    (int) (f.dataOffset() + t.offset() + t.byteSize()));
            assertArrayEquals(expected, d.toArray(ValueLayout.JAVA_BYTE));
            f.close();
            assertThrows(IllegalStateException.class, () -> d.get(ValueLayout.JAVA_BYTE, 0), "unmapped on close");
        }
    }

    /** GGUF v2 has the same layout as v3 (64-bit counts); only the version field differs. */
    @Test
    void versionTwoReadsTheSame() throws IOException {
        byte[] b = Files.readAllBytes(FIX.resolve("bitnet-silu-tq2_0.gguf"));
        b[4] = 2;
        try (GgufFile v2 = GgufFile.parse(MemorySegment.ofArray(b), "v2.gguf");
             GgufFile v3 = GgufFile.open(FIX.resolve("bitnet-silu-tq2_0.gguf"))) {
            assertEquals(2, v2.version());
            assertEquals(v3.metadata().keys(), v2.metadata().keys());
            assertEquals(v3.tensors(), v2.tensors());
            assertEquals(v3.dataOffset(), v2.dataOffset());
        }
    }
}
