package org.bitnet4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import java.util.List;
import org.bitnet4j.generate.TokenListener;
import org.bitnet4j.model.Model;

/**
 * langchain4j {@link ChatModel} running a BitNet b1.58 GGUF model in-process on bitnet4j's engine.
 *
 * <pre>{@code
 * try (BitNetChatModel chat = BitNetChatModel.builder()
 *         .modelPath("models/ggml-model-i2_s.gguf").temperature(0.0).maxTokens(256).build()) {
 *     String answer = chat.chat("What is a ternary weight?");
 * }
 * }</pre>
 *
 * One conversation is evaluated at a time (calls from several threads take turns); its KV cache is kept between
 * calls, so the next turn of the same conversation evaluates only the new messages. Text only: tools, images and
 * JSON mode throw {@link dev.langchain4j.exception.UnsupportedFeatureException}.
 */
public final class BitNetChatModel implements ChatModel, AutoCloseable {
    private final BitNetEngine engine;
    private final List<ChatModelListener> listeners;

    private BitNetChatModel(Builder b) {
        this.engine = new BitNetEngine(b);
        this.listeners = b.listeners;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        BitNetEngine.Prepared p = engine.prepare(request);
        return engine.response(engine.generate(p, TokenListener.NONE));
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return engine.defaults;
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** The loaded model (tokenizer, configuration). */
    public Model model() {
        return engine.model;
    }

    /** Closes the session and, if this chat model loaded it, the model. */
    @Override
    public void close() {
        engine.close();
    }

    public static final class Builder extends BitNetModelBuilder<Builder, BitNetChatModel> {
        private Builder() {}

        @Override
        public BitNetChatModel build() {
            return new BitNetChatModel(this);
        }
    }
}
