package org.bitnet4j.tokenizer;

import java.nio.file.Path;

/**
 * Text to token ids and back, as llama.cpp does it for the same vocabulary. Instances are
 * immutable and safe to share between threads.
 *
 * <p>Two kinds exist: byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}: GPT-2, Llama 3,
 * BitNet-b1.58-2B-4T) and SentencePiece BPE ({@code "llama"}: Llama 2 and its relatives).
 */
public interface Tokenizer {

    /**
     * Builds the tokenizer described by a GGUF file's {@code tokenizer.ggml.*} metadata.
     *
     * @throws org.bitnet4j.gguf.GgufFormatException naming the key when the metadata is missing or inconsistent
     */
    static Tokenizer fromGguf(org.bitnet4j.gguf.GgufMetadata md) {
        return GgufTokenizerLoader.load(md);
    }

    /**
     * Builds a byte-level BPE tokenizer from a Hugging Face {@code tokenizer.json}; a
     * {@code tokenizer_config.json} beside it, if present, supplies the BOS/EOS tokens and flags.
     *
     * @throws TokenizerException naming the file and field when the file cannot be used
     */
    static Tokenizer fromHuggingFace(Path tokenizerJson) {
        return HuggingFaceTokenizerLoader.load(tokenizerJson);
    }

    /**
     * Token ids of a text.
     *
     * @param addSpecial   add BOS / EOS where the vocabulary asks for them ({@link #addBos()}, {@link #addEos()})
     * @param parseSpecial recognise control tokens such as {@code <|eot_id|>} written in the text;
     *                     user-defined tokens are always recognised, as in llama.cpp
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * The text of a token sequence. Nothing is skipped: control tokens render as their own text.
     * Invalid UTF-8 (a sequence cut between two byte tokens) becomes U+FFFD. For SentencePiece, the
     * space that encoding put in front of the text (and after each special token) is removed again.
     */
    String decode(int[] ids);

    /**
     * Raw bytes of one token as it appears in decoded output (byte-level pieces decoded, "<0xNN>"
     * byte tokens as their byte, U+2581 as a space, control tokens as their text). A multi-byte
     * character may span several tokens: feed these to a {@link Utf8Streamer} when streaming.
     */
    byte[] tokenBytes(int id);

    int vocabSize();

    /** Beginning-of-sequence id, or -1 if the vocabulary has none. */
    int bos();

    /** End-of-sequence id, or -1 if the vocabulary has none. */
    int eos();

    /** Every id that ends generation: eos, {@code <|eot_id|>}, {@code <|eom_id|>}, {@code <|end_of_text|>}, ... that exist. */
    int[] endOfGenerationIds();

    boolean addBos();

    boolean addEos();

    /** The token's string as stored in the vocabulary (byte-level tokens in GPT-2's stand-in characters). */
    String piece(int id);

    /** Id of a vocabulary string, or -1 if absent. */
    int id(String piece);

    /** True for control tokens (GGUF token type 3), such as BOS, EOS and {@code <|eot_id|>}. */
    boolean isControl(int id);
}
