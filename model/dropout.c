// model/dropout.c — inverted dropout whose mask is a pure function of counters.
//
//   keep(i) = u_i >= p,   u_i uniform in [0,1): 16 bits of h_j = splitmix64(key + j·gamma), j = i/4
//   (one 64-bit hash serves four elements, 16 bits each, from the top down)
//   forward:  out_i = keep(i) ? inp_i / (1-p) : 0        (so E[out] = inp: no rescale at eval)
//   backward: dinp_i += keep(i) ? dout_i / (1-p) : 0
// key = dropout_key(seed, step, layer, site) mixes the run's seed, the optimizer step, the layer
// and which of the layer's two sites (0 attention branch, 1 MLP branch) this is. Because the mask
// is recomputed from (key, i), nothing is stored between forward and backward, a step is
// reproducible, and the gradient check can hold the mask fixed while it perturbs inputs.
#include <math.h>
#include "model/ops.h"

// splitmix64 (Steele, Lea, Flood 2014): a bijective mixer; consecutive counters give
// statistically independent outputs.
static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t dropout_key(uint64_t seed, uint64_t step, int layer, int site) {
    uint64_t k = splitmix64(seed);
    k = splitmix64(k ^ step);
    k = splitmix64(k ^ ((uint64_t)layer << 1 | (uint64_t)site));
    return k;
}

// u·2^16 is 16 bits of the hash and keep = u >= p. Compared as integers, u·2^16 >= p·2^16 <=>
// u·2^16 >= ceil(p·2^16) (exact: scaling by 2^16 and ceil lose nothing), which keeps the loops
// free of int->float conversions; p is thereby rounded up to a multiple of 2^-16 (0.1 -> 0.100006).
// The hash (three 64-bit multiplies) is most of the cost, so one hash serves four elements:
// h_j = splitmix64(key + j·gamma) is splitmix64's own output stream started at key (element j of
// it), and its four disjoint 16-bit fields are independent uniform draws for elements 4j..4j+3.
// (Two chained hashes per element, as this began: 2.6 ms of a tiny training step's forward; an
// AVX2 version, which has to build each 64-bit multiply from three 32-bit ones, measured no
// faster than scalar code.)
static inline uint32_t keep_threshold(float p) { return (uint32_t)ceil((double)p * 65536.0); }
static inline uint64_t quad_hash(uint64_t key, size_t j) {
    return splitmix64(key + (uint64_t)j * 0x9e3779b97f4a7c15ull);
}
// element r (0..3) of a quad: the top 16 bits for r = 0, the next 16 for r = 1, ...
static inline int keep_in(uint64_t h, int r, uint32_t threshold) {
    return ((h >> (48 - 16 * r)) & 0xffff) >= threshold;
}
static inline int keep(uint64_t key, size_t i, uint32_t threshold) {
    return keep_in(quad_hash(key, i / 4), (int)(i % 4), threshold);
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
static inline void mask_span(float *out, const float *inp, float p, uint64_t key, size_t first,
                             size_t n, int add) {
    float scale = 1.0f / (1.0f - p);
    uint32_t thr = keep_threshold(p);
#define PUT(o, v) (o) = add ? (o) + (v) : (v)
    size_t j = 0;
    for (; j < n && (first + j) % 4; j++) PUT(out[j], kept_or_zero(inp[j] * scale, keep(key, first + j, thr)));
    // first + j is a multiple of 4 here: whole quads, one hash each
    size_t q0 = (first + j) / 4, nq = (n - j) / 4;
    float *o = out + j;
    const float *in = inp + j;
    for (size_t q = 0; q < nq; q++) {
        uint64_t h = quad_hash(key, q0 + q);
        for (int r = 0; r < 4; r++) PUT(o[4 * q + r], kept_or_zero(in[4 * q + r] * scale, keep_in(h, r, thr)));
    }
    for (j += 4 * nq; j < n; j++) PUT(out[j], kept_or_zero(inp[j] * scale, keep(key, first + j, thr)));
#undef PUT
}

// (attention masks its probability rows with it, inside its own parallel region; out may be inp)
void dropout_span(float *out, const float *inp, float p, uint64_t key, size_t first, size_t n) {
    mask_span(out, inp, p, key, first, n, 0);
}

// Both passes run over spans of 4096 elements, one per iteration (a multiple of 4: each span's
// quads are the mask's).
#define SPAN 4096

void dropout_forward(float *out, const float *inp, float p, uint64_t key, size_t N) {
    if (p <= 0.0f) {                                     // exact identity
        if (out != inp) memcpy(out, inp, N * sizeof(float));
        return;
    }
    #pragma omp parallel for if (N >= OMP_MIN_WORK)
    for (size_t c = 0; c < N; c += SPAN) mask_span(out + c, inp + c, p, key, c, N - c < SPAN ? N - c : SPAN, 0);
}

void dropout_backward(float *dinp, const float *dout, float p, uint64_t key, size_t N) {
    if (p <= 0.0f) {
        #pragma omp parallel for simd if (N >= OMP_MIN_WORK)
        for (size_t i = 0; i < N; i++) dinp[i] += dout[i];
        return;
    }
    #pragma omp parallel for if (N >= OMP_MIN_WORK)
    for (size_t c = 0; c < N; c += SPAN) mask_span(dinp + c, dout + c, p, key, c, N - c < SPAN ? N - c : SPAN, 1);
}
