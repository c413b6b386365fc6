package org.bitnet4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import java.util.List;
import org.bitnet4j.generate.GenerationResult;
import org.bitnet4j.model.Model;

/**
 * langchain4j {@link StreamingChatModel} on bitnet4j's engine: text arrives as it is generated (whole UTF-8
 * characters, never the start of a stop sequence), on a virtual thread per call. The
 * {@link StreamingHandle} in each partial response's context cancels the generation.
 *
 * <pre>{@code
 * try (BitNetStreamingChatModel chat = BitNetStreamingChatModel.builder().modelPath(path).build()) {
 *     chat.chat("Tell me a story", new StreamingChatResponseHandler() {
 *         public void onPartialResponse(String text) { System.out.print(text); }
 *         public void onCompleteResponse(ChatResponse r) { System.out.println(); }
 *         public void onError(Throwable e) { e.printStackTrace(); }
 *     });
 * }
 * }</pre>
 */
public final class BitNetStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private final BitNetEngine engine;
    private final List<ChatModelListener> listeners;

    private BitNetStreamingChatModel(Builder b) {
        this.engine = new BitNetEngine(b);
        this.listeners = b.listeners;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        BitNetEngine.Prepared p;
        try {
            p = engine.prepare(request);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Thread.ofVirtual().name("bitnet4j-stream").start(() -> run(p, handler));
    }

    private void run(BitNetEngine.Prepared p, StreamingChatResponseHandler handler) {
        Handle handle = new Handle();
        PartialResponseContext context = new PartialResponseContext(handle);
        RuntimeException[] handlerFailure = new RuntimeException[1];
        GenerationResult r;
        try {
            r = engine.generate(p, text -> {
                if (handle.cancelled) {
                    return false;
                }
                try {
                    handler.onPartialResponse(new PartialResponse(text), context);
                } catch (RuntimeException e) {
                    handlerFailure[0] = e; // the caller's handler broke: stop and report it
                    return false;
                }
                return !handle.cancelled;
            });
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        if (handlerFailure[0] != null) {
            handler.onError(handlerFailure[0]);
        } else if (!handle.cancelled) {
            handler.onCompleteResponse(engine.response(r));
        }
    }

    private static final class Handle implements StreamingHandle {
        volatile boolean cancelled;

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
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

    public Model model() {
        return engine.model;
    }

    @Override
    public void close() {
        engine.close();
    }

    public static final class Builder extends BitNetModelBuilder<Builder, BitNetStreamingChatModel> {
        private Builder() {}

        @Override
        public BitNetStreamingChatModel build() {
            return new BitNetStreamingChatModel(this);
        }
    }
}
