package org.bitnet4j.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.Session;
import org.bitnet4j.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt; prints the text as it is generated and the speed on stderr.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", required = true, description = "the prompt")
    String prompt;

    @Option(names = "--no-bos", description = "do not add the BOS token even if the model asks for it")
    boolean noBos;

    @Option(names = "--no-echo", description = "do not print the prompt before the generated text")
    boolean noEcho;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = model.load(); Session s = new Session(m, model.session(m))) {
            int[] ids = m.tokenizer.encode(prompt, !noBos, true);
            if (!noEcho) {
                out.print(prompt);
                out.flush();
            }
            GenerationResult r = s.generate(ids, sampling.params(), text -> {
                out.print(text);
                out.flush();
                return true;
            });
            out.println();
            spec.commandLine().getErr().printf("%nprompt: %d tokens, %.2f tok/s | generated: %d tokens, %.2f tok/s | finish: %s%n",
                    r.promptTokens(), r.promptTokensPerSecond(), r.generatedTokens(), r.generationTokensPerSecond(),
                    r.finishReason().openAiName());
        }
        return 0;
    }
}
