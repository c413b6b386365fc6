package org.bitnet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.tokenizer.Tokenizer;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplateException;
import org.bitnet4j.tokenizer.chat.ChatTemplates;

/**
 * A validated /v1/chat/completions or /v1/completions request: the prompt as tokens and the sampling settings.
 * Unknown fields are ignored, as OpenAI does; a known field of the wrong type or out of range is a 400 naming it.
 * A JSON null counts as absent.
 *
 * @param includeUsage stream_options.include_usage: usage comes in an extra chunk with empty choices (OpenAI's way);
 *                     otherwise it rides on the chunk that carries finish_reason
 */
record OpenAiRequest(int[] prompt, SamplerParams params, boolean stream, boolean includeUsage) {

    /** Defaults for fields a request leaves out: llama.cpp's server defaults. */
    static final SamplerParams DEFAULTS = SamplerParams.DEFAULT;
    static final int MAX_STOP_STRINGS = 16;

    private static final Map<String, String> ROLES = Map.of(
            "system", "system", "developer", "system", "user", "user", "assistant", "assistant");

    static OpenAiRequest chat(JsonNode body, Tokenizer tokenizer, ChatTemplate template, int context) {
        requireObject(body);
        rejectUnsupported(body);
        List<ChatMessage> messages = messages(body);
        String rendered;
        try {
            rendered = template.render(messages, true);
        } catch (ChatTemplateException e) {
            throw ApiError.invalid("messages", "the chat template rejected the conversation: " + e.getMessage());
        }
        int[] prompt = ChatTemplates.encodePrompt(tokenizer, rendered);
        return build(body, prompt, "messages", context);
    }

    static OpenAiRequest completion(JsonNode body, Tokenizer tokenizer, int context) {
        requireObject(body);
        JsonNode p = field(body, "prompt");
        if (p == null) {
            throw ApiError.invalid("prompt", "missing required parameter: 'prompt'");
        }
        int[] prompt;
        if (p.isTextual()) {
            prompt = encode(tokenizer, p.asText());
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = encode(tokenizer, p.get(0).asText());
        } else if (p.isArray() && !p.isEmpty() && allIntegers(p)) {
            prompt = new int[p.size()];
            for (int i = 0; i < prompt.length; i++) {
                long id = p.get(i).asLong();
                if (id < 0 || id >= tokenizer.vocabSize()) {
                    throw ApiError.invalid("prompt", "token id " + id + " is outside the vocabulary 0.."
                            + (tokenizer.vocabSize() - 1));
                }
                prompt[i] = (int) id;
            }
        } else if (p.isArray() && p.size() > 1 && p.get(0).isTextual()) {
            throw ApiError.invalid("prompt", "only one prompt per request is supported, got " + p.size());
        } else {
            throw ApiError.invalid("prompt", "'prompt' must be a string, a list of one string or a list of token ids");
        }
        if (prompt.length == 0) {
            throw ApiError.invalid("prompt", "the prompt is empty");
        }
        return build(body, prompt, "prompt", context);
    }

    private static int[] encode(Tokenizer tokenizer, String text) {
        // as llama.cpp's server: BOS where the vocabulary wants it, special tokens written in the text are parsed
        return tokenizer.encode(text, true, true);
    }

    private static OpenAiRequest build(JsonNode body, int[] prompt, String promptParam, int context) {
        if (prompt.length >= context) {
            throw ApiError.invalid(promptParam, "context_length_exceeded", "This model's maximum context length is "
                    + context + " tokens. However, your " + (promptParam.equals("messages") ? "messages" : "prompt")
                    + " resulted in " + prompt.length + " tokens, which leaves no room for an answer. "
                    + "Please reduce the length of the " + promptParam + ".");
        }
        Long n = integer(body, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) {
            throw ApiError.invalid("n", "only n = 1 is supported, got " + n);
        }
        int maxTokens = -1;
        Long mt = integer(body, "max_tokens", Long.MIN_VALUE, Long.MAX_VALUE);
        String mtName = "max_tokens";
        Long mct = integer(body, "max_completion_tokens", Long.MIN_VALUE, Long.MAX_VALUE);
        if (mct != null) {
            mt = mct;
            mtName = "max_completion_tokens";
        }
        if (mt != null) {
            if (mt < 1 || mt > context) {
                throw ApiError.invalid(mtName, "'" + mtName + "' must be between 1 and the context length "
                        + context + ", got " + mt);
            }
            maxTokens = (int) (long) mt;
        }
        float temperature = (float) number(body, "temperature", 0, 2, DEFAULTS.temperature());
        float topP = (float) number(body, "top_p", 0, 1, DEFAULTS.topP());
        if (topP == 0f) {
            topP = Float.MIN_VALUE; // "top_p": 0 keeps only the most likely token
        }
        Long topK = integer(body, "top_k", 0, Integer.MAX_VALUE);
        float minP = (float) number(body, "min_p", 0, 1, DEFAULTS.minP());
        float presence = (float) number(body, "presence_penalty", -2, 2, 0);
        float frequency = (float) number(body, "frequency_penalty", -2, 2, 0);
        float repeat = (float) number(body, "repeat_penalty", 0, 10, DEFAULTS.repeatPenalty());
        if (repeat == 0f) {
            throw ApiError.invalid("repeat_penalty", "'repeat_penalty' must be > 0 (1 = off)");
        }
        Long seed = integer(body, "seed", Long.MIN_VALUE, Long.MAX_VALUE);
        List<String> stop = stop(body);
        boolean stream = bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = field(body, "stream_options");
        if (so != null) {
            if (!so.isObject()) {
                throw ApiError.invalid("stream_options", "'stream_options' must be an object");
            }
            includeUsage = bool(so, "include_usage", false, "stream_options.include_usage");
        }
        SamplerParams params = new SamplerParams(temperature, topK == null ? DEFAULTS.topK() : (int) (long) topK, topP,
                minP, repeat, DEFAULTS.repeatLastN(), presence, frequency, seed == null ? -1 : seed, maxTokens, stop);
        return new OpenAiRequest(prompt, params, stream, stream && includeUsage);
    }

    // ---- chat messages ----

    private static List<ChatMessage> messages(JsonNode body) {
        JsonNode ms = field(body, "messages");
        if (ms == null) {
            throw ApiError.invalid("messages", "missing required parameter: 'messages'");
        }
        if (!ms.isArray()) {
            throw ApiError.invalid("messages", "'messages' must be an array");
        }
        if (ms.isEmpty()) {
            throw ApiError.invalid("messages", "'messages' must contain at least one message");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            String where = "messages[" + i + "]";
            JsonNode m = ms.get(i);
            if (!m.isObject()) {
                throw ApiError.invalid(where, where + " must be an object");
            }
            JsonNode r = field(m, "role");
            if (r == null) {
                throw ApiError.invalid(where + ".role", "missing required parameter: '" + where + ".role'");
            }
            if (!r.isTextual()) {
                throw ApiError.invalid(where + ".role", where + ".role must be a string");
            }
            String role = ROLES.get(r.asText());
            if (role == null) {
                throw ApiError.invalid(where + ".role", "unsupported role '" + r.asText()
                        + "' (supported: system, developer, user, assistant; tool calls are not supported)");
            }
            out.add(new ChatMessage(role, content(m, where, role)));
        }
        return out;
    }

    private static String content(JsonNode m, String where, String role) {
        JsonNode c = field(m, "content");
        if (c == null) {
            if (role.equals("assistant")) {
                return "";
            }
            throw ApiError.invalid(where + ".content", "missing required parameter: '" + where + ".content'");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < c.size(); j++) {
                JsonNode part = c.get(j);
                String pw = where + ".content[" + j + "]";
                JsonNode type = part.isObject() ? field(part, "type") : null;
                if (type == null || !type.isTextual()) {
                    throw ApiError.invalid(pw, pw + " must be an object with a 'type'");
                }
                if (!type.asText().equals("text")) {
                    throw ApiError.invalid(pw + ".type", "only text content is supported, got '" + type.asText() + "'");
                }
                JsonNode text = field(part, "text");
                if (text == null || !text.isTextual()) {
                    throw ApiError.invalid(pw + ".text", pw + ".text must be a string");
                }
                if (!sb.isEmpty()) {
                    sb.append('\n');
                }
                sb.append(text.asText());
            }
            return sb.toString();
        }
        throw ApiError.invalid(where + ".content", where + ".content must be a string or an array of text parts");
    }

    /** Features a client would rely on and we cannot honour: better a clear 400 than a silently different answer. */
    private static void rejectUnsupported(JsonNode body) {
        JsonNode tools = field(body, "tools");
        if (tools != null && (!tools.isArray() || !tools.isEmpty())) {
            throw ApiError.invalid("tools", "tool calls are not supported by this server");
        }
        JsonNode functions = field(body, "functions");
        if (functions != null && (!functions.isArray() || !functions.isEmpty())) {
            throw ApiError.invalid("functions", "function calls are not supported by this server");
        }
        JsonNode rf = field(body, "response_format");
        if (rf != null) {
            JsonNode type = rf.isObject() ? field(rf, "type") : null;
            if (type == null || !type.isTextual()) {
                throw ApiError.invalid("response_format", "'response_format' must be an object with a string 'type'");
            }
            if (!type.asText().equals("text")) {
                throw ApiError.invalid("response_format.type", "response_format '" + type.asText()
                        + "' is not supported (only 'text')");
            }
        }
    }

    // ---- typed fields ----

    private static void requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.invalid(null, "the request body must be a JSON object");
        }
    }

    /** The field, or null when absent or JSON null. */
    static JsonNode field(JsonNode o, String name) {
        JsonNode v = o.get(name);
        return v == null || v.isNull() ? null : v;
    }

    private static boolean allIntegers(JsonNode a) {
        for (JsonNode e : a) {
            if (!e.isIntegralNumber()) {
                return false;
            }
        }
        return true;
    }

    private static double number(JsonNode o, String name, double min, double max, double dflt) {
        JsonNode v = field(o, name);
        if (v == null) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiError.invalid(name, "'" + name + "' must be a number, got " + kind(v));
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw ApiError.invalid(name, "'" + name + "' must be between " + fmt(min) + " and " + fmt(max) + ", got " + v);
        }
        return d;
    }

    private static Long integer(JsonNode o, String name, long min, long max) {
        JsonNode v = field(o, name);
        if (v == null) {
            return null;
        }
        if (!v.isNumber() || !v.canConvertToExactIntegral() || !v.canConvertToLong()) {
            throw ApiError.invalid(name, "'" + name + "' must be an integer, got " + (v.isNumber() ? v.toString() : kind(v)));
        }
        long l = v.asLong();
        if (l < min || l > max) {
            throw ApiError.invalid(name, "'" + name + "' must be between " + min + " and " + max + ", got " + l);
        }
        return l;
    }

    private static boolean bool(JsonNode o, String name, boolean dflt) {
        return bool(o, name, dflt, name);
    }

    private static boolean bool(JsonNode o, String name, boolean dflt, String param) {
        JsonNode v = field(o, name);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiError.invalid(param, "'" + param + "' must be a boolean, got " + kind(v));
        }
        return v.asBoolean();
    }

    private static List<String> stop(JsonNode o) {
        JsonNode v = field(o, "stop");
        if (v == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            if (v.size() > MAX_STOP_STRINGS) {
                throw ApiError.invalid("stop", "at most " + MAX_STOP_STRINGS + " stop strings, got " + v.size());
            }
            for (JsonNode s : v) {
                if (!s.isTextual()) {
                    throw ApiError.invalid("stop", "'stop' must be a string or an array of strings");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiError.invalid("stop", "'stop' must be a string or an array of strings, got " + kind(v));
        }
        for (String s : out) {
            if (s.isEmpty()) {
                throw ApiError.invalid("stop", "stop strings must not be empty");
            }
        }
        return out;
    }

    private static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            default -> v.getNodeType().name().toLowerCase();
        };
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
