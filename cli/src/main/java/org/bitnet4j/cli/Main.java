package org.bitnet4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: one picocli subcommand per verb; user errors print one line and exit non-zero. */
@Command(name = "bitnet4j", mixinStandardHelpOptions = true, version = "bitnet4j 0.1.0",
        description = "Run, serve, benchmark and train 1.58-bit (BitNet b1.58) LLMs on the CPU, in pure Java.",
        subcommands = {GenerateCommand.class, ChatCommand.class, TokenizeCommand.class, LogitsCommand.class, BenchCommand.class, DummyCommand.class, InspectCommand.class, TrainCommand.class,
                PerplexityCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Errors::handle);
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("error: out of memory (" + (Runtime.getRuntime().maxMemory() >> 20) + " MiB heap); use a "
                    + "smaller context (-c) or model, or raise the heap with BITNET4J_JAVA_OPTS=-Xmx<size>");
            return 1;
        }
    }
}
