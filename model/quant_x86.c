// model/quant_x86.c — the x86 kernels of model/quant.h: model/quant_dot.h's body compiled three
// times, for AVX2 (vpmaddubsw + vpmaddwd), AVX-512 VNNI (vpdpbusd in its EVEX 256-bit form, which
// needs AVX-512 VL) and AVX-VNNI (the same instruction, VEX-encoded, on CPUs without AVX-512),
// both VNNI sets with GFNI (every CPU with either has it) for Q4_0's nibbles,
// and quant_dot16.h's kernels on 16-row packed weights (512-bit vectors on AVX-512, 256 else),
// each with a target attribute so the rest of the program runs on any x86-64; quant.c picks one at
// run time from cpuid. 256-bit vectors hold one block of 32; on the Intel cores here 512-bit
// integer work runs on fewer ports, and a 512-bit register would hold two blocks with two scales.
#include "model/quant_kernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define KTARGET __attribute__((target("avx2,fma,f16c")))
#define KNAME(f) f##_avx2
#define KDPBUSD(a, u, s) _mm256_add_epi32((a), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define KSIGNED_Q8 1
#define KGFNI 0
#define KWIDE 0
#include "model/quant_dot.h"
#include "model/quant_dot16.h"
#undef KTARGET
#undef KNAME
#undef KDPBUSD
#undef KSIGNED_Q8
#undef KGFNI
#undef KWIDE

#define KTARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,gfni,avx2,fma,f16c")))
#define KNAME(f) f##_avx512vnni
#define KDPBUSD(a, u, s) _mm256_dpbusd_epi32((a), (u), (s))
#define KSIGNED_Q8 0
#define KGFNI 1
#define KWIDE 1
#include "model/quant_dot.h"
#include "model/quant_dot16.h"
#undef KTARGET
#undef KNAME
#undef KDPBUSD
#undef KSIGNED_Q8
#undef KGFNI
#undef KWIDE

#define KTARGET __attribute__((target("avxvnni,gfni,avx2,fma,f16c")))
#define KNAME(f) f##_avxvnni
#define KDPBUSD(a, u, s) _mm256_dpbusd_avx_epi32((a), (u), (s))
#define KSIGNED_Q8 0
#define KGFNI 1
#define KWIDE 0
#include "model/quant_dot.h"
#include "model/quant_dot16.h"

const QuantKernels quant_kernels_x86[3] = {
    {dot_q8_0_avx2, dot_q4_0_avx2, dot4_q8_0_avx2, dot4_q4_0_avx2, dot16_q8_0_avx2, dot16_q4_0_avx2},
    {dot_q8_0_avxvnni, dot_q4_0_avxvnni, dot4_q8_0_avxvnni, dot4_q4_0_avxvnni, dot16_q8_0_avxvnni, dot16_q4_0_avxvnni},
    {dot_q8_0_avx512vnni, dot_q4_0_avx512vnni, dot4_q8_0_avx512vnni, dot4_q4_0_avx512vnni, dot16_q8_0_avx512vnni,
     dot16_q4_0_avx512vnni},
};
#endif

#if defined(__x86_64__) || defined(__i386__)
// quantize_row_q8_0 (quant.c) eight floats at a time, with the same result bit for bit: the
// block's largest magnitude (NaN ignored, as fmaxf does), d = amax / 127 and its inverse in
// scalar float as the reference computes them, then q = x / d rounded half away from zero
// (roundf: truncate, then step away from zero where the dropped part is at least one half),
// NaN to 0, clamped to +-127. The scalar reference calls roundf per element; decoding runs this
// for every matrix's input (quant_act), loading with --quant for every weight row. d and sum
// (each block's scale as a float, the sum of its q) may be NULL.
__attribute__((target("avx2,fma,f16c"))) void quantize_row_q8_0_avx2(BlockQ8_0 *q, float *d, int32_t *sum,
                                                                     const float *x, int K) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    for (int b = 0; b < K / QK8_0; b++, x += QK8_0) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(x + 8 * i);
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v[i]), m);   // a NaN first: max_ps returns m
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float dd = amax / 127.0f, id = dd != 0.0f ? 1.0f / dd : 0.0f;
        q[b].d = f32_to_f16(dd);
        if (d) d[b] = quant_f16_table[q[b].d];
        __m256i qi[4], s = _mm256_setzero_si256();
        for (int i = 0; i < 4; i++) {
            __m256 t = _mm256_mul_ps(v[i], _mm256_set1_ps(id));
            __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(t, r)), half, _CMP_GE_OQ);
            r = _mm256_add_ps(r, _mm256_and_ps(away, _mm256_or_ps(one, _mm256_and_ps(sign, t))));
            r = _mm256_and_ps(r, _mm256_cmp_ps(t, t, _CMP_ORD_Q));              // NaN -> 0
            r = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
            qi[i] = _mm256_cvtps_epi32(r);
            s = _mm256_add_epi32(s, qi[i]);
        }
        // int32 -> int8 in element order: packs interleave 128-bit lanes, the permute undoes it
        __m256i p16a = _mm256_packs_epi32(qi[0], qi[1]), p16b = _mm256_packs_epi32(qi[2], qi[3]);
        __m256i p8 = _mm256_packs_epi16(p16a, p16b);
        p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)q[b].qs, p8);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        if (sum) sum[b] = _mm_cvtsi128_si32(s4);
    }
}
#endif
