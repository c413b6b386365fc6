package org.bitnet4j.train;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A UTF-8 text file, or a range of its lines: {@code PATH} or {@code PATH:FROM-TO} (1-based, inclusive; TO may be
 * left out for "to the end"). Ranges let one file supply both training and validation text, e.g. the six Austen
 * novels of which the last, Persuasion, is held out.
 *
 * @param from first line (1-based)
 * @param to   last line, inclusive; Integer.MAX_VALUE for the end of the file
 */
public record TextSource(Path path, int from, int to) {
    private static final Pattern RANGE = Pattern.compile("^(.*):(\\d+)-(\\d*)$");

    public TextSource {
        if (from < 1 || to < from) {
            throw new IllegalArgumentException(path + ": bad line range " + from + "-" + to);
        }
    }

    public static TextSource parse(String spec) {
        Matcher m = RANGE.matcher(spec);
        if (m.matches() && !m.group(1).isEmpty()) {
            int from = Integer.parseInt(m.group(2));
            int to = m.group(3).isEmpty() ? Integer.MAX_VALUE : Integer.parseInt(m.group(3));
            if (from < 1 || to < from) {
                throw new IllegalArgumentException(spec + ": line range must be FROM-TO with 1 <= FROM <= TO");
            }
            return new TextSource(Path.of(m.group(1)), from, to);
        }
        return new TextSource(Path.of(spec), 1, Integer.MAX_VALUE);
    }

    public boolean wholeFile() {
        return from == 1 && to == Integer.MAX_VALUE;
    }

    /** True when both name the same file (after resolving links). */
    public boolean sameFile(TextSource o) {
        try {
            return Files.isSameFile(path, o.path);
        } catch (IOException e) {
            return path.toAbsolutePath().normalize().equals(o.path.toAbsolutePath().normalize());
        }
    }

    /** The lines of the file (with their line ends) in this range, minus those inside any of the excluded ranges. */
    public String read(List<TextSource> exclude) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new IOException(path + ": no such file");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(path))).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(path + ": not UTF-8 text");
        }
        if (wholeFile() && exclude.isEmpty()) {
            return text;
        }
        StringBuilder sb = new StringBuilder();
        int line = 1, start = 0, lines = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl + 1;
            boolean in = line >= from && line <= to;
            for (TextSource x : exclude) {
                in &= !(line >= x.from && line <= x.to);
            }
            if (in) {
                sb.append(text, start, end);
            }
            lines++;
            line++;
            start = end;
        }
        if (from > lines) {
            throw new IOException(path + ": line range starts at line " + from + " but the file has " + lines + " lines");
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return wholeFile() ? path.toString() : path + ":" + from + "-" + (to == Integer.MAX_VALUE ? "" : to);
    }

    /** Reads training sources, leaving out the validation lines of any file that also supplies validation text. */
    static List<String> readTraining(List<TextSource> data, TextSource val) throws IOException {
        List<String> texts = new ArrayList<>();
        for (TextSource s : data) {
            texts.add(s.read(val != null && s.sameFile(val) ? List.of(val) : List.of()));
        }
        return texts;
    }
}
