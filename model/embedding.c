// model/embedding.c — token embedding: row lookup in the (V,C) table.
//
//   forward:  out[n,:] = table[tokens[n],:]          (widening bf16/f16 rows to f32)
//   backward: dtable[tokens[n],:] += dout[n,:]       (a scatter-add: a token seen twice
//                                                     collects both gradients)
// Nothing is cached: the backward needs only the token ids.
#include "model/ops.h"

void embedding_forward(float *out, const int *tokens, Mat table, int N, int C) {
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * C;
        size_t row = (size_t)tokens[n] * C;
        if (table.dtype == DTYPE_F32) {
            memcpy(o, (const float *)table.data + row, (size_t)C * sizeof(float));
        } else {
            const uint16_t *h = (const uint16_t *)table.data + row;
            if (table.dtype == DTYPE_BF16) for (int c = 0; c < C; c++) o[c] = bf16_to_f32(h[c]);
            else                           for (int c = 0; c < C; c++) o[c] = f16_to_f32(h[c]);
        }
    }
}

void embedding_backward(float *dtable, const float *dout, const int *tokens, int N, int C) {
    // Rows of dtable may repeat across n, so the parallel loop runs over channels instead:
    // each thread owns a slice of columns and walks all N rows.
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int c = 0; c < C; c++)
        for (int n = 0; n < N; n++)
            dtable[(size_t)tokens[n] * C + c] += dout[(size_t)n * C + c];
}
