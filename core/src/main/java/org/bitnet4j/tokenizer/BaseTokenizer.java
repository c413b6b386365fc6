package org.bitnet4j.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * What both tokenizer kinds share: special-token splitting, BOS/EOS, the vocabulary accessors and
 * decoding. Subclasses turn one run of plain text into ids and one id into bytes.
 */
abstract class BaseTokenizer implements Tokenizer {
    final Vocabulary vocab;
    private final byte[][] bytes;

    BaseTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        this.bytes = new byte[vocab.size()][];
    }

    /** Appends the ids of plain text that follows a special token (or starts the input) if {@code afterSpecial}. */
    abstract void encodeText(String text, boolean afterSpecial, IntList out);

    /** Bytes of a token for decoded output; computed once per id. */
    abstract byte[] computeTokenBytes(int id);

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (addSpecial && vocab.addBos && vocab.bos >= 0) out.add(vocab.bos);
        if (!text.isEmpty()) {
            Fragments fragments = partition(text, parseSpecial);
            boolean afterSpecial = true;
            for (int i = 0; i < fragments.size; i++) {
                int token = fragments.token[i];
                if (token >= 0) {
                    out.add(token);
                    afterSpecial = true;
                } else {
                    encodeText(text.substring(fragments.start[i], fragments.end[i]), afterSpecial, out);
                    afterSpecial = false;
                }
            }
        }
        if (addSpecial && vocab.addEos && vocab.eos >= 0) out.add(vocab.eos);
        return out.toArray();
    }

    /** Text runs and special tokens in order: token -1 marks a run of plain text [start, end). */
    private static final class Fragments {
        int size;
        int[] start = new int[8], end = new int[8], token = new int[8];

        void add(int s, int e, int t) {
            if (size == start.length) {
                start = java.util.Arrays.copyOf(start, size * 2);
                end = java.util.Arrays.copyOf(end, size * 2);
                token = java.util.Arrays.copyOf(token, size * 2);
            }
            start[size] = s;
            end[size] = e;
            token[size] = t;
            size++;
        }
    }

    /**
     * Cuts the special tokens out of the text, longest token first over all runs (llama.cpp's
     * order, so that "<|eot_id|>" wins over a shorter token it contains). Control and unknown
     * tokens count only when parseSpecial is set; user-defined ones always.
     */
    private Fragments partition(String text, boolean parseSpecial) {
        Fragments current = new Fragments();
        current.add(0, text.length(), -1);
        for (int id : vocab.specialByLength) {
            int type = vocab.types[id];
            if (!parseSpecial && (type == Vocabulary.CONTROL || type == Vocabulary.UNKNOWN)) continue;
            String special = vocab.tokens[id];
            if (text.indexOf(special) < 0) continue;
            Fragments next = new Fragments();
            for (int i = 0; i < current.size; i++) {
                if (current.token[i] >= 0) {
                    next.add(current.start[i], current.end[i], current.token[i]);
                    continue;
                }
                int from = current.start[i], to = current.end[i];
                while (from < to) {
                    int at = text.indexOf(special, from);
                    if (at < 0 || at + special.length() > to) break;
                    if (at > from) next.add(from, at, -1);
                    next.add(at, at + special.length(), id);
                    from = at + special.length();
                }
                if (from < to) next.add(from, to, -1);
            }
            current = next;
        }
        return current;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            byte[] b = tokenBytesShared(ids[i]);
            int skip = leadingBytesToDrop(ids, i, b);
            out.write(b, skip, b.length - skip);
        }
        return decodeUtf8(out.toByteArray());
    }

    /** How many leading bytes of token i's bytes decode() leaves out (SentencePiece's added space). */
    int leadingBytesToDrop(int[] ids, int i, byte[] tokenBytes) {
        return 0;
    }

    static String decodeUtf8(byte[] b) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        try {
            return dec.decode(ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalStateException(e); // cannot happen with REPLACE
        }
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        byte[] b = bytes[id];
        if (b == null) {
            b = computeTokenBytes(id);
            bytes[id] = b; // benign race: every thread computes the same value
        }
        return b.clone();
    }

    /** Same as tokenBytes without the defensive copy, for internal loops. */
    byte[] tokenBytesShared(int id) {
        checkId(id);
        byte[] b = bytes[id];
        if (b == null) {
            b = computeTokenBytes(id);
            bytes[id] = b;
        }
        return b;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (vocab.size() - 1) + ")");
        }
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public int bos() {
        return vocab.bos;
    }

    @Override
    public int eos() {
        return vocab.eos;
    }

    @Override
    public int[] endOfGenerationIds() {
        return vocab.endOfGeneration.clone();
    }

    @Override
    public boolean addBos() {
        return vocab.addBos;
    }

    @Override
    public boolean addEos() {
        return vocab.addEos;
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return vocab.tokens[id];
    }

    @Override
    public int id(String piece) {
        return vocab.id(piece);
    }

    @Override
    public boolean isControl(int id) {
        checkId(id);
        return vocab.types[id] == Vocabulary.CONTROL;
    }
}
