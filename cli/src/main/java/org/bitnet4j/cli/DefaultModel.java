package org.bitnet4j.cli;

import java.nio.file.Path;

/** Where the embedded default model lives: models/default/ under the installation (set by the launcher). */
final class DefaultModel {
    static final String FILE = "models/default/bitnet4j-default.gguf";

    private DefaultModel() {}

    static Path path() {
        String home = System.getProperty("bitnet4j.home", ".");
        return Path.of(home).resolve(FILE);
    }
}
