package org.bitnet4j.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bitnet4j.tokenizer.Tokenizer;
import org.bitnet4j.tokenizer.chat.ChatMessage;
import org.bitnet4j.tokenizer.chat.ChatTemplate;
import org.bitnet4j.tokenizer.chat.ChatTemplateException;
import org.bitnet4j.tokenizer.chat.ChatTemplates;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real Hugging Face templates rendered by jinjava against the built-in Java formats, which
 * must produce the same text character for character.
 */
class JinjavaChatTemplateTest {
    static final String BOS = "<|begin_of_text|>", EOS = "<|end_of_text|>";

    /** chat_template of microsoft/bitnet-b1.58-2B-4T's tokenizer_config.json. */
    static final String BITNET_TEMPLATE = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";

    static String llama3Template;
    static final JinjavaChatTemplateEngine ENGINE = new JinjavaChatTemplateEngine();

    static final List<List<ChatMessage>> CONVERSATIONS = List.of(
            List.of(ChatMessage.user("Hello!")),
            List.of(ChatMessage.system("You are a helpful assistant."), ChatMessage.user("  What is 2+2?\n")),
            List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant(" Hello! How can I help?  "),
                    ChatMessage.user("Übersetze «日本語» 🦙\n\nplease")),
            // content that looks like Jinja must stay text
            List.of(ChatMessage.user("{{ bos_token }} {% if true %}x{% endif %} <|eot_id|>")),
            List.of());

    @BeforeAll
    static void readLlama3Template() throws IOException {
        Path config = Path.of(System.getProperty("bitnet4j.shared"), "data/tokenizers/llama3/tokenizer_config.json");
        Map<?, ?> json = new ObjectMapper().readValue(config.toFile(), Map.class);
        llama3Template = (String) json.get("chat_template");
    }

    @Test
    void llama3TemplateRendersLikeTheBuiltIn() {
        ChatTemplate jinja = ENGINE.compile(llama3Template, BOS, EOS);
        ChatTemplate builtin = ChatTemplates.llama3(BOS);
        for (List<ChatMessage> c : CONVERSATIONS) {
            // this template always ends with the assistant header, whatever add_generation_prompt says
            assertEquals(builtin.render(c, true), jinja.render(c, true), c::toString);
            assertEquals(builtin.render(c, true), jinja.render(c, false), c::toString);
        }
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                jinja.render(CONVERSATIONS.get(1), true));
    }

    @Test
    void bitnetTemplateRendersLikeTheBuiltIn() {
        ChatTemplate jinja = ENGINE.compile(BITNET_TEMPLATE, BOS, EOS);
        ChatTemplate builtin = ChatTemplates.bitnet(BOS);
        for (List<ChatMessage> c : CONVERSATIONS) {
            for (boolean gen : new boolean[] {true, false}) {
                assertEquals(builtin.render(c, gen), jinja.render(c, gen), c + " gen=" + gen);
            }
        }
        assertEquals("<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: Hello! How can I help?<|eot_id|>"
                        + "User: Übersetze «日本語» 🦙\n\nplease<|eot_id|>Assistant: ",
                jinja.render(CONVERSATIONS.get(2), true));
    }

    @Test
    void raiseExceptionRejectsTheConversation() {
        ChatTemplate t = ENGINE.compile("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                + "{% for m in messages %}{{ m['content'] }}{% endfor %}", BOS, EOS);
        assertEquals("Hi", t.render(List.of(ChatMessage.user("Hi")), true));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.render(List.of(ChatMessage.system("x"), ChatMessage.user("Hi")), true));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
    }

    @Test
    void brokenTemplateFailsWithAMessage() {
        ChatTemplate t = ENGINE.compile("{% for m in messages %}{{ m['content'] }}", BOS, EOS);
        assertThrows(ChatTemplateException.class, () -> t.render(List.of(ChatMessage.user("Hi")), true));
        assertThrows(ChatTemplateException.class, () -> ENGINE.compile("  ", BOS, EOS));
    }

    @Test
    void coreFindsThisEngineAndUsesAModelsTemplate() {
        assertInstanceOf(JinjavaChatTemplateEngine.class, ChatTemplates.jinjaEngine());
        Tokenizer tok = Tokenizer.fromHuggingFace(Path.of(System.getProperty("bitnet4j.shared"), "data/tokenizers/llama3/tokenizer.json"));
        // a template only the engine can render: proves selection used it rather than a built-in
        ChatTemplate custom = ChatTemplates.select("{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}", "llama", tok);
        assertEquals("<|begin_of_text|>[user]Hi", custom.render(List.of(ChatMessage.user("Hi")), true));
        ChatTemplate llama3 = ChatTemplates.select(llama3Template, "llama", tok);
        assertInstanceOf(JinjavaChatTemplate.class, llama3);
        // a template the engine cannot parse falls back to the built-in it names
        ChatTemplate broken = ChatTemplates.select("{% for m in messages %}<|start_header_id|>", "llama", tok);
        List<ChatMessage> chat = List.of(ChatMessage.user("Hi"));
        assertEquals(ChatTemplates.llama3(BOS).render(chat, true), broken.render(chat, true));
    }
}
