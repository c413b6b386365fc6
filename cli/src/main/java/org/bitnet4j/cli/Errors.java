package org.bitnet4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * Turns the project's own exceptions into one line on stderr and a non-zero exit, without a stack
 * trace. Anything unexpected still prints its trace (set BITNET4J_DEBUG=1 to see traces always).
 */
final class Errors {
    private Errors() {}

    static int handle(Exception e, CommandLine cl, ParseResult parsed) {
        if (System.getenv("BITNET4J_DEBUG") != null) {
            e.printStackTrace();
        }
        if (isUserError(e)) {
            cl.getErr().println("error: " + e.getMessage());
            cl.getErr().flush();
            return 1;
        }
        throw new RuntimeException(e);
    }

    static boolean isUserError(Throwable e) {
        String pkg = e.getClass().getPackageName();
        return pkg.startsWith("org.bitnet4j") || e instanceof java.nio.file.NoSuchFileException
                || e instanceof java.io.UncheckedIOException || e instanceof java.io.IOException
                || e instanceof IllegalArgumentException;
    }
}
