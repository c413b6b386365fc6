package org.bitnet4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;
import org.bitnet4j.generate.Session;
import org.bitnet4j.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Evaluate tokens as one sequence from position 0 and write the logits of every position as "
                + "float32 little-endian [n_tokens][n_vocab].")
final class LogitsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--tokens", required = true, split = ",", paramLabel = "ID,ID,...", description = "token ids")
    int[] tokens;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "output file")
    Path out;

    @Option(names = "--force", description = "overwrite an existing output file")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
        }
        try (Model m = model.load()) {
            int vocab = m.config.vocab();
            for (int t : tokens) {
                if (t < 0 || t >= vocab) {
                    throw new IllegalArgumentException("token id " + t + " is outside the vocabulary 0.." + (vocab - 1));
                }
            }
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            try (Session s = new Session(m, model.session(m));
                 FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                         StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.allocate(vocab * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                s.append(tokens, (logits, off, pos) -> {
                    buf.clear();
                    buf.asFloatBuffer().put(logits, off, vocab);
                    buf.limit(vocab * Float.BYTES);
                    try {
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            spec.commandLine().getErr().printf("wrote %d x %d logits to %s%n", tokens.length, vocab, out);
        }
        return 0;
    }
}
