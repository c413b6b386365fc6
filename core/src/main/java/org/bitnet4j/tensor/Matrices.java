package org.bitnet4j.tensor;

import java.lang.foreign.MemorySegment;
import org.bitnet4j.gguf.GgmlType;
import org.bitnet4j.gguf.GgufFormatException;

/** Builds the {@link Matrix} view of a weight tensor, one implementation per storage family. */
public final class Matrices {
    private Matrices() {}

    /**
     * Which code computes the products. Every matrix has both; tests compare them. Chosen per JVM with
     * {@code -Dbitnet4j.kernel=scalar|vector} (default vector).
     */
    public enum Kernel {
        /** the plain loops that define the results */
        SCALAR,
        /** Vector API ({@code jdk.incubator.vector}) kernels, possibly over a repacked copy of the weights */
        VECTOR;

        public static final String PROPERTY = "bitnet4j.kernel";

        /** The kernel named by the system property; an unknown name is an error, not a silent default. */
        public static Kernel fromProperty() {
            String v = System.getProperty(PROPERTY, "vector");
            return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "vector", "" -> VECTOR;
                case "scalar" -> SCALAR;
                default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + v
                        + " is not a kernel (use scalar or vector)");
            };
        }
    }

    /**
     * The matrix view of one tensor. GGUF dims are [cols, rows]: each row of {@code cols} elements is
     * contiguous, so block formats need cols to be a multiple of their block size.
     *
     * @param data the tensor's bytes, at least {@code type.byteSize(rows * cols)}
     * @throws GgufFormatException when the shape does not fit the format or the data is corrupt (I2_S
     *     or TQ2_0 code 3); callers add the file and tensor name
     */
    public static Matrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        return of(type, data, rows, cols, Kernel.fromProperty());
    }

    public static Matrix of(GgmlType type, MemorySegment data, int rows, int cols, Kernel kernel) {
        if (rows <= 0 || cols <= 0) {
            throw new GgufFormatException(type + " matrix: bad shape [" + cols + ", " + rows + "]");
        }
        if (cols % type.blockSize != 0) {
            throw new GgufFormatException(type + " matrix: row length " + cols + " is not a multiple of the "
                    + type.blockSize + "-element block");
        }
        long need = type.byteSize((long) rows * cols);
        if (data.byteSize() < need) {
            throw new GgufFormatException(type + " matrix [" + cols + ", " + rows + "] needs " + need
                    + " bytes, the tensor has " + data.byteSize());
        }
        return switch (type) {
            case I2_S -> new I2SMatrix(data, rows, cols, kernel);
            case TQ2_0 -> new TQ2Matrix(data, rows, cols, kernel);
            case TQ1_0 -> new TQ1Matrix(data, rows, cols, kernel);
            case F32, F16, BF16, Q8_0, Q6_K -> new FloatMatrix(type, data, rows, cols, kernel);
        };
    }
}
