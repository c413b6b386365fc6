package org.bitnet4j.tokenizer.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bitnet4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Built-in formats as exact strings, prompt encoding, and template choice without a Jinja engine (core alone). */
class ChatTemplatesTest {
    static Tokenizer llama3;
    static final List<ChatMessage> CHAT = List.of(ChatMessage.system(" Be brief. "), ChatMessage.user("Hi\n"),
            ChatMessage.assistant("Hello!"), ChatMessage.user("Why?"));

    @BeforeAll
    static void load() {
        llama3 = Tokenizer.fromHuggingFace(Path.of(System.getProperty("bitnet4j.shared"), "data/tokenizers/llama3/tokenizer.json"));
    }

    @Test
    void bitnetFormat() {
        ChatTemplate t = ChatTemplates.bitnet("<|begin_of_text|>");
        assertEquals("<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: Hello!<|eot_id|>User: Why?<|eot_id|>Assistant: ",
                t.render(CHAT, true));
        assertEquals("<|begin_of_text|>User: Hi<|eot_id|>", t.render(List.of(ChatMessage.user("Hi")), false));
    }

    @Test
    void llama3Format() {
        ChatTemplate t = ChatTemplates.llama3("<|begin_of_text|>");
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                t.render(CHAT, true));
    }

    @Test
    void jinjaHelpersFollowPython() {
        assertEquals("System", ChatTemplates.capitalize("sYSTEM"));
        assertEquals("", ChatTemplates.capitalize(""));
        assertEquals("a b", ChatTemplates.strip("\u3000\t a b\n\u00A0\u001F"));
        assertEquals("", ChatTemplates.strip(" \n "));
    }

    @Test
    void promptEncodingParsesSpecialTokensAndAddsBosOnce() {
        String rendered = ChatTemplates.bitnet(llama3.piece(llama3.bos())).render(List.of(ChatMessage.user("Hi")), true);
        int[] ids = ChatTemplates.encodePrompt(llama3, rendered);
        assertEquals(128000, ids[0]);
        assertEquals(1, Arrays.stream(ids).filter(id -> id == 128000).count());
        assertEquals(1, Arrays.stream(ids).filter(id -> id == 128009).count());
        assertEquals(rendered, llama3.decode(ids));
        // a template without BOS text still gets BOS from the tokenizer
        int[] noBos = ChatTemplates.encodePrompt(llama3, "User: Hi<|eot_id|>Assistant: ");
        assertEquals(128000, noBos[0]);
        assertArrayEquals(Arrays.copyOfRange(noBos, 1, noBos.length), llama3.encode("User: Hi<|eot_id|>Assistant: ", false, true));
    }

    @Test
    void withoutAnEngineTheTemplateTextOrModelPicksABuiltIn() {
        assertNull(ChatTemplates.jinjaEngine(), "core's tests run without the template module");
        List<ChatMessage> chat = List.of(ChatMessage.user("Hi"));
        String llama3Text = ChatTemplates.llama3("<|begin_of_text|>").render(chat, true);
        String bitnetText = ChatTemplates.bitnet("<|begin_of_text|>").render(chat, true);
        assertEquals(llama3Text, ChatTemplates.select("{{ '<|start_header_id|>' + m }}", "llama", llama3).render(chat, true));
        assertEquals(bitnetText, ChatTemplates.select("{{ 'Assistant: ' }}", "llama", llama3).render(chat, true));
        // no template: a BitNet architecture means BitNet's format even with Llama 3's vocabulary
        assertEquals(bitnetText, ChatTemplates.select(null, "bitnet-b1.58", llama3).render(chat, true));
        assertEquals(llama3Text, ChatTemplates.select("", "llama", llama3).render(chat, true));
        assertEquals(bitnetText, ChatTemplates.builtin("bitnet", llama3).render(chat, true));
        assertThrows(ChatTemplateException.class, () -> ChatTemplates.builtin("chatml", llama3));
    }
}
