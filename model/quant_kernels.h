// model/quant_kernels.h — what model/quant.c's dispatch picks from: one set of dot-product
// kernels per instruction set (model/quant_x86.c, and quant.c's portable reference).
#pragma once
#include "model/quant.h"

typedef struct {
    QuantDot dot_q8_0, dot_q4_0;
    QuantDot4 dot4_q8_0, dot4_q4_0;
} QuantKernels;

// every IEEE half (its 16 bits as the index) as a float, filled at program start
extern float quant_f16_table[65536];

#if defined(__x86_64__) || defined(__i386__)
// avx2, avxvnni, avx512vnni (QUANT_KERNEL_AVX2 .. QUANT_KERNEL_AVX512 in order)
extern const QuantKernels quant_kernels_x86[3];
#endif
