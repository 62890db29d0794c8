// util/rng.h — a small, fast, reproducible random number generator (splitmix64).
//
// The whole state is one uint64, so a training state file saves it exactly and a resumed run
// draws the same numbers. splitmix64 (Steele, Lea, Flood 2014) passes BigCrush and is what
// xoshiro's authors recommend for seeding; it is plenty for shuffling and sampling.
#pragma once
#include <stdint.h>

// splitmix64's output function of counter x + 1 step: a bijective mixer, so consecutive (or any
// distinct) inputs give statistically independent outputs (dropout masks hash with it).
static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
static inline uint64_t rng_next(uint64_t *state) {
    uint64_t z = splitmix64(*state);
    *state += 0x9e3779b97f4a7c15ull;
    return z;
}
// uniform in [0, 1) with 24 random bits (exact in float)
static inline float rng_float(uint64_t *state) { return (float)(rng_next(state) >> 40) / 16777216.0f; }
// uniform in [0, n) (n > 0); the modulo bias is < n / 2^64, negligible here
static inline uint64_t rng_below(uint64_t *state, uint64_t n) { return rng_next(state) % n; }
// a generator for stream `stream` of seed `seed` (e.g. one per epoch), independent of the others
static inline uint64_t rng_derive(uint64_t seed, uint64_t stream) {
    uint64_t s = seed ^ (stream * 0xd1342543de82ef95ull);
    rng_next(&s);
    return s;
}
