package org.bitnet4j.gguf;

import java.util.Arrays;

/**
 * A tensor's header entry.
 *
 * @param dims   GGUF order: dims[0] (ne0) is the contiguous dimension, e.g. a linear layer is [in, out]
 * @param offset of its data, relative to the start of the data section
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset, long byteSize) {
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** product of dims[1..]: the number of contiguous rows */
    public long rows() {
        return elements() / dims[0];
    }

    public long cols() {
        return dims[0];
    }

    public String shape() {
        return Arrays.toString(dims);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(dims, t.dims) && type == t.type
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + shape();
    }
}
