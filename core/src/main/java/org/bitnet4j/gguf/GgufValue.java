package org.bitnet4j.gguf;

import java.util.List;

/**
 * One metadata value. Scalars hold a boxed Java value: unsigned types widened so they read as unsigned
 * (UINT8/UINT16 -> Integer, UINT32 -> Long, UINT64 -> Long, bit pattern), BOOL -> Boolean, STRING -> String.
 * Arrays hold an {@link Array}.
 */
public record GgufValue(GgufValueType type, Object value) {

    /** An array: its element type and elements (primitive arrays for numbers, List for strings and nested arrays). */
    public record Array(GgufValueType elementType, Object elements, int length) {}

    public static GgufValue of(String s) {
        return new GgufValue(GgufValueType.STRING, s);
    }

    public static GgufValue ofUInt32(long v) {
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue ofInt32(int v) {
        return new GgufValue(GgufValueType.INT32, v);
    }

    public static GgufValue ofFloat32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue ofStrings(List<String> v) {
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.STRING, List.copyOf(v), v.size()));
    }

    public static GgufValue ofInts(int[] v) {
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.INT32, v.clone(), v.length));
    }

    public static GgufValue ofFloats(float[] v) {
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.FLOAT32, v.clone(), v.length));
    }

    public boolean isArray() {
        return type == GgufValueType.ARRAY;
    }

    public Array array() {
        return (Array) value;
    }

    @Override
    public String toString() {
        if (isArray()) {
            Array a = array();
            return "[" + a.elementType() + " x " + a.length() + "]";
        }
        return String.valueOf(value);
    }
}
