package org.bitnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bitnet4j.model.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CommandsTest {
    static final Path FIX = Path.of(System.getProperty("bitnet4j.shared", "../shared")).resolve("fixtures");
    static final String PROMPT = "Hello world, this is a test of ternary weights.";

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Errors::handle);
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static String fixture(String name) {
        return FIX.resolve(name).toString();
    }

    /** Greedy float-path continuation equals llama.cpp's greedy ids for this prompt (fixtures manifest). */
    @Test
    void generateGreedyMatchesLlamaCppContinuation() {
        int[] llamaCppGreedy = {310, 129, 181, 370, 210, 66, 463, 479};
        String expected;
        try (Model m = Model.load(FIX.resolve("bitnet-silu-f32.gguf"))) {
            expected = m.tokenizer.decode(llamaCppGreedy);
        }
        Result r = run("generate", "-m", fixture("bitnet-silu-f32.gguf"), "-p", PROMPT, "-n", "8", "--temp", "0",
                "--float-activations", "-t", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals(PROMPT + expected + "\n", r.out());
        assertTrue(r.err().contains("generated: 8 tokens"), r.err());
        assertTrue(r.err().contains("finish: length"), r.err());
    }

    @Test
    void logitsCommandWritesEveryPosition() throws Exception {
        Path out = dir.resolve("l.f32");
        Result r = run("logits", "-m", fixture("bitnet-b1.58-relu2-tq2_0.gguf"), "--tokens",
                "510,72,294,292,345,44,352,319,257,301,302,359,342,115,46", "--float-activations", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        float[] got = floats(Files.readAllBytes(out));
        float[] want = floats(Files.readAllBytes(FIX.resolve("refs/bitnet-b1.58-relu2-f32.f64-exact.seq1.logits.f32")));
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-4, "logit " + i);
        }
        Result again = run("logits", "-m", fixture("bitnet-b1.58-relu2-tq2_0.gguf"), "--tokens", "1", "-o", out.toString());
        assertEquals(1, again.code());
        assertEquals("error: " + out + " exists; pass --force to overwrite it\n", again.err());
    }

    static float[] floats(byte[] b) {
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    @Test
    void perplexityEndsWithThePplLine() throws Exception {
        Path text = Files.writeString(dir.resolve("t.txt"), "In the beginning was the word, and the word was with the test. ".repeat(8));
        Result r = run("perplexity", "-m", fixture("bitnet-silu-i2_s.gguf"), "-f", text.toString(), "-c", "32");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.matches("PPL = \\d+\\.\\d{4}"), last);
        double ppl = Double.parseDouble(last.substring(6));
        assertTrue(ppl > 1 && ppl < 1e6, last);
    }

    @Test
    void chatKeepsTheConversationAndLeavesOnExit() {
        InputStream in = System.in;
        try {
            System.setIn(new ByteArrayInputStream("hello\nhow are you\n/exit\n".getBytes(StandardCharsets.UTF_8)));
            Result r = run("chat", "-m", fixture("bitnet-b1.58-relu2-i2_s.gguf"), "-n", "5", "--seed", "3", "--show-speed");
            assertEquals(0, r.code(), r.err());
            String[] speed = r.err().strip().split("\n");
            assertEquals(2, speed.length, r.err());
            // the second turn reuses the first turn's tokens from the KV cache
            assertTrue(speed[1].matches("\\[prompt \\d+ tokens \\([1-9]\\d* cached\\).*"), speed[1]);
        } finally {
            System.setIn(in);
        }
    }

    @Test
    void inspectShowsTheFixture() {
        Result r = run("inspect", fixture("bitnet-b1.58-relu2-i2_s.gguf"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("architecture:  bitnet-b1.58"), r.out());
        assertTrue(r.out().contains("blk.1.ffn_down.weight                I2_S   [768, 256]"), r.out());
        // 2 layers x (q 256x256 + k, v 256x128 + o 256x256 + gate, up, down 256x768) = 1,572,864
        assertTrue(r.out().contains("I2_S     14 tensors        1,572,864 parameters"), r.out());
        assertTrue(r.out().contains("ternary parameters: 1,572,864, 2.0023 bits per weight as stored"), r.out());
    }

    @Test
    void dummyThenBenchJson() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        Result d = run("dummy", "--shape", "tiny", "--type", "tq1_0", "-o", model.toString());
        assertEquals(0, d.code(), d.err());
        Result b = run("bench", "-m", model.toString(), "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--json");
        assertEquals(0, b.code(), b.err());
        JsonNode rows = new ObjectMapper().readTree(b.out());
        assertEquals(2, rows.size());
        assertEquals("pp8", rows.get(0).get("test").asText());
        assertEquals("tg4", rows.get(1).get("test").asText());
        assertEquals("TQ1_0 + F16", rows.get(0).get("type").asText());
        assertTrue(rows.get(1).get("tokensPerSecond").asDouble() > 0);
        Result again = run("dummy", "--shape", "tiny", "--type", "tq1_0", "-o", model.toString());
        assertEquals("error: " + model + " exists; pass --force to overwrite it\n", again.err());
    }

    /** Without -m the embedded default model runs (its perplexity figure is the one models/default/README.md gives). */
    @Test
    void theDefaultModelAnswersWithoutDashM() throws Exception {
        Result r = run("generate", "-p", "It is a truth universally acknowledged", "-n", "12", "--temp", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().length() > "It is a truth universally acknowledged".length() + 10, r.out());
        java.util.List<String> austen = Files.readAllLines(FIX.resolveSibling("data/corpus/austen.txt"));
        Path persuasion = Files.write(dir.resolve("persuasion.txt"), austen.subList(39439, 47767));
        Result p = run("perplexity", "-f", persuasion.toString(), "-c", "256", "--chunks", "4");
        assertEquals(0, p.code(), p.err());
        String[] lines = p.out().strip().split("\n");
        double ppl = Double.parseDouble(lines[lines.length - 1].substring(6));
        assertTrue(ppl > 50 && ppl < 250, "a trained model, far below the bigram baseline's 318: " + ppl);
    }

    @Test
    void userErrorsAreOneLine() {
        Path missing = dir.resolve("nope.gguf");
        Result r = run("generate", "-m", missing.toString(), "-p", "x");
        assertEquals(1, r.code());
        assertEquals("error: model file not found: " + missing + "\n", r.err());

        r = run("generate", "-m", fixture("bitnet-silu-i2_s.gguf"), "-p", "x", "--top-p", "2");
        assertEquals("error: top-p must be in (0, 1], got 2.0\n", r.err());

        r = run("logits", "-m", fixture("bitnet-silu-i2_s.gguf"), "--tokens", "1,999", "-o", dir.resolve("x").toString());
        assertEquals("error: token id 999 is outside the vocabulary 0..511\n", r.err());
        assertFalse(Files.exists(dir.resolve("x")));

        r = run("dummy", "--shape", "5B", "--type", "i2_s", "-o", dir.resolve("y").toString());
        assertTrue(r.err().startsWith("error: unknown shape '5B'; known: 2B4T, 125M"), r.err());

        r = run("generate", "-m", fixture("bitnet-silu-i2_s.gguf"), "-p", "x", "-c", "100000");
        assertEquals("error: -c 100000 is larger than the model's context_length 512\n", r.err());

        r = run("inspect", fixture("manifest.json"));
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + fixture("manifest.json") + ": not a GGUF file"), r.err());
    }
}
