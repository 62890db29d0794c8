// model/quant_x86.c — the x86 kernels of model/quant.h: model/quant_dot.h's body compiled three
// times, for AVX2 (vpmaddubsw + vpmaddwd), AVX-512 VNNI (vpdpbusd in its EVEX 256-bit form, which
// needs AVX-512 VL) and AVX-VNNI (the same instruction, VEX-encoded, on CPUs without AVX-512),
// both VNNI sets with GFNI (every CPU with either has it) for Q4_0's nibbles,
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
#include "model/quant_dot.h"
#undef KTARGET
#undef KNAME
#undef KDPBUSD
#undef KSIGNED_Q8
#undef KGFNI

#define KTARGET __attribute__((target("avx512f,avx512vl,avx512vnni,gfni,avx2,fma,f16c")))
#define KNAME(f) f##_avx512vnni
#define KDPBUSD(a, u, s) _mm256_dpbusd_epi32((a), (u), (s))
#define KSIGNED_Q8 0
#define KGFNI 1
#include "model/quant_dot.h"
#undef KTARGET
#undef KNAME
#undef KDPBUSD
#undef KSIGNED_Q8
#undef KGFNI

#define KTARGET __attribute__((target("avxvnni,gfni,avx2,fma,f16c")))
#define KNAME(f) f##_avxvnni
#define KDPBUSD(a, u, s) _mm256_dpbusd_avx_epi32((a), (u), (s))
#define KSIGNED_Q8 0
#define KGFNI 1
#include "model/quant_dot.h"

const QuantKernels quant_kernels_x86[3] = {
    {dot_q8_0_avx2, dot_q4_0_avx2, dot4_q8_0_avx2, dot4_q4_0_avx2},
    {dot_q8_0_avxvnni, dot_q4_0_avxvnni, dot4_q8_0_avxvnni, dot4_q4_0_avxvnni},
    {dot_q8_0_avx512vnni, dot_q4_0_avx512vnni, dot4_q8_0_avx512vnni, dot4_q4_0_avx512vnni},
};
#endif
