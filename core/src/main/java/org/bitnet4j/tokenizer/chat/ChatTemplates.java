package org.bitnet4j.tokenizer.chat;

import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import org.bitnet4j.gguf.GgufMetadata;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * The built-in chat formats and the choice of a model's template.
 *
 * <p>Both built-ins render exactly what their Hugging Face Jinja templates render (BOS text
 * first, message content trimmed), so a model gets the same prompt whether or not its template
 * could be run.
 */
public final class ChatTemplates {
    private ChatTemplates() {}

    /** GGUF key of the Jinja chat template. */
    public static final String CHAT_TEMPLATE_KEY = "tokenizer.chat_template";

    /**
     * BitNet-b1.58-2B-4T: {@code <|begin_of_text|>System: ...<|eot_id|>User: ...<|eot_id|>Assistant: ...<|eot_id|>},
     * generation prompt {@code "Assistant: "}. The role is capitalised as Jinja's capitalize does.
     */
    public static ChatTemplate bitnet(String bosToken) {
        String bos = bosToken == null ? "" : bosToken;
        return (messages, addGenerationPrompt) -> {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < messages.size(); i++) {
                ChatMessage m = messages.get(i);
                if (i == 0) sb.append(bos);
                sb.append(capitalize(m.role())).append(": ").append(strip(m.content())).append("<|eot_id|>");
            }
            if (addGenerationPrompt) sb.append("Assistant: ");
            return sb.toString();
        };
    }

    /**
     * Llama 3: {@code <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>...},
     * generation prompt {@code <|start_header_id|>assistant<|end_header_id|>\n\n}.
     */
    public static ChatTemplate llama3(String bosToken) {
        String bos = bosToken == null ? "" : bosToken;
        return (messages, addGenerationPrompt) -> {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < messages.size(); i++) {
                ChatMessage m = messages.get(i);
                if (i == 0) sb.append(bos);
                sb.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                        .append(strip(m.content())).append("<|eot_id|>");
            }
            if (addGenerationPrompt) sb.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
            return sb.toString();
        };
    }

    /** A built-in by name: "bitnet" or "llama3". */
    public static ChatTemplate builtin(String name, Tokenizer tokenizer) {
        String bos = tokenText(tokenizer, tokenizer.bos());
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "bitnet" -> bitnet(bos);
            case "llama3" -> llama3(bos);
            default -> throw new ChatTemplateException("unknown built-in chat template \"" + name + "\" (known: bitnet, llama3)");
        };
    }

    /** The Jinja engine on the class path (the bitnet4j-template module), or null. */
    public static ChatTemplateEngine jinjaEngine() {
        return ServiceLoader.load(ChatTemplateEngine.class).findFirst().orElse(null);
    }

    /** The template of a GGUF model: its {@code tokenizer.chat_template} if usable, else a built-in by architecture and vocabulary. */
    public static ChatTemplate forModel(GgufMetadata md, Tokenizer tokenizer) {
        String source = md.getString(CHAT_TEMPLATE_KEY, null);
        String arch = md.getString("general.architecture", null);
        return select(source, arch, tokenizer);
    }

    /**
     * Chooses a template: the Jinja source when a Jinja engine is available and the template
     * renders a plain user turn; otherwise the built-in the source, the architecture or the
     * vocabulary points to (Llama 3 headers, else BitNet's format).
     *
     * @param source       Jinja template text, or null/blank if the model has none
     * @param architecture GGUF general.architecture, or null
     */
    public static ChatTemplate select(String source, String architecture, Tokenizer tokenizer) {
        String bos = tokenText(tokenizer, tokenizer.bos());
        String eos = tokenText(tokenizer, tokenizer.eos());
        if (source != null && !source.isBlank()) {
            ChatTemplateEngine engine = jinjaEngine();
            if (engine != null) {
                try {
                    ChatTemplate t = engine.compile(source, bos, eos);
                    t.render(List.of(ChatMessage.user("hi")), true); // fails now rather than at the first request
                    return t;
                } catch (ChatTemplateException e) {
                    // a template our engine cannot run: fall back to the format it names
                }
            }
            if (source.contains("<|start_header_id|>")) return llama3(bos);
            if (source.contains("'Assistant: '")) return bitnet(bos);
        }
        boolean llama3Vocab = tokenizer.id("<|start_header_id|>") >= 0 && tokenizer.id("<|end_header_id|>") >= 0;
        boolean bitnetArch = architecture != null && architecture.toLowerCase(Locale.ROOT).startsWith("bitnet");
        if (llama3Vocab && !bitnetArch) return llama3(bos);
        return bitnet(bos);
    }

    /**
     * Token ids of a rendered prompt: special tokens written in it are parsed, and BOS is added
     * only if the tokenizer wants one and the text does not already start with it.
     */
    public static int[] encodePrompt(Tokenizer tokenizer, String rendered) {
        int[] ids = tokenizer.encode(rendered, false, true);
        int bos = tokenizer.bos();
        if (!tokenizer.addBos() || bos < 0 || (ids.length > 0 && ids[0] == bos)) return ids;
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bos;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    private static String tokenText(Tokenizer tokenizer, int id) {
        return id >= 0 ? tokenizer.piece(id) : "";
    }

    /** Jinja's capitalize: first char upper case, the rest lower case. */
    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toUpperCase(first))
                .append(s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT)).toString();
    }

    /** Python's str.strip() (what Jinja's trim filter calls): Unicode whitespace at both ends. */
    static String strip(String s) {
        int start = 0, end = s.length();
        while (start < end && isPythonSpace(s.codePointAt(start))) start += Character.charCount(s.codePointAt(start));
        while (end > start && isPythonSpace(s.codePointBefore(end))) end -= Character.charCount(s.codePointBefore(end));
        return s.substring(start, end);
    }

    private static boolean isPythonSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }
}
