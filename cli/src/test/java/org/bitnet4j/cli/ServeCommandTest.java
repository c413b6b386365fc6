package org.bitnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** The serve command on loopback: starts, answers, stops when its thread is interrupted; one-line user errors. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServeCommandTest {

    @Test
    void servesOnLoopbackUntilInterrupted() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        StringWriter out = new StringWriter(), err = new StringWriter();
        AtomicInteger code = new AtomicInteger(-1);
        Thread serve = Thread.ofPlatform().start(() -> {
            CommandLine cl = new CommandLine(new Main());
            cl.setExecutionExceptionHandler(Errors::handle);
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            code.set(cl.execute("serve", "-m", CommandsTest.fixture("bitnet-b1.58-relu2-i2_s.gguf"), "--port",
                    Integer.toString(port), "-np", "2", "-c", "256", "-t", "1", "--api-key", "k", "--alias", "tiny"));
        });
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            URI base = URI.create("http://127.0.0.1:" + port);
            HttpResponse<String> health = null;
            for (int i = 0; i < 300 && health == null; i++) {
                try {
                    health = http.send(HttpRequest.newBuilder(base.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
                } catch (ConnectException e) {
                    Thread.sleep(50); // still loading
                }
            }
            assertTrue(health != null && health.statusCode() == 200, "server did not come up: " + err);
            HttpResponse<String> models = http.send(HttpRequest.newBuilder(base.resolve("/v1/models"))
                    .header("Authorization", "Bearer k").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, models.statusCode());
            assertTrue(models.body().contains("\"id\":\"tiny\""), models.body());
            HttpResponse<String> chat = http.send(HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                    .header("Authorization", "Bearer k").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, chat.statusCode(), chat.body());
            assertTrue(chat.body().contains("\"completion_tokens\":4"), chat.body());
            assertTrue(out.toString().contains("listening on http://127.0.0.1:" + port + "/v1 (API key required)"), out.toString());

            serve.interrupt();
            serve.join(20_000);
            assertFalse(serve.isAlive());
            assertEquals(0, code.get(), err.toString());
            // the port is closed again
            boolean refused = false;
            try {
                http.send(HttpRequest.newBuilder(base.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                refused = true;
            }
            assertTrue(refused, "still answering after stop");
        }
    }

    @Test
    void badSettingsAreOneLineErrors() {
        CommandsTest.Result slots = CommandsTest.run("serve", "-m", CommandsTest.fixture("bitnet-b1.58-relu2-i2_s.gguf"),
                "-np", "0", "--port", "0", "-t", "1", "-c", "64");
        assertEquals(1, slots.code());
        assertEquals("error: slots (-np) must be >= 1, got 0", slots.err().strip());
        CommandsTest.Result missing = CommandsTest.run("serve", "-m", "/nonexistent/m.gguf");
        assertEquals(1, missing.code());
        assertTrue(missing.err().strip().startsWith("error: model file not found: /nonexistent/m.gguf"), missing.err());
        CommandsTest.Result ctx = CommandsTest.run("serve", "-m", CommandsTest.fixture("bitnet-b1.58-relu2-i2_s.gguf"),
                "-c", "100000", "--port", "0");
        assertEquals(1, ctx.code());
        assertTrue(ctx.err().contains("context_length"), ctx.err());
        assertFalse(ctx.err().contains("\tat "), ctx.err());
    }
}
