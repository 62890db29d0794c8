// model/quant_dot.h — the body of the x86 dot-product kernels, included by model/quant_x86.c once
// per instruction set with these defined:
//   KTARGET         the function attribute (target("..."))
//   KNAME(f)        the kernel's name for f (f##_avx2, ...)
//   KDPBUSD(a,u,s)  a + the 4-way sums of u8 u times s8 s in int32 lanes (vpdpbusd; AVX2 composes
//                   it from vpmaddubsw and vpmaddwd, exact while every pair's sum fits int16)
//   KSIGNED_Q8      1 where KDPBUSD cannot take Q8_0's q + 128 (up to 255 x 127, twice, overflows
//                   int16): the weights' signs move onto x instead (|w| x sign(w) x = w x)
//   KGFNI           1 to unpack Q4_0's nibbles with one GF(2) affine transform (vgf2p8affineqb)
//                   instead of a shift and a mask
//
// The unsigned operand is the weight: Q4_0's nibbles are q + 8 already, Q8_0's bytes xor 0x80 are
// q + 128. What that adds, 8 or 128 times the block's sum of x, depends on x alone: each x block's
// sum is computed once (QuantAct.sum) and subtracted by starting the int32 lanes from it (lane 0
// holds -8 sum or -128 sum, the rest 0), so a block costs one load, one or three byte operations,
// one vpdpbusd, and three float operations (convert, scale, add) with its scale d_w d_x. d_w is
// read from a table of all 65,536 halves as floats (quant_f16_table): two loads, against three
// vector operations for F16C's broadcast and convert. Four rows at a time share each x load,
// and four sums are in flight.

// the block's 8 int32 lanes, as float, times d_w d_x, added to acc
KTARGET static inline __m256 KNAME(scale_add)(__m256 acc, __m256i s, uint16_t dw, __m256 dx) {
    __m256 d = _mm256_mul_ps(_mm256_broadcast_ss(&quant_f16_table[dw]), dx);
    return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
}

// the nibbles as 32 bytes 0..15 in element order: the 16 bytes in both halves (a load), then the
// low half keeps each byte's low nibble and the high half its high nibble, moved down
KTARGET static inline __m256i KNAME(q4_bytes)(const uint8_t *qs) {
    __m256i t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
#if KGFNI
    // vgf2p8affineqb: output bit i of each byte is the parity of (row i of the 8x8 bit matrix
    // AND the byte); row i sits in byte 7 - i of the 64-bit lane's matrix. Rows 0..3 select bits
    // 0..3 (low nibble) in the low lanes and bits 4..7 in the high lanes; rows 4..7 are 0.
    const __m256i m = _mm256_setr_epi64x(0x0102040800000000ll, 0x0102040800000000ll, 0x1020408000000000ll,
                                         0x1020408000000000ll);
    return _mm256_gf2p8affine_epi64_epi8(t, m, 0);
#else
    return _mm256_and_si256(_mm256_srlv_epi32(t, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0xF));
#endif
}

// The int32 lanes of one block of either type (both start with their f16 d): for Q4_0 the
// nibbles, for Q8_0 the bytes xor 0x80 (VNNI) or |w| against x with w's signs (AVX2), into
// vpdpbusd with x; the lanes start from corr, which takes the excess back out (lane 0 holds
// -8 sum(x) or -128 sum(x); 0 where AVX2's signs leave no excess).
KTARGET static inline __m256i KNAME(corr)(int q4, int32_t sum) {
    if (!q4 && KSIGNED_Q8) return _mm256_setzero_si256();
    return _mm256_castsi128_si256(_mm_cvtsi32_si128((q4 ? -8 : -128) * sum));
}
KTARGET static inline __m256i KNAME(block)(int q4, const char *blk, __m256i qx, __m256i corr) {
    if (q4) return KDPBUSD(corr, KNAME(q4_bytes)((const uint8_t *)blk + 2), qx);
    __m256i qw = _mm256_loadu_si256((const __m256i *)(blk + 2));
#if KSIGNED_Q8
    return KDPBUSD(corr, _mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
#else
    return KDPBUSD(corr, _mm256_xor_si256(qw, _mm256_set1_epi8((char)0x80)), qx);
#endif
}
static inline uint16_t KNAME(d_of)(const char *blk) { uint16_t d; memcpy(&d, blk, 2); return d; }

// Each of the four rows' streams, 512 bytes ahead into L1. The hardware prefetcher starts over at
// every 4 KB page; these keep the rows coming across the boundary (decode of 1B: 75-79% of the
// read bound without, 79-83% with, in runs side by side).
KTARGET static inline void KNAME(prefetch4)(const void *a, const void *b, const void *c, const void *d) {
    _mm_prefetch((const char *)a + 512, _MM_HINT_T0);
    _mm_prefetch((const char *)b + 512, _MM_HINT_T0);
    _mm_prefetch((const char *)c + 512, _MM_HINT_T0);
    _mm_prefetch((const char *)d + 512, _MM_HINT_T0);
}

KTARGET static inline float KNAME(hsum)(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One row. q4: a constant at each call, so each type gets its own compiled loop.
KTARGET static inline __attribute__((always_inline)) float KNAME(dot)(int q4, int n, const void *wv, const QuantAct *x) {
    size_t bb = q4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
    const char *w = wv;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / QK8_0; b++, w += bb) {
        __m256i qx = _mm256_loadu_si256((const __m256i *)x->q[b].qs);
        acc = KNAME(scale_add)(acc, KNAME(block)(q4, w, qx, KNAME(corr)(q4, x->sum[b])), KNAME(d_of)(w),
                               _mm256_set1_ps(x->d[b]));
    }
    return KNAME(hsum)(acc);
}

// Rows w, w + stride, w + 2 stride, w + 3 stride (bytes) -> out[0], out[os], out[2 os], out[3 os].
KTARGET static inline __attribute__((always_inline)) void KNAME(dot4)(int q4, int n, const void *wv, size_t stride,
                                                                      const QuantAct *x, float *out, int os) {
    size_t bb = q4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
    const char *w0 = wv, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b < n / QK8_0; b++, w0 += bb, w1 += bb, w2 += bb, w3 += bb) {
        __m256i qx = _mm256_loadu_si256((const __m256i *)x->q[b].qs), corr = KNAME(corr)(q4, x->sum[b]);
        __m256 dx = _mm256_set1_ps(x->d[b]);
        if (!q4 || b % 2 == 0) KNAME(prefetch4)(w0, w1, w2, w3);   // about one per 64-byte line
        a0 = KNAME(scale_add)(a0, KNAME(block)(q4, w0, qx, corr), KNAME(d_of)(w0), dx);
        a1 = KNAME(scale_add)(a1, KNAME(block)(q4, w1, qx, corr), KNAME(d_of)(w1), dx);
        a2 = KNAME(scale_add)(a2, KNAME(block)(q4, w2, qx, corr), KNAME(d_of)(w2), dx);
        a3 = KNAME(scale_add)(a3, KNAME(block)(q4, w3, qx, corr), KNAME(d_of)(w3), dx);
    }
    out[0] = KNAME(hsum)(a0), out[os] = KNAME(hsum)(a1), out[2 * os] = KNAME(hsum)(a2), out[3 * os] = KNAME(hsum)(a3);
}

KTARGET static float KNAME(dot_q8_0)(int n, const void *w, const QuantAct *x) { return KNAME(dot)(0, n, w, x); }
KTARGET static float KNAME(dot_q4_0)(int n, const void *w, const QuantAct *x) { return KNAME(dot)(1, n, w, x); }
KTARGET static void KNAME(dot4_q8_0)(int n, const void *w, size_t stride, const QuantAct *x, float *out, int os) {
    KNAME(dot4)(0, n, w, stride, x, out, os);
}
KTARGET static void KNAME(dot4_q4_0)(int n, const void *w, size_t stride, const QuantAct *x, float *out, int os) {
    KNAME(dot4)(1, n, w, stride, x, out, os);
}
