package org.bitnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import picocli.CommandLine;
import org.junit.jupiter.api.Test;

class TokenizeCommandTest {
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

    static String fixture() {
        return Path.of(System.getProperty("bitnet4j.shared"), "fixtures", "bitnet-silu-tq2_0.gguf").toString();
    }

    static final String TEXT = "Hello world, this is a test of ternary weights.";

    @Test
    void printsTheFixtureReferenceIds() {
        Result r = run("tokenize", "-m", fixture(), "--bos", TEXT);
        assertEquals(0, r.code(), r.err());
        assertEquals("510 72 294 292 345 44 352 319 257 301 302 359 342 115 46\n", r.out().replace("\r\n", "\n"));
        r = run("tokenize", "-m", fixture(), TEXT);
        assertEquals("72 294 292 345 44 352 319 257 301 302 359 342 115 46\n", r.out().replace("\r\n", "\n"));
    }

    @Test
    void specialTokensOnlyWithTheFlag() {
        assertEquals("510 72\n", run("tokenize", "-m", fixture(), "--special", "<|begin_of_text|>H").out().replace("\r\n", "\n"));
        assertTrue(run("tokenize", "-m", fixture(), "<|begin_of_text|>H").out().split(" ").length > 2);
    }

    @Test
    void piecesShowOneTokenPerLine() {
        Result r = run("tokenize", "-m", fixture(), "--pieces", "--bos", "Hello world,\n");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().replace("\r\n", "\n").split("\n");
        assertEquals("510 -> '<|begin_of_text|>'", lines[0]);
        assertEquals("72 -> 'H'", lines[1]);
        assertEquals("10 -> '\\n'", lines[lines.length - 1]);
    }

    @Test
    void partialUtf8PiecesAreShownAsBytes() {
        assertEquals("'\\xe2\\x82'", "'" + TokenizeCommand.pieceText(new byte[] {(byte) 0xE2, (byte) 0x82}) + "'");
        assertEquals("tab\\there", TokenizeCommand.printable("tab\there"));
    }

    @Test
    void missingModelIsOneLineError() {
        Result r = run("tokenize", "-m", "/nonexistent/model.gguf", "hi");
        assertEquals(1, r.code());
        assertEquals("error: model file not found: /nonexistent/model.gguf", r.err().strip());
    }
}
