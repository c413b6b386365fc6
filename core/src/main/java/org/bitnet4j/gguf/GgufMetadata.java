package org.bitnet4j.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Metadata key/value pairs in file order, with typed getters whose errors name the file and the key. */
public final class GgufMetadata {
    private final String file;
    private final Map<String, GgufValue> values;

    public GgufMetadata(String file, Map<String, GgufValue> values) {
        this.file = file;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public Map<String, GgufValue> asMap() {
        return values;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public GgufValue get(String key) {
        return values.get(key);
    }

    private GgufValue require(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            throw new GgufFormatException(file + ": metadata key '" + key + "' is missing");
        }
        return v;
    }

    private GgufFormatException wrongType(String key, GgufValue v, String wanted) {
        return new GgufFormatException(file + ": metadata key '" + key + "' is " + describe(v) + ", expected " + wanted);
    }

    private static String describe(GgufValue v) {
        return v.isArray() ? "an array of " + v.array().elementType() : "of type " + v.type();
    }

    public String getString(String key) {
        GgufValue v = require(key);
        if (v.type() != GgufValueType.STRING) {
            throw wrongType(key, v, "a string");
        }
        return (String) v.value();
    }

    public String getString(String key, String dflt) {
        return has(key) ? getString(key) : dflt;
    }

    /** Any integer type; unsigned types read as unsigned, so a UINT64 of 2^63 or more is out of range. */
    public long getLong(String key) {
        GgufValue v = require(key);
        if (!v.type().isInteger()) {
            throw wrongType(key, v, "an integer");
        }
        long x = ((Number) v.value()).longValue();
        if (v.type() == GgufValueType.UINT64 && x < 0) {
            throw new GgufFormatException(file + ": metadata key '" + key + "' = " + Long.toUnsignedString(x)
                    + " is out of range");
        }
        return x;
    }

    public long getLong(String key, long dflt) {
        return has(key) ? getLong(key) : dflt;
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new GgufFormatException(file + ": metadata key '" + key + "' = " + v + " is out of range");
        }
        return (int) v;
    }

    public int getInt(String key, int dflt) {
        return has(key) ? getInt(key) : dflt;
    }

    public float getFloat(String key) {
        GgufValue v = require(key);
        if (v.type() == GgufValueType.UINT64) {
            long x = (Long) v.value();
            return x >= 0 ? x : (float) (x >>> 1) * 2f; // unsigned, to float precision
        }
        if (v.type() == GgufValueType.FLOAT32 || v.type() == GgufValueType.FLOAT64 || v.type().isInteger()) {
            return ((Number) v.value()).floatValue();
        }
        throw wrongType(key, v, "a number");
    }

    public float getFloat(String key, float dflt) {
        return has(key) ? getFloat(key) : dflt;
    }

    public boolean getBoolean(String key, boolean dflt) {
        if (!has(key)) {
            return dflt;
        }
        GgufValue v = get(key);
        if (v.type() == GgufValueType.BOOL) {
            return (Boolean) v.value();
        }
        if (v.type().isInteger()) {
            return ((Number) v.value()).longValue() != 0;
        }
        throw wrongType(key, v, "a boolean");
    }

    private GgufValue.Array requireArray(String key, String wanted) {
        GgufValue v = require(key);
        if (!v.isArray()) {
            throw wrongType(key, v, wanted);
        }
        return v.array();
    }

    @SuppressWarnings("unchecked")
    public List<String> getStringArray(String key) {
        GgufValue.Array a = requireArray(key, "an array of strings");
        if (a.elementType() != GgufValueType.STRING) {
            throw new GgufFormatException(file + ": metadata key '" + key + "' is an array of " + a.elementType()
                    + ", expected strings");
        }
        return (List<String>) a.elements();
    }

    public float[] getFloatArray(String key) {
        GgufValue.Array a = requireArray(key, "an array of numbers");
        Object e = a.elements();
        float[] out = new float[a.length()];
        switch (e) {
            case float[] f -> System.arraycopy(f, 0, out, 0, f.length);
            case double[] d -> {
                for (int i = 0; i < d.length; i++) {
                    out[i] = (float) d[i];
                }
            }
            case long[] l -> {
                for (int i = 0; i < l.length; i++) {
                    out[i] = l[i];
                }
            }
            case int[] l -> {
                for (int i = 0; i < l.length; i++) {
                    out[i] = l[i];
                }
            }
            default -> throw new GgufFormatException(file + ": metadata key '" + key + "' is an array of "
                    + a.elementType() + ", expected numbers");
        }
        return out;
    }

    public int[] getIntArray(String key) {
        GgufValue.Array a = requireArray(key, "an array of integers");
        Object e = a.elements();
        if (e instanceof int[] i) {
            return i.clone();
        }
        if (e instanceof long[] l) {
            int[] out = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                if (l[i] < Integer.MIN_VALUE || l[i] > Integer.MAX_VALUE) {
                    String shown = a.elementType() == GgufValueType.UINT64 ? Long.toUnsignedString(l[i]) : Long.toString(l[i]);
                    throw new GgufFormatException(file + ": metadata key '" + key + "' element " + i + " = " + shown
                            + " is out of range");
                }
                out[i] = (int) l[i];
            }
            return out;
        }
        throw new GgufFormatException(file + ": metadata key '" + key + "' is an array of " + a.elementType()
                + ", expected integers");
    }
}
