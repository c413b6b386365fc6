package org.bitnet4j.serve;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared tiny fixture model (vocab 512, context 512, random ternary weights). */
final class Fixtures {
    private Fixtures() {}

    static Path model() {
        String shared = System.getProperty("bitnet4j.shared", "../shared");
        Path p = Path.of(shared, "fixtures", "bitnet-b1.58-relu2-i2_s.gguf");
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("fixture model missing: " + p);
        }
        return p;
    }
}
