package org.bitnet4j.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import java.nio.file.Path;
import java.util.List;
import org.bitnet4j.model.ActivationMode;
import org.bitnet4j.model.Model;

/**
 * Settings shared by {@link BitNetChatModel} and {@link BitNetStreamingChatModel}. Sampling settings left unset
 * take llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05); a request's own parameters
 * (temperature, top-p, top-k, max output tokens, stop sequences, penalties) override the ones set here.
 */
public abstract class BitNetModelBuilder<B extends BitNetModelBuilder<B, M>, M> {
    Path modelPath;
    Model model;
    int threads = Runtime.getRuntime().availableProcessors();
    int contextLength;
    int batchSize = 128;
    ActivationMode activationMode = ActivationMode.INT8;
    String modelName;
    String chatTemplate;
    Double temperature, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty;
    Integer topK, maxTokens;
    Long seed;
    List<String> stop;
    List<ChatModelListener> listeners = List.of();
    ChatRequestParameters defaultRequestParameters;

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** GGUF file to load (the model is closed with this chat model). */
    public B modelPath(Path path) {
        this.modelPath = path;
        return self();
    }

    public B modelPath(String path) {
        return modelPath(Path.of(path));
    }

    /** An already loaded model, e.g. shared by a blocking and a streaming chat model; the caller closes it. */
    public B model(Model model) {
        this.model = model;
        return self();
    }

    /** Compute threads (default: all cores). */
    public B threads(int threads) {
        this.threads = threads;
        return self();
    }

    /** KV cache size in tokens (default: the model's context length, at most 4096). */
    public B contextLength(int tokens) {
        this.contextLength = tokens;
        return self();
    }

    /** Prompt tokens per forward pass (default 128). */
    public B batchSize(int rows) {
        this.batchSize = rows;
        return self();
    }

    /** INT8 (BitNet's own math, default) or FLOAT activations. */
    public B activationMode(ActivationMode mode) {
        this.activationMode = mode;
        return self();
    }

    /** Name reported in responses (default: the file name). */
    public B modelName(String name) {
        this.modelName = name;
        return self();
    }

    /** "bitnet", "llama3" or a Jinja template (default: the GGUF's tokenizer.chat_template, else by architecture). */
    public B chatTemplate(String nameOrJinja) {
        this.chatTemplate = nameOrJinja;
        return self();
    }

    /** 0 = greedy. */
    public B temperature(Double temperature) {
        this.temperature = temperature;
        return self();
    }

    public B topP(Double topP) {
        this.topP = topP;
        return self();
    }

    /** 0 = off. */
    public B topK(Integer topK) {
        this.topK = topK;
        return self();
    }

    public B minP(Double minP) {
        this.minP = minP;
        return self();
    }

    /** llama.cpp's repetition penalty over the last 64 tokens; 1 = off. */
    public B repeatPenalty(Double repeatPenalty) {
        this.repeatPenalty = repeatPenalty;
        return self();
    }

    public B frequencyPenalty(Double frequencyPenalty) {
        this.frequencyPenalty = frequencyPenalty;
        return self();
    }

    public B presencePenalty(Double presencePenalty) {
        this.presencePenalty = presencePenalty;
        return self();
    }

    /** Tokens to generate at most (default: until the end-of-generation token or a full context). */
    public B maxTokens(Integer maxTokens) {
        this.maxTokens = maxTokens;
        return self();
    }

    /** Sampling seed: the same seed, messages and settings give the same answer. Default: random. */
    public B seed(Long seed) {
        this.seed = seed;
        return self();
    }

    public B stop(List<String> stop) {
        this.stop = stop;
        return self();
    }

    public B listeners(List<ChatModelListener> listeners) {
        this.listeners = listeners == null ? List.of() : List.copyOf(listeners);
        return self();
    }

    /** Default request parameters; fields set here win over the individual setters above. */
    public B defaultRequestParameters(ChatRequestParameters parameters) {
        this.defaultRequestParameters = parameters;
        return self();
    }

    public abstract M build();
}
