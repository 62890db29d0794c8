// model/embedding.c — token embedding: row lookup in the (V,C) table.
//
//   forward:  out[n,:] = table[tokens[n],:]          (widening bf16/f16/quantized rows to f32)
//   backward: dtable[tokens[n],:] += dout[n,:]       (a scatter-add: a token seen twice
//                                                     collects both gradients)
// Nothing is cached: the backward needs only the token ids.
#include "model/ops.h"
#include "model/quant.h"

void embedding_forward(float *out, const int *tokens, Mat table, int N, int C) {
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * C;
        size_t row = (size_t)tokens[n] * C;
        if (dtype_is_packed(table.dtype)) {
            quant_packed_row(table.dtype, table.data, (size_t)tokens[n], C, o);
        } else if (dtype_is_quant(table.dtype)) {
            dequantize_row(table.dtype, (const char *)table.data + dtype_bytes(table.dtype, row), o, C);
        } else if (table.dtype == DTYPE_F32) {
            memcpy(o, (const float *)table.data + row, (size_t)C * sizeof(float));
        } else {
            const uint16_t *h = (const uint16_t *)table.data + row;
            if (table.dtype == DTYPE_BF16) for (int c = 0; c < C; c++) o[c] = bf16_to_f32(h[c]);
            else                           for (int c = 0; c < C; c++) o[c] = f16_to_f32(h[c]);
        }
    }
}

void embedding_backward(float *dtable, const float *dout, const int *tokens, int N, int C) {
    // Rows of dtable may repeat across n, so the threads split the channels instead: blocks of
    // 16 (one cache line of floats), each walking all N rows, so no two threads write the same
    // element, and the adds over a block's 16 channels are one vector add. Each element still
    // sums its rows in the order n = 0, 1, ..., whatever the thread count.
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int c0 = 0; c0 < C; c0 += 16) {
        int c1 = c0 + 16 < C ? c0 + 16 : C;
        for (int n = 0; n < N; n++) {
            float *d = dtable + (size_t)tokens[n] * C;
            const float *g = dout + (size_t)n * C;
            #pragma omp simd
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}
