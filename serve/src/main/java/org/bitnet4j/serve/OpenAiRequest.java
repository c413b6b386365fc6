package org.bitnet4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bitnet4j.generate.SamplerParams;
import org.bitnet4j.tokenizer.chat.ChatMessage;

/**
 * The fields of a /v1/chat/completions or /v1/completions body the server acts on, checked: a field of the
 * wrong type or out of range is a 400 naming it; fields the server does not know are ignored, as OpenAI's
 * clients send many.
 *
 * @param messages chat turns (chat endpoint), else null
 * @param prompt   completion prompt (completions endpoint), else null
 * @param promptIds completion prompt given as token ids (completions endpoint), else null
 */
public record OpenAiRequest(String model, List<ChatMessage> messages, String prompt, int[] promptIds,
                            SamplerParams params, boolean stream, boolean includeUsage) {

    /** llama.cpp's sampling defaults (OpenAI leaves them to the server); no seed means a fresh one per request. */
    static final SamplerParams DEFAULTS = SamplerParams.DEFAULT;

    static final int MAX_STOP_STRINGS = 16;

    /**
     * @param chat          true for /v1/chat/completions (needs messages), false for /v1/completions (needs prompt)
     * @param contextLength a slot's context: max_tokens may not exceed it
     */
    public static OpenAiRequest parse(JsonNode body, boolean chat, int contextLength) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalid(null, "invalid_body", "the request body must be a JSON object");
        }
        String model = optString(body, "model");
        List<ChatMessage> messages = null;
        String prompt = null;
        int[] promptIds = null;
        if (chat) {
            messages = messages(body);
            refuse(body, "tools");
            refuse(body, "functions");
            JsonNode rf = body.get("response_format");
            if (rf != null && !rf.isNull()) {
                JsonNode type = rf.isObject() ? rf.get("type") : null;
                if (type == null || !type.isTextual() || !type.asText().equals("text")) {
                    throw ApiException.invalid("response_format", "unsupported_value",
                            "only response_format {\"type\":\"text\"} is supported (no JSON mode)");
                }
            }
        } else {
            JsonNode p = body.get("prompt");
            if (p != null && p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
                promptIds = promptIds(p);
            } else {
                prompt = prompt(body);
            }
        }
        Integer n = optInt(body, "n");
        if (n != null && n != 1) {
            throw ApiException.invalid("n", "unsupported_value", "only n = 1 is supported, got " + n);
        }
        Integer maxTokens = optInt(body, "max_completion_tokens");
        String maxName = "max_completion_tokens";
        if (maxTokens == null) {
            maxTokens = optInt(body, "max_tokens");
            maxName = "max_tokens";
        }
        if (maxTokens != null && (maxTokens < 1 || maxTokens > contextLength)) {
            throw ApiException.invalid(maxName, "invalid_value", maxName + " must be between 1 and the context size "
                    + contextLength + ", got " + maxTokens);
        }
        float temperature = optFloat(body, "temperature", DEFAULTS.temperature(), 0, 2);
        float topP = optFloat(body, "top_p", DEFAULTS.topP(), 0, 1);
        if (topP == 0f) {
            temperature = 0f; // only the most likely token survives: greedy
            topP = 1f;
        }
        Integer topK = optInt(body, "top_k");
        if (topK != null && topK < 0) {
            throw ApiException.invalid("top_k", "invalid_value", "top_k must be >= 0 (0 = off), got " + topK);
        }
        float minP = optFloat(body, "min_p", DEFAULTS.minP(), 0, 1);
        float presence = optFloat(body, "presence_penalty", 0f, -2, 2);
        float frequency = optFloat(body, "frequency_penalty", 0f, -2, 2);
        float repeat = optFloat(body, "repeat_penalty", DEFAULTS.repeatPenalty(), 0, Float.MAX_VALUE);
        if (repeat == 0f) {
            throw ApiException.invalid("repeat_penalty", "invalid_value", "repeat_penalty must be > 0");
        }
        Long seed = optLong(body, "seed");
        List<String> stop = stop(body);
        boolean stream = optBoolean(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) {
                throw wrongType("stream_options", "an object");
            }
            includeUsage = optBoolean(so, "include_usage", false);
        }
        SamplerParams params;
        try {
            params = new SamplerParams(temperature, topK == null ? DEFAULTS.topK() : topK, topP, minP, repeat,
                    DEFAULTS.repeatLastN(), presence, frequency, seed == null ? -1 : seed,
                    maxTokens == null ? -1 : maxTokens, stop);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(null, "invalid_value", e.getMessage()); // the fields above are checked first
        }
        return new OpenAiRequest(model, messages, prompt, promptIds, params, stream, includeUsage);
    }

    private static List<ChatMessage> messages(JsonNode body) {
        JsonNode ms = body.get("messages");
        if (ms == null || ms.isNull()) {
            throw ApiException.invalid("messages", "missing_required_parameter", "'messages' is required");
        }
        if (!ms.isArray()) {
            throw wrongType("messages", "an array of messages");
        }
        if (ms.isEmpty()) {
            throw ApiException.invalid("messages", "invalid_value", "'messages' must contain at least one message");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            JsonNode m = ms.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) {
                throw wrongType(at, "an object");
            }
            JsonNode r = m.get("role");
            if (r == null || r.isNull()) {
                throw ApiException.invalid(at + ".role", "missing_required_parameter", at + ".role is required");
            }
            if (!r.isTextual()) {
                throw wrongType(at + ".role", "a string");
            }
            String role = switch (r.asText().toLowerCase(Locale.ROOT)) {
                case "system", "developer" -> "system";
                case "user" -> "user";
                case "assistant" -> "assistant";
                default -> throw ApiException.invalid(at + ".role", "invalid_value", "role '" + r.asText()
                        + "' is not supported (system, developer, user, assistant)");
            };
            out.add(new ChatMessage(role, content(m.get("content"), at + ".content", role)));
        }
        return out;
    }

    /** A string, or an array of text parts (OpenAI's multi-part content); null only for an assistant turn. */
    private static String content(JsonNode c, String at, String role) {
        if (c == null || c.isNull()) {
            if (role.equals("assistant")) {
                return "";
            }
            throw ApiException.invalid(at, "missing_required_parameter", at + " is required");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (!c.isArray()) {
            throw wrongType(at, "a string or an array of text parts");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.size(); i++) {
            JsonNode part = c.get(i);
            String pat = at + "[" + i + "]";
            if (!part.isObject()) {
                throw wrongType(pat, "an object");
            }
            JsonNode type = part.get("type");
            if (type == null || !type.isTextual() || !type.asText().equals("text")) {
                throw ApiException.invalid(pat + ".type", "unsupported_value", "only text content parts are supported");
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) {
                throw wrongType(pat + ".text", "a string");
            }
            sb.append(text.asText());
        }
        return sb.toString();
    }

    /** Fields OpenAI defines that this server cannot honour: refused rather than silently ignored. */
    private static void refuse(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v != null && !v.isNull() && !(v.isArray() && v.isEmpty())) {
            throw ApiException.invalid(name, "unsupported_parameter", "'" + name + "' is not supported by this server");
        }
    }

    private static int[] promptIds(JsonNode p) {
        int[] ids = new int[p.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = p.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw wrongType("prompt", "a string, an array of one string, or an array of token ids");
            }
            ids[i] = v.intValue();
        }
        return ids;
    }

    private static String prompt(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.invalid("prompt", "missing_required_parameter", "'prompt' is required");
        }
        if (p.isTextual()) {
            return p.asText();
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            return p.get(0).asText();
        }
        if (p.isArray() && p.size() != 1) {
            throw ApiException.invalid("prompt", "unsupported_value", "only one prompt per request is supported, got "
                    + p.size());
        }
        throw wrongType("prompt", "a string or an array of one string");
    }

    private static List<String> stop(JsonNode body) {
        JsonNode s = body.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            for (JsonNode e : s) {
                if (!e.isTextual()) {
                    throw wrongType("stop", "a string or an array of strings");
                }
                out.add(e.asText());
            }
        } else {
            throw wrongType("stop", "a string or an array of strings");
        }
        if (out.size() > MAX_STOP_STRINGS) {
            throw ApiException.invalid("stop", "invalid_value", "at most " + MAX_STOP_STRINGS + " stop strings, got "
                    + out.size());
        }
        for (String x : out) {
            if (x.isEmpty()) {
                throw ApiException.invalid("stop", "invalid_value", "stop strings must not be empty");
            }
        }
        return out;
    }

    private static ApiException wrongType(String param, String expected) {
        return ApiException.invalid(param, "invalid_type", "'" + param + "' must be " + expected);
    }

    private static String optString(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw wrongType(name, "a string");
        }
        return v.asText();
    }

    private static boolean optBoolean(JsonNode body, String name, boolean dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw wrongType(name, "a boolean");
        }
        return v.asBoolean();
    }

    private static Integer optInt(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber()) {
            throw wrongType(name, "an integer");
        }
        if (!v.canConvertToInt()) {
            throw ApiException.invalid(name, "invalid_value", "'" + name + "' is out of range: " + v.asText());
        }
        return v.intValue();
    }

    private static Long optLong(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber()) {
            throw wrongType(name, "an integer");
        }
        if (!v.canConvertToLong()) {
            throw ApiException.invalid(name, "invalid_value", "'" + name + "' is out of range: " + v.asText());
        }
        return v.longValue();
    }

    private static float optFloat(JsonNode body, String name, float dflt, float min, float max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw wrongType(name, "a number");
        }
        double d = v.doubleValue();
        if (!(d >= min && d <= max)) {
            throw ApiException.invalid(name, "invalid_value", "'" + name + "' must be between " + fmt(min) + " and "
                    + fmt(max) + ", got " + v.asText());
        }
        return (float) d;
    }

    private static String fmt(float f) {
        return f == Float.MAX_VALUE ? "any" : f == (int) f ? Integer.toString((int) f) : Float.toString(f);
    }
}
