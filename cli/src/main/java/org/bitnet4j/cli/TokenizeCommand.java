package org.bitnet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.bitnet4j.gguf.GgufFile;
import org.bitnet4j.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code bitnet4j tokenize -m MODEL.gguf [--bos] [--special] [--pieces] TEXT}: token ids of a text, from the model's tokenizer metadata only. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of TEXT, space separated on one line (reads only the model's tokenizer metadata, no weights).")
public final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL.gguf", required = true, description = "GGUF file whose tokenizer to use")
    Path model;

    @Option(names = "--bos", description = "add BOS (and EOS) where the model asks for them (tokenizer.ggml.add_bos_token / add_eos_token)")
    boolean bos;

    @Option(names = "--special", description = "recognise special tokens written in TEXT, such as <|eot_id|>")
    boolean special;

    @Option(names = "--pieces", description = "print one token per line as: id -> 'text'")
    boolean pieces;

    @Parameters(index = "0", paramLabel = "TEXT", description = "the text to tokenize")
    String text;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        Tokenizer tokenizer;
        try (GgufFile file = GgufFile.open(model)) {
            tokenizer = Tokenizer.fromGguf(file.metadata());
        }
        int[] ids = tokenizer.encode(text, bos, special);
        PrintWriter out = spec.commandLine().getOut();
        if (pieces) {
            for (int id : ids) out.println(id + " -> '" + pieceText(tokenizer.tokenBytes(id)) + "'");
        } else {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                if (!sb.isEmpty()) sb.append(' ');
                sb.append(id);
            }
            out.println(sb);
        }
        out.flush();
        return 0;
    }

    /** A token's bytes as text, or as \\xNN escapes when they are only part of a UTF-8 character. */
    static String pieceText(byte[] bytes) {
        try {
            String s = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            return printable(s);
        } catch (java.nio.charset.CharacterCodingException e) {
            StringBuilder sb = new StringBuilder();
            for (byte b : bytes) sb.append(String.format("\\x%02x", b & 0xFF));
            return sb.toString();
        }
    }

    /** Newlines, tabs and other control characters shown as escapes so that one token stays on one line. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\\' -> sb.append("\\\\");
                case '\'' -> sb.append("\\'");
                default -> {
                    if (Character.isISOControl(cp)) sb.append(String.format("\\x%02x", cp));
                    else sb.appendCodePoint(cp);
                }
            }
        });
        return sb.toString();
    }
}
