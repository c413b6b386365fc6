package org.bitnet4j.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bitnet4j.gguf.GgufMetadata;
import org.bitnet4j.gguf.GgufValue;
import org.bitnet4j.gguf.GgufValueType;
import org.bitnet4j.tokenizer.Tokenizer;

/**
 * A trained byte-level BPE vocabulary: ids 0..255 the bytes, then the merges, then three control tokens. Stored in
 * GGUF as a "gpt2" tokenizer with the Llama 3 split ("llama-bpe"), so the engine's tokenizer reads it back and
 * the training tokens are, by construction, the engine's.
 */
public record Vocab(List<String> tokens, List<String> merges, int bos, int eos, int eot) {
    public static final String BOS = "<|begin_of_text|>", EOS = "<|end_of_text|>", EOT = "<|eot_id|>";

    public static Vocab fromBpe(Bpe.Result r) {
        List<String> t = new ArrayList<>(r.tokens());
        int bos = t.size();
        t.add(BOS);
        t.add(EOS);
        t.add(EOT);
        return new Vocab(t, r.merges(), bos, bos + 1, bos + 2);
    }

    public int size() {
        return tokens.size();
    }

    public Map<String, GgufValue> metadata() {
        int[] types = new int[tokens.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = i >= bos ? 3 : 1;
        }
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.of("llama-bpe"));
        m.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
        m.put("tokenizer.ggml.token_type", GgufValue.ofInts(types));
        m.put("tokenizer.ggml.merges", GgufValue.ofStrings(merges));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(bos));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(eos));
        m.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(eot));
        m.put("tokenizer.ggml.add_bos_token", new GgufValue(GgufValueType.BOOL, true));
        m.put("tokenizer.ggml.add_eos_token", new GgufValue(GgufValueType.BOOL, false));
        return m;
    }

    /** The engine's tokenizer for this vocabulary. */
    public Tokenizer tokenizer() {
        return Tokenizer.fromGguf(new GgufMetadata("trained vocabulary", metadata()));
    }
}
