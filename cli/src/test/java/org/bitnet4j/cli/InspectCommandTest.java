package org.bitnet4j.cli;

import static org.bitnet4j.cli.CommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.bitnet4j.cli.CommandsTest.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    static final Path FIX = CommandsTest.FIX;

    @TempDir
    Path dir;

    /** The fixtures' shapes as documented in fixtures/README.md, independent of the reader. */
    record Expected(String name, String type, String shape, long elements) {}

    static List<Expected> documentedTensors(String linear, String embd) {
        List<Expected> l = new java.util.ArrayList<>();
        l.add(new Expected("token_embd.weight", embd, "[256, 512]", 256 * 512));
        l.add(new Expected("output_norm.weight", "F32", "[256]", 256));
        for (int i = 0; i < 2; i++) {
            String b = "blk." + i + ".";
            l.add(new Expected(b + "attn_norm.weight", "F32", "[256]", 256));
            l.add(new Expected(b + "attn_q.weight", linear, "[256, 256]", 256 * 256));
            l.add(new Expected(b + "attn_k.weight", linear, "[256, 128]", 256 * 128));
            l.add(new Expected(b + "attn_v.weight", linear, "[256, 128]", 256 * 128));
            l.add(new Expected(b + "attn_sub_norm.weight", "F32", "[256]", 256));
            l.add(new Expected(b + "attn_output.weight", linear, "[256, 256]", 256 * 256));
            l.add(new Expected(b + "ffn_norm.weight", "F32", "[256]", 256));
            l.add(new Expected(b + "ffn_gate.weight", linear, "[256, 768]", 256 * 768));
            l.add(new Expected(b + "ffn_up.weight", linear, "[256, 768]", 256 * 768));
            l.add(new Expected(b + "ffn_sub_norm.weight", "F32", "[768]", 768));
            l.add(new Expected(b + "ffn_down.weight", linear, "[768, 256]", 768 * 256));
        }
        return l;
    }

    /** Bytes from the formats' published geometry (ggml's block sizes; I2_S: n/4 plus a 32-byte scale tail). */
    static long bytes(String type, long n) {
        return switch (type) {
            case "F32" -> 4 * n;
            case "F16" -> 2 * n;
            case "TQ2_0" -> n / 256 * 66;
            case "TQ1_0" -> n / 256 * 54;
            case "I2_S" -> n / 4 + 32;
            default -> throw new IllegalArgumentException(type);
        };
    }

    @Test
    void everyFixtureIsShownCompletely() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(FIX)) {
            files = s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
        assertEquals(8, files.size());
        for (Path p : files) {
            String file = p.getFileName().toString();
            String arch = file.startsWith("bitnet-b1.58") ? "bitnet-b1.58" : "bitnet";
            String linear = file.substring(file.lastIndexOf('-') + 1, file.length() - 5).toUpperCase(Locale.ROOT);
            String embd = linear.equals("F32") ? "F32" : "F16";
            Result r = run("inspect", p.toString());
            assertEquals(0, r.code(), r.err());
            String out = r.out();
            assertEquals("", r.err());
            assertTrue(out.contains(String.format("size:          %,d bytes", Files.size(p))), out);
            assertTrue(out.contains("gguf:          version 3, alignment 32,"), out);
            assertTrue(out.contains("architecture:  " + arch), out);
            for (String line : List.of("embedding_length                   256", "block_count                        2",
                    "feed_forward_length                768", "attention.head_count               4",
                    "attention.head_count_kv            2", "context_length                     512",
                    "rope.freq_base                     500000.0", "attention.layer_norm_rms_epsilon   1.0E-5",
                    "model                              gpt2", "pre                                gpt-2",
                    "tokens                             512", "merges                             254",
                    "bos_token_id                       510", "eos_token_id                       511",
                    "add_bos_token                      true", "chat template                      no")) {
                assertTrue(out.contains("  " + line + "\n"), file + " lacks '" + line + "'\n" + out);
            }
            long params = 0, ternary = 0, ternaryBytes = 0;
            for (Expected t : documentedTensors(linear, embd)) {
                long b = bytes(t.type(), t.elements());
                String row = String.format("%-36s %-6s %-20s %,14d", t.name(), t.type(), t.shape(), b);
                assertTrue(out.contains(row + "\n"), file + " lacks tensor row '" + row + "'\n" + out);
                params += t.elements();
                if (!t.type().startsWith("F")) {
                    ternary += t.elements();
                    ternaryBytes += b;
                }
            }
            assertEquals(1_707_264, params);
            assertTrue(out.contains(String.format("  parameters:         %,d (1.71 M)", params)), out);
            if (ternary > 0) {
                assertTrue(out.contains(String.format("  ternary parameters: %,d, %.4f bits per weight as stored", ternary,
                        8.0 * ternaryBytes / ternary)), out);
            } else {
                assertFalse(out.contains("ternary parameters"), out);
            }
            assertTrue(out.contains(String.format("  file:               %.4f bits per parameter overall",
                    8.0 * Files.size(p) / params)), out);
        }
    }

    @Test
    void bitsPerWeightOfEachTernaryFormat() {
        // I2_S: (n/4 + 32) bytes per tensor; TQ2_0: 66 bytes per 256; TQ1_0: 54 bytes per 256
        assertTrue(run("inspect", FIX.resolve("bitnet-silu-i2_s.gguf").toString()).out().contains(
                "ternary parameters: 1,572,864, 2.0023 bits per weight as stored"));
        assertTrue(run("inspect", FIX.resolve("bitnet-silu-tq2_0.gguf").toString()).out().contains(
                "ternary parameters: 1,572,864, 2.0625 bits per weight as stored"));
        assertTrue(run("inspect", FIX.resolve("bitnet-silu-tq1_0.gguf").toString()).out().contains(
                "ternary parameters: 1,572,864, 1.6875 bits per weight as stored"));
    }

    @Test
    void otherMetadataArraysAreSummarised() {
        Result r = run("inspect", "--no-tensors", FIX.resolve("bitnet-silu-tq1_0.gguf").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("  general.file_type                    36\n"), r.out());
        assertFalse(r.out().contains("blk.0.attn_q.weight"), "--no-tensors");
        assertEquals("[INT32 x 3: 1, 2, 3]", InspectCommand.summary(org.bitnet4j.gguf.GgufValue.ofInts(new int[] {1, 2, 3})));
        assertEquals("[STRING x 5: \"a\", \"b\", \"c\", \"d\", ...]",
                InspectCommand.summary(org.bitnet4j.gguf.GgufValue.ofStrings(List.of("a", "b", "c", "d", "e"))));
    }

    @Test
    void brokenFilesAreOneLineErrors() throws IOException {
        Path src = FIX.resolve("bitnet-silu-i2_s.gguf");
        byte[] b = Files.readAllBytes(src);
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(b, b.length - 1000));
        Result r = run("inspect", cut.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + cut + ": tensor '"), r.err());
        assertTrue(r.err().endsWith("extends past the end of the file (" + (b.length - 1000) + " bytes); the file is truncated"
                + " or corrupt\n"), r.err());
        assertEquals("", r.out());

        Path missing = dir.resolve("missing.gguf");
        r = run("inspect", missing.toString());
        assertEquals(1, r.code());
        assertEquals("error: " + missing + ": file not found\n", r.err());
    }
}
