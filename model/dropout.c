// model/dropout.c — inverted dropout whose mask is a pure function of counters.
//
//   keep(i) = u_i >= p,   u_i uniform in [0,1): 16 bits of the 32-bit h_j = pair_hash(key, j)
//   (one hash serves two elements: in each group of 16 elements, pair j = 8g + l gives element
//   16g + l its top 16 bits and element 16g + l + 8 its low 16 bits; see keep())
//   forward:  out_i = keep(i) ? inp_i / (1-p) : 0        (so E[out] = inp: no rescale at eval)
//   backward: dinp_i += keep(i) ? dout_i / (1-p) : 0
// key = dropout_key(seed, step, layer, site) mixes the run's seed, the optimizer step, the layer
// and which of the layer's sites (0 attention branch, 1 MLP branch, 2 attention probabilities)
// this is. Because the mask is recomputed from (key, i), nothing is stored between forward and
// backward, a step is reproducible, and the gradient check can hold the mask fixed while it
// perturbs inputs.
#include <math.h>
#include "model/ops.h"
#include "util/rng.h"   // splitmix64


uint64_t dropout_key(uint64_t seed, uint64_t step, int layer, int site) {
    uint64_t k = splitmix64(seed);
    k = splitmix64(k ^ step);
    k = splitmix64(k ^ ((uint64_t)layer << 1 | (uint64_t)site));
    return k;
}

// u·2^16 is 16 bits of the hash and keep = u >= p. Compared as integers, u·2^16 >= p·2^16 <=>
// u·2^16 >= ceil(p·2^16) (exact: scaling by 2^16 and ceil lose nothing), which keeps the loops
// free of int->float conversions; p is thereby rounded up to a multiple of 2^-16 (0.1 -> 0.100006).
static inline uint32_t keep_threshold(float p) { return (uint32_t)ceil((double)p * 65536.0); }

// The hash is most of dropout's cost, so it works on 32-bit words, which AVX2 multiplies eight
// at a time (it has no 64-bit multiply: the scalar splitmix64 per four elements used before took
// 3.0 ms of a tiny training step, this 1.0). mix32 is lowbias32 (Wellons' hash prospector), a
// bijection of 32-bit words whose output bits each flip with probability ~1/2 when any input bit
// flips. Two rounds keyed by the key's halves: keys that differ in either half give unrelated
// masks (one round of mix32(j + k) would make two keys' masks one sequence shifted). Pair
// numbers are 32 bits; from element 2^33 on, j's high bits fold into the second half.
static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
typedef struct { uint32_t k0, k1; } PairKey;
static inline PairKey pair_key(uint64_t key, size_t j) {   // for pairs j with the same j >> 32
    PairKey pk = { (uint32_t)key, (uint32_t)(key >> 32) ^ mix32((uint32_t)((uint64_t)j >> 32)) };
    return pk;
}
static inline uint32_t pair_hash(PairKey pk, uint32_t j) { return mix32(mix32(j ^ pk.k0) ^ pk.k1); }
// Element i lies in group i/16 of 16 elements; its lane l = i % 8 names pair j = 8·(i/16) + l,
// whose hash's top 16 bits serve element 16g + l and its low 16 bits element 16g + l + 8 (so a
// vector of 8 hashes meets two contiguous vectors of 8 elements, with no shuffling)
static inline int keep(uint64_t key, size_t i, uint32_t threshold) {
    size_t j = i / 16 * 8 + i % 8;
    uint32_t h = pair_hash(pair_key(key, j), (uint32_t)j);
    return (i % 16 < 8 ? h >> 16 : h & 0xffff) >= threshold;
}

int dropout_keep(uint64_t key, size_t i, float p) { return keep(key, i, keep_threshold(p)); }

// v if kept, else +0 — by masking the bits rather than branching: keep() is a coin flip, and a
// branch on it mispredicts on about p of the elements (measured 3.8 vs 2.0 ns per element).
static inline float kept_or_zero(float v, int kept) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    bits &= -(uint32_t)kept;                  // all ones or all zeros
    memcpy(&v, &bits, 4);
    return v;
}

// out[j] (+)= keep(first + j) ? inp[j] / (1-p) : 0 for j < n, on the calling thread: written
// (add = 0) or accumulated (add = 1, the backward). The callers pass add as a constant, so each
// gets its own copy of the loop, without a test per element.
static inline void mask_one(float *out, const float *inp, float scale, uint64_t key, size_t i,
                            uint32_t thr, int add) {
    float v = kept_or_zero(*inp * scale, keep(key, i, thr));
    *out = add ? *out + v : v;
}
static inline void mask_span(float *out, const float *inp, float p, uint64_t key, size_t first,
                             size_t n, int add) {
    float scale = 1.0f / (1.0f - p);
    uint32_t thr = keep_threshold(p);
    size_t j = 0;
    for (; j < n && (first + j) % 16; j++) mask_one(out + j, inp + j, scale, key, first + j, thr, add);
    // whole groups of 16 from here: 8 hashes, the vector units' width, for elements 16g+l and
    // 16g+l+8. A group's pair numbers 8g..8g+7 share the high 32 bits, so one PairKey, which
    // changes only where 8g passes a multiple of 2^32 (recomputing it per group cost 15%).
    size_t g = (first + j) / 16;
    PairKey pk = pair_key(key, 8 * g);
    for (; j + 16 <= n; j += 16, g++) {
        uint32_t j0 = (uint32_t)(8 * g);
        if (j0 == 0) pk = pair_key(key, 8 * g);
        float *o = out + j;
        const float *in = inp + j;
        #pragma omp simd
        for (int l = 0; l < 8; l++) {
            uint32_t h = pair_hash(pk, j0 + (uint32_t)l);
            // kept_or_zero's bit mask, not `kept ? v : 0`: gcc 12 vectorizes the one, not the other
            float a = kept_or_zero(in[l] * scale, (h >> 16) >= thr);
            float b = kept_or_zero(in[l + 8] * scale, (h & 0xffff) >= thr);
            o[l] = add ? o[l] + a : a;
            o[l + 8] = add ? o[l + 8] + b : b;
        }
    }
    for (; j < n; j++) mask_one(out + j, inp + j, scale, key, first + j, thr, add);
}

// (attention masks its probability rows with it, inside its own parallel region; out may be inp)
void dropout_span(float *out, const float *inp, float p, uint64_t key, size_t first, size_t n) {
    mask_span(out, inp, p, key, first, n, 0);
}

// Both passes run over spans of 4096 elements, one per iteration (a multiple of 16: each span
// is whole groups of the mask, all on the vector path).
#define SPAN 4096

void dropout_forward(float *out, const float *inp, float p, uint64_t key, size_t first, size_t N) {
    if (p <= 0.0f) {                                     // exact identity
        if (out != inp) memcpy(out, inp, N * sizeof(float));
        return;
    }
    #pragma omp parallel for if (N >= OMP_MIN_WORK)
    for (size_t c = 0; c < N; c += SPAN) mask_span(out + c, inp + c, p, key, first + c, N - c < SPAN ? N - c : SPAN, 0);
}

void dropout_backward(float *dinp, const float *dout, float p, uint64_t key, size_t first, size_t N) {
    if (p <= 0.0f) {
        #pragma omp parallel for simd if (N >= OMP_MIN_WORK)
        for (size_t i = 0; i < N; i++) dinp[i] += dout[i];
        return;
    }
    #pragma omp parallel for if (N >= OMP_MIN_WORK)
    for (size_t c = 0; c < N; c += SPAN) mask_span(dinp + c, dout + c, p, key, first + c, N - c < SPAN ? N - c : SPAN, 1);
}
