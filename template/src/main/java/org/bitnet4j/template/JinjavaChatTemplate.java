package org.bitnet4j.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplateException;

/** One Jinja template bound to a model's BOS/EOS text; thread-safe (jinjava renders with a fresh interpreter per call). */
final class JinjavaChatTemplate implements ChatTemplate {
    private final Jinjava jinjava;
    private final String source;
    private final String bos, eos;

    JinjavaChatTemplate(Jinjava jinjava, String source, String bos, String eos) {
        this.jinjava = jinjava;
        this.source = source;
        this.bos = bos;
        this.eos = eos;
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bos);
        context.put("eos_token", eos);
        RenderResult result;
        try {
            result = jinjava.renderForResult(source, context);
        } catch (RuntimeException e) {
            throw failure(e);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                if (error.getException() != null) throw failure(error.getException());
                throw new ChatTemplateException("chat template error: " + describe(error));
            }
        }
        return result.getOutput();
    }

    private static ChatTemplateException failure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof JinjavaChatTemplateEngine.RaisedByTemplate r) {
                return new ChatTemplateException("the chat template rejected the conversation: " + r.getMessage(), e);
            }
        }
        return new ChatTemplateException("chat template error: " + e.getMessage(), e);
    }

    private static String describe(TemplateError e) {
        return e.getMessage() + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "");
    }
}
