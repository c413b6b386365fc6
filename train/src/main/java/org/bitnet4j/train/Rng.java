package org.bitnet4j.train;

/**
 * SplitMix64: a small generator whose whole state is one long, so a run is reproducible from its seed on every JVM
 * (java.util.Random's Gaussian depends on StrictMath, fine too, but this one can also be derived statelessly from
 * (seed, step, index) with {@link #mix}, which is how the data order survives a resume without saving any state).
 */
final class Rng {
    private long state;

    Rng(long seed) {
        this.state = seed;
    }

    long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return mix(state);
    }

    /** uniform in [0, bound) */
    int nextInt(int bound) {
        return (int) Math.floorMod(nextLong() >>> 1, (long) bound);
    }

    /** uniform in [0, 1) with 53 random bits */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** standard normal (Box-Muller, one value per call) */
    double nextGaussian() {
        double u1 = nextDouble(), u2 = nextDouble();
        return StrictMath.sqrt(-2 * StrictMath.log(1 - u1)) * StrictMath.cos(2 * Math.PI * u2);
    }

    /** The SplitMix64 finaliser: a bijective 64-bit hash. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A seed derived from several values (order matters). */
    static long derive(long seed, long... parts) {
        long h = mix(seed ^ 0x5DEECE66DL);
        for (long p : parts) {
            h = mix(h + 0x9E3779B97F4A7C15L + p);
        }
        return h;
    }
}
