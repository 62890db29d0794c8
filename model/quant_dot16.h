// model/quant_dot16.h — the body of the x86 kernels on 16-row packed weights (model/quant_pack.c
// has the layout), included by model/quant_x86.c once per instruction set with quant_dot.h's
// KTARGET, KNAME, KDPBUSD, KSIGNED_Q8, and KWIDE: 1 for 512-bit vectors (AVX-512), 0 for 256-bit.
//
// One group of 16 rows against nx rows of activations. Per block of 32 the group holds 16 f16
// scales, then the weight bytes: chunk k (4 bytes, elements 4k..4k+3) of all 16 rows side by
// side, 64 bytes a chunk. A vector of chunk k against x's 4 bytes k broadcast to every lane is
// one vpdpbusd that adds one chunk's dot product to each row's int32 lane: 8 of them (Q8_0), or
// 4 loads whose low and high nibbles make 8 (Q4_0), give a block's sums for 16 rows, converted
// and scaled once. The row-at-a-time kernels (quant_dot.h) pay a convert, a scale and a
// horizontal layout per row and block; here one of each serves 16 rows, and a thread reads its
// rows as one sequential stream.
//
// Q8_0's bytes are stored as q + 128 (unsigned, vpdpbusd's first operand); the lanes start at
// -128 sum(x) to take that back out (quant_dot.h says why). AVX2 without VNNI cannot multiply
// 255 x 127 twice in int16, so it turns them back into signed bytes and moves the signs onto x.

// x's bytes 4k..4k+3 of block b, as one int32 to broadcast
static inline int32_t KNAME(xc)(const QuantAct *x, int b, int k) {
    int32_t v;
    memcpy(&v, x->q[b].qs + 4 * k, 4);
    return v;
}
#define KX_CHUNK(x, b, k) KNAME(xc)((x), (b), (k))

// The lines of the stream a block's share (half a unit) further on: with one stream a core, the
// hardware prefetcher alone keeps too few lines in flight. 12 KB ahead for Q8_0 (about 22
// blocks), 4 KB for Q4_0 (14): the distances that decoded fastest (docs/quantization.md)
#define KPREFETCH_AHEAD(q4) ((q4) ? 4096 : 12288)
KTARGET static inline void KNAME(prefetch_block)(const char *g, int b, int q4) {
    const char *p = g + (size_t)b * (PACK_UNIT(q4) / 2) + KPREFETCH_AHEAD(q4);
    for (int i = 0; i < PACK_UNIT(q4) / 2; i += 64) _mm_prefetch(p + i, _MM_HINT_T0);
}

#if KWIDE
// 512-bit: a vector holds a chunk of all 16 rows; up to 4 activation rows share each weight load
#define KNX 4
KTARGET static inline __attribute__((always_inline)) void KNAME(dot16_body)(int q4, int nx, int K, const char *g,
                                                                            const QuantAct *x, float *out, size_t ldo) {
    const __m512i lo4 = _mm512_set1_epi8(0x0F);
    __m512 acc[KNX];
    for (int m = 0; m < nx; m++) acc[m] = _mm512_setzero_ps();
    for (int b = 0; b < K / 32; b++) {
        const uint16_t *sc = pack_scales(g, b, q4);
        const char *qw = pack_quants(g, b, q4);
        KNAME(prefetch_block)(g, b, q4);
        __m512i s[KNX], t[KNX];   // two partial sums a row, half the chunks each: shorter chains
        for (int m = 0; m < nx; m++) s[m] = _mm512_set1_epi32((q4 ? -8 : -128) * x[m].sum[b]), t[m] = _mm512_setzero_si512();
        if (q4) {
            // the high nibbles stay in place, worth 16 times their value: t sums 16 q_hi x,
            // exact in int32 (4 x 240 x 128 a chunk), and one shift a block takes the 16 out
            for (int k = 0; k < 4; k++) {
                __m512i v = _mm512_loadu_si512((const void *)(qw + 64 * k));
                __m512i lo = _mm512_and_si512(v, lo4), hi = _mm512_andnot_si512(lo4, v);
                for (int m = 0; m < nx; m++) {
                    s[m] = _mm512_dpbusd_epi32(s[m], lo, _mm512_set1_epi32(KX_CHUNK(&x[m], b, k)));
                    t[m] = _mm512_dpbusd_epi32(t[m], hi, _mm512_set1_epi32(KX_CHUNK(&x[m], b, k + 4)));
                }
            }
            for (int m = 0; m < nx; m++) t[m] = _mm512_srai_epi32(t[m], 4);
        } else {
            for (int k = 0; k < 8; k += 2) {
                __m512i v0 = _mm512_loadu_si512((const void *)(qw + 64 * k));
                __m512i v1 = _mm512_loadu_si512((const void *)(qw + 64 * k + 64));
                for (int m = 0; m < nx; m++) {
                    s[m] = _mm512_dpbusd_epi32(s[m], v0, _mm512_set1_epi32(KX_CHUNK(&x[m], b, k)));
                    t[m] = _mm512_dpbusd_epi32(t[m], v1, _mm512_set1_epi32(KX_CHUNK(&x[m], b, k + 1)));
                }
            }
        }
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)sc));
        for (int m = 0; m < nx; m++)
            acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s[m], t[m])),
                                     _mm512_mul_ps(dw, _mm512_set1_ps(x[m].d[b])), acc[m]);
    }
    for (int m = 0; m < nx; m++) _mm512_storeu_ps(out + m * ldo, acc[m]);
}
#else
// 256-bit: rows 0..7 in one vector, 8..15 in another (the two halves of each 64-byte chunk)
#define KNX 2
KTARGET static inline __m256i KNAME(chunk_dp)(__m256i s, __m256i w, int32_t x4) {
    __m256i xv = _mm256_set1_epi32(x4);
#if KSIGNED_Q8
    // w holds q + 128 here only for Q8_0, the one caller that comes through this path
    __m256i q = _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80));
    return KDPBUSD(s, _mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
#else
    return KDPBUSD(s, w, xv);
#endif
}
KTARGET static inline __attribute__((always_inline)) void KNAME(dot16_body)(int q4, int nx, int K, const char *g,
                                                                            const QuantAct *x, float *out, size_t ldo) {
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    __m256 acc[KNX][2];
    for (int m = 0; m < nx; m++) acc[m][0] = acc[m][1] = _mm256_setzero_ps();
    for (int b = 0; b < K / 32; b++) {
        const uint16_t *sc = pack_scales(g, b, q4);
        const char *qw = pack_quants(g, b, q4);
        KNAME(prefetch_block)(g, b, q4);
        __m256i s[KNX][2];
        for (int m = 0; m < nx; m++)
            s[m][0] = s[m][1] = _mm256_set1_epi32(q4 ? -8 * x[m].sum[b] : KSIGNED_Q8 ? 0 : -128 * x[m].sum[b]);
        if (q4) {
            for (int k = 0; k < 4; k++)
                for (int h = 0; h < 2; h++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(qw + 64 * k + 32 * h));
                    __m256i lo = _mm256_and_si256(v, lo4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                    for (int m = 0; m < nx; m++) {   // nibbles 0..15: vpmaddubsw's pairs fit int16
                        s[m][h] = KDPBUSD(s[m][h], lo, _mm256_set1_epi32(KX_CHUNK(&x[m], b, k)));
                        s[m][h] = KDPBUSD(s[m][h], hi, _mm256_set1_epi32(KX_CHUNK(&x[m], b, k + 4)));
                    }
                }
        } else {
            for (int k = 0; k < 8; k++)
                for (int h = 0; h < 2; h++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(qw + 64 * k + 32 * h));
                    for (int m = 0; m < nx; m++) s[m][h] = KNAME(chunk_dp)(s[m][h], v, KX_CHUNK(&x[m], b, k));
                }
        }
        __m256 dw0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)sc));
        __m256 dw1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sc + 8)));
        for (int m = 0; m < nx; m++) {
            __m256 dx = _mm256_set1_ps(x[m].d[b]);
            acc[m][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[m][0]), _mm256_mul_ps(dw0, dx), acc[m][0]);
            acc[m][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[m][1]), _mm256_mul_ps(dw1, dx), acc[m][1]);
        }
    }
    for (int m = 0; m < nx; m++) {
        _mm256_storeu_ps(out + m * ldo, acc[m][0]);
        _mm256_storeu_ps(out + m * ldo + 8, acc[m][1]);
    }
}
#endif

// nx activation rows in pieces of KNX, each piece with its count known at compile time
KTARGET static inline __attribute__((always_inline)) void KNAME(dot16)(int q4, int K, const void *g, const QuantAct *x,
                                                                       int nx, float *out, size_t ldo) {
    for (; nx >= KNX; nx -= KNX, x += KNX, out += KNX * ldo) KNAME(dot16_body)(q4, KNX, K, g, x, out, ldo);
#if KNX > 2
    if (nx == 3) KNAME(dot16_body)(q4, 3, K, g, x, out, ldo);
    if (nx == 2) KNAME(dot16_body)(q4, 2, K, g, x, out, ldo);
#endif
    if (nx == 1) KNAME(dot16_body)(q4, 1, K, g, x, out, ldo);
}
KTARGET static void KNAME(dot16_q8_0)(int K, const void *g, const QuantAct *x, int nx, float *out, size_t ldo) {
    KNAME(dot16)(0, K, g, x, nx, out, ldo);
}
KTARGET static void KNAME(dot16_q4_0)(int K, const void *g, const QuantAct *x, int nx, float *out, size_t ldo) {
    KNAME(dot16)(1, K, g, x, nx, out, ldo);
}
#undef KNX
#undef KX_CHUNK
#undef KPREFETCH_AHEAD
