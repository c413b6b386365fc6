package org.bitnet4j.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} holding a byte-level BPE model (GPT-2 style, Llama 3)
 * and, if it lies beside it, {@code tokenizer_config.json} for the BOS/EOS tokens and flags.
 * Other models (WordPiece, Unigram, BPE with byte fallback) are refused with a clear message.
 */
final class HuggingFaceTokenizerLoader {
    private HuggingFaceTokenizerLoader() {}

    static Tokenizer load(Path path) {
        Map<String, Object> root = asObject(readJson(path), path, "the top level");
        Map<String, Object> model = asObject(root.get("model"), path, "\"model\"");
        String type = String.valueOf(model.get("type"));
        if (!"BPE".equals(type)) {
            throw new TokenizerException(path + ": model.type is \"" + type + "\"; only byte-level BPE tokenizers are supported");
        }
        if (Boolean.TRUE.equals(model.get("byte_fallback"))) {
            throw new TokenizerException(path + ": model.byte_fallback is set (a SentencePiece-style BPE); only byte-level BPE tokenizers are supported here, use the GGUF vocabulary instead");
        }
        PreTokenizer pre = preTokenizer(root.get("pre_tokenizer"), path);

        // tokens: model.vocab plus added_tokens (which may extend past it)
        Map<String, Object> vocabJson = asObject(model.get("vocab"), path, "model.vocab");
        List<Object> added = root.get("added_tokens") == null ? List.of() : asList(root.get("added_tokens"), path, "added_tokens");
        int size = 0;
        for (Object id : vocabJson.values()) size = Math.max(size, toId(id, path, "model.vocab") + 1);
        for (int i = 0; i < added.size(); i++) {
            Map<String, Object> t = asObject(added.get(i), path, "added_tokens[" + i + "]");
            size = Math.max(size, toId(t.get("id"), path, "added_tokens[" + i + "].id") + 1);
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        java.util.Arrays.fill(types, Vocabulary.NORMAL);
        for (Map.Entry<String, Object> e : vocabJson.entrySet()) tokens[toId(e.getValue(), path, "model.vocab")] = e.getKey();
        for (int i = 0; i < added.size(); i++) {
            Map<String, Object> t = asObject(added.get(i), path, "added_tokens[" + i + "]");
            int id = toId(t.get("id"), path, "added_tokens[" + i + "].id");
            Object content = t.get("content");
            if (!(content instanceof String c)) throw new TokenizerException(path + ": added_tokens[" + i + "].content is not a string");
            tokens[id] = c;
            types[id] = Boolean.TRUE.equals(t.get("special")) ? Vocabulary.CONTROL : Vocabulary.USER_DEFINED;
        }
        for (int i = 0; i < size; i++) {
            if (tokens[i] == null) throw new TokenizerException(path + ": token id " + i + " has no entry in model.vocab or added_tokens");
        }

        List<String> merges = mergeStrings(model.get("merges"), path);
        boolean ignoreMerges = Boolean.TRUE.equals(model.get("ignore_merges"));

        Map<String, Object> config = readConfig(path);
        int bos = specialId(config.get("bos_token"), tokens, "<|begin_of_text|>", "<s>");
        int eos = specialId(config.get("eos_token"), tokens, "<|end_of_text|>", "</s>", "<|endoftext|>");
        Boolean templateAddsBos = templateAddsBos(root.get("post_processor"), bos, tokens);
        boolean addBos = config.get("add_bos_token") instanceof Boolean b ? b
                : templateAddsBos != null ? templateAddsBos : pre == PreTokenizer.LLAMA3 && bos >= 0;
        boolean addEos = Boolean.TRUE.equals(config.get("add_eos_token"));

        Vocabulary vocab = new Vocabulary(tokens, types, null, bos, eos, -1, -1, -1, addBos, addEos);
        MergeTable table = ByteLevelBpeTokenizer.buildMerges(vocab, merges,
                (i, msg) -> new TokenizerException(path + ": model.merges[" + i + "] " + msg));
        return new ByteLevelBpeTokenizer(vocab, pre, table, ignoreMerges);
    }

    private static Object readJson(Path path) {
        String text;
        try {
            text = Files.readString(path);
        } catch (NoSuchFileException e) {
            throw new TokenizerException(path + ": no such file");
        } catch (IOException e) {
            throw new TokenizerException(path + ": cannot read: " + e.getMessage(), e);
        }
        try {
            return Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new TokenizerException(path + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> readConfig(Path tokenizerJson) {
        Path dir = tokenizerJson.toAbsolutePath().getParent();
        Path config = dir == null ? null : dir.resolve("tokenizer_config.json");
        if (config == null || !Files.isRegularFile(config)) return Map.of();
        return asObject(readJson(config), config, "the top level");
    }

    /** The split regex of the pre-tokenizer; it must be one we implement exactly. */
    private static PreTokenizer preTokenizer(Object node, Path path) {
        if (node == null) throw new TokenizerException(path + ": pre_tokenizer is missing; byte-level BPE needs one");
        Map<String, Object> p = asObject(node, path, "pre_tokenizer");
        String type = String.valueOf(p.get("type"));
        switch (type) {
            case "ByteLevel": {
                if (Boolean.FALSE.equals(p.get("use_regex"))) {
                    throw new TokenizerException(path + ": pre_tokenizer ByteLevel with use_regex false is not supported");
                }
                if (Boolean.TRUE.equals(p.get("add_prefix_space"))) {
                    throw new TokenizerException(path + ": pre_tokenizer ByteLevel with add_prefix_space true is not supported");
                }
                return PreTokenizer.GPT2;
            }
            case "Sequence": {
                PreTokenizer found = null;
                boolean byteLevel = false;
                List<Object> steps = asList(p.get("pretokenizers"), path, "pre_tokenizer.pretokenizers");
                for (int i = 0; i < steps.size(); i++) {
                    Map<String, Object> step = asObject(steps.get(i), path, "pre_tokenizer.pretokenizers[" + i + "]");
                    String stepType = String.valueOf(step.get("type"));
                    if (stepType.equals("Split") && found == null) {
                        Object pattern = step.get("pattern") instanceof Map<?, ?> m ? m.get("Regex") : null;
                        found = pattern instanceof String r ? PreTokenizer.forRegex(r) : null;
                        if (found == null || !"Isolated".equals(step.get("behavior")) || Boolean.TRUE.equals(step.get("invert"))) {
                            throw new TokenizerException(path + ": pre_tokenizer.pretokenizers[" + i + "] splits by " + step.get("pattern")
                                    + ", which is not a pre-tokenizer this library implements (Llama 3 or GPT-2 regex, Isolated)");
                        }
                    } else if (stepType.equals("ByteLevel") && !Boolean.TRUE.equals(step.get("use_regex"))
                            && !Boolean.TRUE.equals(step.get("add_prefix_space"))) {
                        byteLevel = true;
                    } else {
                        throw new TokenizerException(path + ": pre_tokenizer.pretokenizers[" + i + "] (" + stepType + ") is not supported");
                    }
                }
                if (found == null || !byteLevel) {
                    throw new TokenizerException(path + ": pre_tokenizer must be a Split regex followed by ByteLevel");
                }
                return found;
            }
            default:
                throw new TokenizerException(path + ": pre_tokenizer type \"" + type + "\" is not supported");
        }
    }

    /** model.merges as "left right" strings; newer files store [left, right] pairs. */
    private static List<String> mergeStrings(Object node, Path path) {
        List<Object> list = asList(node, path, "model.merges");
        List<String> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object m = list.get(i);
            if (m instanceof String s) {
                out.add(s);
            } else if (m instanceof List<?> pair && pair.size() == 2 && pair.get(0) instanceof String a && pair.get(1) instanceof String b) {
                out.add(a + " " + b);
            } else {
                throw new TokenizerException(path + ": model.merges[" + i + "] is neither \"left right\" nor [left, right]");
            }
        }
        return out;
    }

    /** A token named in tokenizer_config.json (a string or {"content": ...}), else the first known name present. */
    private static int specialId(Object configured, String[] tokens, String... fallbacks) {
        String name = configured instanceof String s ? s
                : configured instanceof Map<?, ?> m && m.get("content") instanceof String c ? c : null;
        List<String> names = new ArrayList<>();
        if (name != null) names.add(name);
        else names.addAll(List.of(fallbacks));
        for (String n : names) {
            for (int i = tokens.length - 1; i >= 0; i--) if (tokens[i].equals(n)) return i;
        }
        return -1;
    }

    /** Whether a TemplateProcessing post-processor puts BOS first; null when there is no template to tell. */
    private static Boolean templateAddsBos(Object node, int bos, String[] tokens) {
        if (!(node instanceof Map<?, ?> pp)) return null;
        List<Object> candidates = new ArrayList<>();
        if ("TemplateProcessing".equals(pp.get("type"))) candidates.add(pp);
        if ("Sequence".equals(pp.get("type")) && pp.get("processors") instanceof List<?> l) {
            for (Object o : l) if (o instanceof Map<?, ?> m && "TemplateProcessing".equals(m.get("type"))) candidates.add(m);
        }
        for (Object o : candidates) {
            if (((Map<?, ?>) o).get("single") instanceof List<?> single && !single.isEmpty()
                    && single.get(0) instanceof Map<?, ?> first) {
                return first.get("SpecialToken") instanceof Map<?, ?> st && bos >= 0 && tokens[bos].equals(st.get("id"));
            }
        }
        return null;
    }

    private static int toId(Object v, Path path, String field) {
        if (v instanceof Long l && l >= 0 && l < Integer.MAX_VALUE) return (int) (long) l;
        throw new TokenizerException(path + ": " + field + " has id " + v + ", not a token id");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asObject(Object v, Path path, String field) {
        if (v instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new TokenizerException(path + ": " + field + " is " + (v == null ? "missing" : "not an object"));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object v, Path path, String field) {
        if (v instanceof List<?> l) return (List<Object>) l;
        throw new TokenizerException(path + ": " + field + " is " + (v == null ? "missing" : "not an array"));
    }
}
