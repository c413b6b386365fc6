package org.bitnet4j.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real chat requests against the tiny fixture model, checked against the engine's own Session with the same
 * prompt (rendered by the model's chat template) and settings.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BitNetChatModelTest {
    static final Path FIXTURE = Path.of(System.getProperty("bitnet4j.shared", "../../shared"), "fixtures",
            "bitnet-b1.58-relu2-i2_s.gguf");
    static Model model;
    static Session reference;
    static BitNetChatModel greedy;

    @BeforeAll
    static void load() {
        model = Model.load(FIXTURE);
        reference = new Session(model, new SessionOptions(1, 512, 128, ActivationMode.INT8));
        greedy = BitNetChatModel.builder().model(model).threads(1).temperature(0.0).maxTokens(24).build();
    }

    @AfterAll
    static void close() {
        greedy.close();
        reference.close();
        model.close();
    }

    static GenerationResult alone(List<ChatMessage> messages, SamplerParams p) {
        reference.reset();
        var template = ChatTemplates.forModel(model.file().metadata(), model.tokenizer);
        return reference.generate(ChatTemplates.encodePrompt(model.tokenizer, template.render(messages, true)), p, t -> true);
    }

    @Test
    void greedyChatEqualsTheEngine() {
        ChatResponse r = greedy.chat(SystemMessage.from("Be brief."), UserMessage.from("What is BitNet?"));
        GenerationResult expected = alone(List.of(ChatMessage.system("Be brief."), ChatMessage.user("What is BitNet?")),
                SamplerParams.GREEDY.withMaxTokens(24));
        assertEquals(expected.text(), r.aiMessage().text());
        assertFalse(r.aiMessage().text().isEmpty());
        assertEquals(expected.promptTokens(), r.tokenUsage().inputTokenCount());
        assertEquals(expected.generatedTokens(), r.tokenUsage().outputTokenCount());
        assertEquals(expected.promptTokens() + expected.generatedTokens(), r.tokenUsage().totalTokenCount());
        assertEquals(expected.finishReason() == org.bitnet4j.generate.FinishReason.STOP ? FinishReason.STOP
                : FinishReason.LENGTH, r.finishReason());
        assertEquals("bitnet-b1.58-relu2-i2_s.gguf", r.modelName());
    }

    @Test
    void aMultiTurnConversationGivesTheAnswerOfAFreshEngine() {
        List<dev.langchain4j.data.message.ChatMessage> history = new ArrayList<>();
        history.add(UserMessage.from("Hi"));
        ChatResponse first = greedy.chat(history);
        history.add(first.aiMessage());
        history.add(UserMessage.from("And then?"));
        ChatResponse second = greedy.chat(history); // the session still holds the first turn: only the rest is new
        GenerationResult expected = alone(List.of(ChatMessage.user("Hi"), ChatMessage.assistant(first.aiMessage().text()),
                ChatMessage.user("And then?")), SamplerParams.GREEDY.withMaxTokens(24));
        assertEquals(expected.text(), second.aiMessage().text());
    }

    @Test
    void requestParametersOverrideTheBuildersAndStopSequencesCut() {
        GenerationResult free = alone(List.of(ChatMessage.user("Count")), SamplerParams.GREEDY.withMaxTokens(40));
        assertTrue(free.text().length() > 10, free.text());
        String stop = free.text().substring(5, 8);
        ChatResponse r = greedy.chat(ChatRequest.builder().messages(UserMessage.from("Count"))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(40).stopSequences(stop).build()).build());
        GenerationResult expected = alone(List.of(ChatMessage.user("Count")),
                SamplerParams.GREEDY.withMaxTokens(40).withStop(List.of(stop)));
        assertEquals(expected.text(), r.aiMessage().text());
        assertFalse(r.aiMessage().text().contains(stop));
        assertEquals(FinishReason.STOP, r.finishReason());

        ChatResponse shortOne = greedy.chat(ChatRequest.builder().messages(UserMessage.from("Count"))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(3).build()).build());
        assertEquals(3, shortOne.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, shortOne.finishReason());
        assertEquals(alone(List.of(ChatMessage.user("Count")), SamplerParams.GREEDY.withMaxTokens(3)).text(),
                shortOne.aiMessage().text());
    }

    @Test
    void seededSamplingIsReproducibleAndEqualsTheEngine() {
        try (BitNetChatModel seeded = BitNetChatModel.builder().modelPath(FIXTURE).threads(1).temperature(0.9)
                .topP(0.9).topK(30).minP(0.02).repeatPenalty(1.1).seed(2024L).maxTokens(30).build()) {
            String a = seeded.chat("Tell me a story");
            String b = seeded.chat("Tell me a story");
            assertEquals(a, b);
            SamplerParams p = new SamplerParams(0.9f, 30, 0.9f, 0.02f, 1.1f, 64, 0f, 0f, 2024, 30, List.of());
            assertEquals(alone(List.of(ChatMessage.user("Tell me a story")), p).text(), a);
        }
    }

    @Test
    void streamingDeliversTheSameTextInPiecesThenTheCompleteResponse() throws Exception {
        try (BitNetStreamingChatModel streaming = BitNetStreamingChatModel.builder().model(model).threads(1)
                .temperature(0.0).maxTokens(32).build()) {
            List<String> pieces = new CopyOnWriteArrayList<>();
            ChatResponse r = stream(streaming, "Stream please", pieces);
            ChatResponse sync = greedy.chat(ChatRequest.builder().messages(UserMessage.from("Stream please"))
                    .parameters(ChatRequestParameters.builder().maxOutputTokens(32).build()).build());
            assertEquals(sync.aiMessage().text(), String.join("", pieces));
            assertEquals(sync.aiMessage().text(), r.aiMessage().text());
            assertTrue(pieces.size() > 1, pieces.toString());
            assertEquals(sync.tokenUsage(), r.tokenUsage());
            assertEquals(sync.finishReason(), r.finishReason());
        }
    }

    @Test
    void aStreamCanBeCancelledThroughItsHandle() throws Exception {
        try (BitNetStreamingChatModel streaming = BitNetStreamingChatModel.builder().model(model).threads(1)
                .temperature(0.0).maxTokens(200).build()) {
            List<String> pieces = new CopyOnWriteArrayList<>();
            CompletableFuture<Boolean> completed = new CompletableFuture<>();
            streaming.chat("Go on and on", new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
                    pieces.add(partial.text());
                    if (pieces.size() == 3) {
                        context.streamingHandle().cancel();
                        completed.complete(false);
                    }
                }

                @Override
                public void onCompleteResponse(ChatResponse response) {
                    completed.complete(true);
                }

                @Override
                public void onError(Throwable error) {
                    completed.completeExceptionally(error);
                }
            });
            assertFalse(completed.get(30, TimeUnit.SECONDS));
            // the next call waits for the cancelled one to stop and then works normally
            List<String> again = new CopyOnWriteArrayList<>();
            assertNotNull(stream(streaming, "Hello", again));
            assertEquals(3, pieces.size(), "no text after cancel: " + pieces);
        }
    }

    @Test
    void streamingErrorsGoToOnError() throws Exception {
        try (BitNetStreamingChatModel streaming = BitNetStreamingChatModel.builder().model(model).threads(1)
                .contextLength(32).build()) {
            CompletableFuture<Throwable> error = new CompletableFuture<>();
            streaming.chat("word ".repeat(100), new StreamingChatResponseHandler() {
                @Override
                public void onCompleteResponse(ChatResponse response) {
                    error.complete(null);
                }

                @Override
                public void onError(Throwable e) {
                    error.complete(e);
                }
            });
            Throwable e = error.get(30, TimeUnit.SECONDS);
            assertInstanceOf(InvalidRequestException.class, e);
            assertTrue(e.getMessage().contains("context"), e.getMessage());
        }
    }

    @Test
    void aPromptLongerThanTheContextIsAnInvalidRequestAndTheModelStillWorks() {
        try (BitNetChatModel small = BitNetChatModel.builder().model(model).threads(1).contextLength(32).temperature(0.0)
                .maxTokens(4).build()) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> small.chat("word ".repeat(100)));
            assertTrue(e.getMessage().contains("context"), e.getMessage());
            assertEquals(4, small.chat(UserMessage.from("hi")).tokenUsage().outputTokenCount());
        }
    }

    @Test
    void unsupportedFeaturesAreRefusedClearly() {
        ToolSpecification tool = ToolSpecification.builder().name("weather").description("weather").build();
        assertThrows(UnsupportedFeatureException.class, () -> greedy.chat(ChatRequest.builder()
                .messages(UserMessage.from("hi")).toolSpecifications(tool).build()));
        assertThrows(UnsupportedFeatureException.class, () -> greedy.chat(ChatRequest.builder()
                .messages(UserMessage.from("hi")).responseFormat(ResponseFormat.JSON).build()));
        assertThrows(UnsupportedFeatureException.class, () -> greedy.chat(UserMessage.from(
                TextContent.from("look"), ImageContent.from("http://127.0.0.1/none.png"))));
        assertThrows(UnsupportedFeatureException.class, () -> greedy.chat(UserMessage.from("hi"),
                ToolExecutionResultMessage.from("id", "weather", "sunny")));
        // several text parts are joined, as the server does
        ChatResponse parts = greedy.chat(UserMessage.from(TextContent.from("a"), TextContent.from("b")));
        assertEquals(alone(List.of(ChatMessage.user("a\nb")), SamplerParams.GREEDY.withMaxTokens(24)).text(),
                parts.aiMessage().text());
    }

    @Test
    void badSettingsFailAtBuildOrRequestTime() {
        assertThrows(IllegalArgumentException.class, () -> BitNetChatModel.builder().build());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> BitNetChatModel.builder().modelPath("/nonexistent/model.gguf").build());
        assertTrue(missing.getMessage().contains("/nonexistent/model.gguf"));
        assertThrows(InvalidRequestException.class, () -> BitNetChatModel.builder().model(model).topP(1.5).build());
        assertThrows(InvalidRequestException.class, () -> greedy.chat(ChatRequest.builder().messages(UserMessage.from("x"))
                .parameters(ChatRequestParameters.builder().temperature(-1.0).build()).build()));
        assertThrows(InvalidRequestException.class, () -> greedy.chat(ChatRequest.builder().messages(UserMessage.from("x"))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(0).build()).build()));
    }

    @Test
    void listenersSeeRequestsResponsesAndErrors() {
        List<String> seen = new CopyOnWriteArrayList<>();
        ChatModelListener listener = new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext ctx) {
                seen.add("request " + ctx.chatRequest().parameters().temperature());
            }

            @Override
            public void onResponse(ChatModelResponseContext ctx) {
                seen.add("response " + ctx.chatResponse().tokenUsage().outputTokenCount());
            }

            @Override
            public void onError(ChatModelErrorContext ctx) {
                seen.add("error " + ctx.error().getClass().getSimpleName());
            }
        };
        try (BitNetChatModel m = BitNetChatModel.builder().model(model).threads(1).temperature(0.0).maxTokens(5)
                .listeners(List.of(listener)).build()) {
            m.chat("hello");
            assertThrows(UnsupportedFeatureException.class, () -> m.chat(UserMessage.from(ImageContent.from(
                    "http://127.0.0.1/x.png"))));
        }
        assertEquals(List.of("request 0.0", "response 5", "request 0.0", "error UnsupportedFeatureException"), seen);
    }

    static ChatResponse stream(BitNetStreamingChatModel m, String user, List<String> pieces) throws Exception {
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        m.chat(user, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                pieces.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        return done.get(30, TimeUnit.SECONDS);
    }

    @Test
    void anAiMessageWithoutTextCountsAsEmpty() {
        ChatResponse r = greedy.chat(UserMessage.from("q"), AiMessage.from(""), UserMessage.from("r"));
        assertEquals(alone(List.of(ChatMessage.user("q"), ChatMessage.assistant(""), ChatMessage.user("r")),
                SamplerParams.GREEDY.withMaxTokens(24)).text(), r.aiMessage().text());
    }
}
