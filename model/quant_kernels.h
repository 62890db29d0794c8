// model/quant_kernels.h — what model/quant.c's dispatch picks from: one set of dot-product
// kernels per instruction set (model/quant_x86.c, and quant.c's portable reference).
#pragma once
#include "model/quant.h"

typedef struct {
    QuantDot dot_q8_0, dot_q4_0;
    QuantDot4 dot4_q8_0, dot4_q4_0;
    QuantDot16 dot16_q8_0, dot16_q4_0;   // on 16-row packed weights (model/quant_pack.c)
} QuantKernels;

// The packed layout (model/quant_pack.c): per two blocks of a 16-row group, their 32 f16 scales
// (64 bytes), then each block's chunks (PACK_QBYTES). One stream, every piece 64-byte aligned.
#define PACK_QBYTES(q4) ((q4) ? 256 : 512)
#define PACK_UNIT(q4) (64 + 2 * PACK_QBYTES(q4))
// block b's 16 scales and its chunks, in group g
static inline const uint16_t *pack_scales(const char *g, int b, int q4) {
    return (const uint16_t *)(g + (size_t)(b >> 1) * PACK_UNIT(q4) + 32 * (b & 1));
}
static inline const char *pack_quants(const char *g, int b, int q4) {
    return g + (size_t)(b >> 1) * PACK_UNIT(q4) + 64 + (b & 1) * PACK_QBYTES(q4);
}

// the portable kernels on packed rows (model/quant_pack.c)
void dot16_q8_0_ref(int K, const void *g, const QuantAct *x, int nx, float *out, size_t ldo);
void dot16_q4_0_ref(int K, const void *g, const QuantAct *x, int nx, float *out, size_t ldo);

// room for quantized weights, 64-byte aligned, in 2 MB pages where the kernel gives them (quant.c)
char *quant_alloc_huge(size_t bytes);

// every IEEE half (its 16 bits as the index) as a float, filled at program start
extern float quant_f16_table[65536];

#if defined(__x86_64__) || defined(__i386__)
// quantize_row_q8_0 with AVX2 (quant_x86.c), bit for bit; also each block's d as a float and
// the sum of its q where d and sum are not NULL
void quantize_row_q8_0_avx2(BlockQ8_0 *q, float *d, int32_t *sum, const float *x, int K);
// avx2, avxvnni, avx512vnni (QUANT_KERNEL_AVX2 .. QUANT_KERNEL_AVX512 in order)
extern const QuantKernels quant_kernels_x86[3];
#endif
