package org.bitnet4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.Model;
import org.bitnet4j.serve.BatchEngine;
import org.bitnet4j.serve.EngineOptions;
import org.bitnet4j.serve.OpenAiServer;
import org.bitnet4j.serve.ServeBench;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, /v1/models, /health, "
                + "/metrics) with continuous batching across -np slots. Runs until interrupted (Ctrl-C).")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--host", paramLabel = "ADDR", description = "address to bind (default: ${DEFAULT-VALUE}; "
            + "use 0.0.0.0 only on a trusted network, together with --api-key)")
    String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "N", description = "TCP port, 0 = any free one (default: ${DEFAULT-VALUE})")
    int port = 8080;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N",
            description = "slots: requests generated at once, each with its own KV cache of -c tokens (default: ${DEFAULT-VALUE})")
    int slots = 4;

    @Option(names = "--queue", paramLabel = "N",
            description = "requests that may wait for a free slot; beyond that the server answers 503 (default: ${DEFAULT-VALUE})")
    int queue = 64;

    @Option(names = "--api-key", paramLabel = "KEY", description = "require 'Authorization: Bearer KEY' on /v1/*")
    String apiKey;

    @Option(names = "--alias", paramLabel = "NAME", description = "model id in /v1/models and responses (default: the file name)")
    String alias;

    @Option(names = "--chat-template", paramLabel = "NAME|JINJA",
            description = "bitnet, llama3, or a Jinja template string (default: the model's tokenizer.chat_template, "
                    + "else chosen from the architecture)")
    String template;

    @Option(names = "--max-body", paramLabel = "BYTES", description = "largest request body accepted, else 413 (default: ${DEFAULT-VALUE})")
    long maxBody = OpenAiServer.Options.DEFAULT_MAX_BODY;

    @Option(names = "--bench", paramLabel = "N", split = ",",
            description = "benchmark instead of serving: aggregate tokens/s with N concurrent streaming clients on "
                    + "loopback for each N of a list such as 1,2,4,8 (give -np at least the largest N), then exit")
    int[] bench;

    @Option(names = "--bench-tokens", paramLabel = "N", description = "tokens each benchmark stream generates (default: ${DEFAULT-VALUE})")
    int benchTokens = 32;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = model.load()) {
            SessionOptions so = model.session(m);
            ChatTemplate tpl = template == null ? ChatTemplates.forModel(m.file().metadata(), m.tokenizer)
                    : ChatTemplates.select(template, m.config.arch().ggufName, m.tokenizer);
            EngineOptions eo = new EngineOptions(slots, so.contextLength(), so.threads(), so.batchSize(), queue, so.mode());
            String id = alias != null ? alias : m.path().getFileName().toString();
            OpenAiServer.Options opts = new OpenAiServer.Options(host, port, apiKey, id, maxBody, 1);
            try (BatchEngine engine = new BatchEngine(m, eo);
                 OpenAiServer server = OpenAiServer.start(engine, tpl, opts)) {
                out.printf("bitnet4j serve: %s (%s, %d layers), %d slots x %d tokens, %d threads, %d rows per batch%n", id,
                        m.config.arch().ggufName, m.config.layers(), slots, so.contextLength(), so.threads(),
                        Math.max(so.batchSize(), slots));
                out.println("listening on " + server.baseUrl() + "/v1" + (apiKey != null ? " (API key required)" : ""));
                out.flush();
                if (bench != null) {
                    ServeBench.run(server.baseUrl(), apiKey, bench, benchTokens, out);
                    return 0;
                }
                CountDownLatch stop = new CountDownLatch(1);
                Thread hook = new Thread(() -> {
                    server.close(); // stop accepting; the JVM may not wait for this thread to unwind
                    stop.countDown();
                }, "bitnet4j-serve-shutdown");
                Runtime.getRuntime().addShutdownHook(hook);
                try {
                    stop.await();
                } catch (InterruptedException e) {
                    // an embedding program (or a test) stopping the server: close down normally
                    Runtime.getRuntime().removeShutdownHook(hook);
                }
            }
        }
        return 0;
    }
}
