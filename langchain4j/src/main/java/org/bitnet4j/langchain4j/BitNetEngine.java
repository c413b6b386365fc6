package org.bitnet4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.generate.Session;
import org.bitnet4j.generate.SessionOptions;
import org.bitnet4j.generate.TokenListener;
import org.bitnet4j.model.Model;
import org.bitnet4j.model.ModelException;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplateException;
import org.bitnet4j.tokenizer.chat.ChatTemplates;

/**
 * What both chat models share: the model, one Session (its KV cache carries a conversation's prefix from one
 * call to the next, so a follow-up turn evaluates only the new messages), the chat template, and the mapping
 * between langchain4j's requests and the engine's. Calls are serialised: one sequence at a time.
 */
final class BitNetEngine implements AutoCloseable {
    private static final SamplerParams D = SamplerParams.DEFAULT;

    final Model model;
    private final boolean ownsModel;
    private final Session session;
    private final ChatTemplate template;
    final String modelName;
    final ChatRequestParameters defaults;
    private final float minP, repeatPenalty;
    private final long seed;
    private final ReentrantLock lock = new ReentrantLock();

    /** A request turned into engine terms. */
    record Prepared(int[] prompt, SamplerParams params) {}

    BitNetEngine(BitNetModelBuilder<?, ?> b) {
        if (b.model == null && b.modelPath == null) {
            throw new IllegalArgumentException("set modelPath(...) or model(...)");
        }
        if (b.model == null && !Files.isRegularFile(b.modelPath)) {
            throw new IllegalArgumentException("model file not found: " + b.modelPath);
        }
        this.ownsModel = b.model == null;
        this.model = b.model != null ? b.model : Model.load(b.modelPath);
        try {
            int ctx = b.contextLength > 0 ? b.contextLength : Math.min(4096, model.config.contextLength());
            this.session = new Session(model, new SessionOptions(b.threads, ctx, b.batchSize, b.activationMode));
            this.template = b.chatTemplate == null ? ChatTemplates.forModel(model.file().metadata(), model.tokenizer)
                    : ChatTemplates.select(b.chatTemplate, model.config.arch().ggufName, model.tokenizer);
        } catch (RuntimeException e) {
            if (ownsModel) {
                model.close();
            }
            throw e;
        }
        this.modelName = b.modelName != null ? b.modelName : model.path().getFileName().toString();
        ChatRequestParameters mine = DefaultChatRequestParameters.builder()
                .modelName(modelName)
                .temperature(b.temperature)
                .topP(b.topP)
                .topK(b.topK)
                .frequencyPenalty(b.frequencyPenalty)
                .presencePenalty(b.presencePenalty)
                .maxOutputTokens(b.maxTokens)
                .stopSequences(b.stop)
                .build();
        this.defaults = b.defaultRequestParameters == null ? mine : mine.overrideWith(b.defaultRequestParameters);
        this.minP = b.minP == null ? D.minP() : b.minP.floatValue();
        this.repeatPenalty = b.repeatPenalty == null ? D.repeatPenalty() : b.repeatPenalty.floatValue();
        this.seed = b.seed == null ? -1 : b.seed;
        prepareParams(defaults); // reject bad settings at build time, not at the first request
    }

    /** Messages to prompt tokens, parameters to sampler settings; throws for what the engine cannot do. */
    Prepared prepare(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by bitnet4j");
        }
        if (p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON) {
            throw new UnsupportedFeatureException("JSON response format is not supported by bitnet4j");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (dev.langchain4j.data.message.ChatMessage m : request.messages()) {
            messages.add(switch (m) {
                case SystemMessage s -> ChatMessage.system(s.text());
                case UserMessage u -> ChatMessage.user(text(u));
                case AiMessage a -> {
                    if (a.hasToolExecutionRequests()) {
                        throw new UnsupportedFeatureException("tool execution requests are not supported by bitnet4j");
                    }
                    yield ChatMessage.assistant(a.text() == null ? "" : a.text());
                }
                default -> throw new UnsupportedFeatureException("messages of type " + m.type()
                        + " are not supported by bitnet4j");
            });
        }
        String rendered;
        try {
            rendered = template.render(messages, true);
        } catch (ChatTemplateException e) {
            throw new InvalidRequestException("the chat template rejected the conversation: " + e.getMessage(), e);
        }
        return new Prepared(ChatTemplates.encodePrompt(model.tokenizer, rendered), prepareParams(p));
    }

    private static String text(UserMessage u) {
        if (u.hasSingleText()) {
            return u.singleText();
        }
        StringBuilder sb = new StringBuilder();
        for (Content c : u.contents()) {
            if (!(c instanceof TextContent t)) {
                throw new UnsupportedFeatureException(c.type() + " content is not supported by bitnet4j (text only)");
            }
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append(t.text());
        }
        return sb.toString();
    }

    private SamplerParams prepareParams(ChatRequestParameters p) {
        try {
            return new SamplerParams(
                    p.temperature() == null ? D.temperature() : p.temperature().floatValue(),
                    p.topK() == null ? D.topK() : p.topK(),
                    p.topP() == null ? D.topP() : p.topP().floatValue(),
                    minP, repeatPenalty, D.repeatLastN(),
                    p.presencePenalty() == null ? 0f : p.presencePenalty().floatValue(),
                    p.frequencyPenalty() == null ? 0f : p.frequencyPenalty().floatValue(),
                    seed,
                    p.maxOutputTokens() == null ? -1 : positive(p.maxOutputTokens()),
                    p.stopSequences() == null ? List.of() : p.stopSequences());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
    }

    private static int positive(int maxTokens) {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max output tokens must be >= 1, got " + maxTokens);
        }
        return maxTokens;
    }

    /** Runs one generation; calls from several threads take turns. */
    GenerationResult generate(Prepared p, TokenListener listener) {
        lock.lock();
        try {
            return session.generate(p.prompt(), p.params(), listener);
        } catch (ModelException e) {
            throw new InvalidRequestException(e.getMessage(), e); // e.g. the prompt does not fit in the context
        } finally {
            lock.unlock();
        }
    }

    ChatResponse response(GenerationResult r) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(r.text()))
                .modelName(modelName)
                .tokenUsage(new TokenUsage(r.promptTokens(), r.generatedTokens()))
                .finishReason(switch (r.finishReason()) {
                    case STOP -> FinishReason.STOP;
                    case LENGTH, CONTEXT -> FinishReason.LENGTH;
                    case CANCELLED -> FinishReason.OTHER;
                })
                .build();
    }

    int contextLength() {
        return session.contextLength();
    }

    @Override
    public void close() {
        lock.lock();
        try {
            session.close();
            if (ownsModel) {
                model.close();
            }
        } finally {
            lock.unlock();
        }
    }
}
