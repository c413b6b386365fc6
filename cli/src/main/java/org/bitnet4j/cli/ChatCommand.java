package org.bitnet4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.Session;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Multi-turn chat on the terminal. The conversation stays in the KV cache between turns, so each "
                + "turn evaluates only its new tokens. Type /exit (or end input) to leave, /reset to start over.")
final class ChatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"-s", "--system"}, paramLabel = "TEXT", description = "system prompt")
    String system;

    @Option(names = "--chat-template", paramLabel = "NAME|JINJA",
            description = "bitnet, llama3, or a Jinja template string (default: the model's tokenizer.chat_template, "
                    + "else chosen from the architecture)")
    String template;

    @Option(names = "--show-speed", description = "print prompt and generation speed after each answer")
    boolean showSpeed;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Model m = model.load(); Session s = new Session(m, model.session(m))) {
            ChatTemplate tpl = template == null ? ChatTemplates.forModel(m.file().metadata(), m.tokenizer)
                    : ChatTemplates.select(template, m.config.arch().ggufName, m.tokenizer);
            List<ChatMessage> history = new ArrayList<>();
            if (system != null && !system.isBlank()) {
                history.add(new ChatMessage("system", system));
            }
            boolean interactive = System.console() != null;
            if (interactive) {
                out.println("bitnet4j chat: " + m.path().getFileName() + " (" + m.config.arch().ggufName + ", "
                        + m.config.layers() + " layers). /exit to leave, /reset to start over.");
            }
            while (true) {
                if (interactive) {
                    out.print("> ");
                    out.flush();
                }
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit") || line.strip().equals("/quit")) {
                    break;
                }
                if (line.strip().equals("/reset")) {
                    history.removeIf(msg -> !msg.role().equals("system"));
                    s.reset();
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                history.add(new ChatMessage("user", line));
                int[] prompt = ChatTemplates.encodePrompt(m.tokenizer, tpl.render(history, true));
                GenerationResult r;
                try {
                    r = s.generate(prompt, sampling.params(), text -> {
                        out.print(text);
                        out.flush();
                        return true;
                    });
                } catch (ModelException e) {
                    out.println();
                    spec.commandLine().getErr().println("error: " + e.getMessage() + " (use /reset or a larger -c)");
                    history.removeLast();
                    continue;
                }
                out.println();
                history.add(new ChatMessage("assistant", r.text().strip()));
                if (showSpeed) {
                    spec.commandLine().getErr().printf("[prompt %d tokens (%d cached), %.1f tok/s; answer %d tokens, %.1f tok/s]%n",
                            r.promptTokens(), r.cachedTokens(), r.promptTokensPerSecond(), r.generatedTokens(),
                            r.generationTokensPerSecond());
                }
            }
        }
        return 0;
    }
}
