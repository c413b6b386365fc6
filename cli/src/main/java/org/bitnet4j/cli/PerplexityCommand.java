package org.bitnet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.bitnet4j.generate.Perplexity;
import org.bitnet4j.generate.Session;
import org.bitnet4j.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity of a text, llama-perplexity's method: non-overlapping chunks of CTX tokens "
                + "(BOS first), the second half of each chunk scored. Last line: PPL = <value>.")
final class PerplexityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "TEXT", description = "UTF-8 text file")
    Path file;

    @Option(names = "--chunks", paramLabel = "N", description = "score at most N chunks (default: all)")
    int maxChunks = -1;

    @Override
    public Integer call() throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("text file not found: " + file);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IllegalArgumentException(file + " is not valid UTF-8 text");
        }
        PrintWriter out = spec.commandLine().getOut();
        // llama-perplexity's default chunk is 512 tokens (or the model's context, if shorter)
        try (Model m = model.load(); Session s = new Session(m, model.session(m, 512))) {
            int[] tokens = m.tokenizer.encode(text, false, false);
            long t0 = System.nanoTime();
            Perplexity.Result r = Perplexity.compute(s, tokens, maxChunks, (chunk, ppl) -> {
                out.printf("[%d]%.4f,", chunk, ppl);
                out.flush();
            });
            double secs = (System.nanoTime() - t0) / 1e9;
            out.println();
            out.printf("%d tokens, %d chunks of %d, %d scored, %.1f s (%.1f tok/s)%n", tokens.length, r.chunks(),
                    s.contextLength(), r.scored(), secs, r.chunks() * (double) s.contextLength() / secs);
            out.printf("Final estimate: PPL = %.4f +/- %.5f%n", r.ppl(), r.pplError());
            out.printf("PPL = %.4f%n", r.ppl());
        }
        return 0;
    }
}
