package org.bitnet4j.gguf;

/** Metadata value types, numbered as in the GGUF specification (ids 0..12). */
public enum GgufValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(-1), ARRAY(-1),
    UINT64(8), INT64(8), FLOAT64(8);

    /** bytes of a scalar value, -1 for variable-length types */
    public final int size;

    GgufValueType(int size) {
        this.size = size;
    }

    public int id() {
        return ordinal();
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    static GgufValueType fromId(int id) {
        GgufValueType[] v = values();
        return id >= 0 && id < v.length ? v[id] : null;
    }
}
