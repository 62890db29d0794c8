// model/rmsnorm.c — RMSNorm (Zhang & Sennrich 2019), as in Llama.
//
// inp, out (N,C); weight (C); rstd (N) cached for the backward.
//   forward:  rstd = 1/sqrt(mean_c(x_c^2) + eps),   y_c = w_c * x_c * rstd
//   backward: dw_c += dy_c * x_c * rstd
//             dx_c += rstd * (w_c dy_c - x_c * rstd^2 * mean_j(w_j dy_j x_j))
// (derivation in docs/model.md). Sums run in double: C can be thousands and the gradient
// checks want float32 round-off, not summation drift. The loops over C are `omp simd` (a sum
// vectorizes only when it may be reordered; in double that costs nothing we can measure).
#include <math.h>
#include "model/ops.h"

void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                     int N, int C, float eps) {
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        double ss = 0.0;
        #pragma omp simd reduction(+:ss)
        for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt(ss / C + eps));
        #pragma omp simd
        for (int c = 0; c < C; c++) y[c] = x[c] * r * weight[c];
        rstd[n] = r;
    }
}

void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, const float *rstd, int N, int C) {
    // dinp rows are independent: parallel over rows.
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float r = rstd[n];
        double dot = 0.0;                       // sum_j w_j dy_j x_j
        #pragma omp simd reduction(+:dot)
        for (int c = 0; c < C; c++) dot += (double)weight[c] * dy[c] * x[c];
        float k = (float)(dot / C) * r * r;
        #pragma omp simd
        for (int c = 0; c < C; c++) dx[c] += r * (weight[c] * dy[c] - x[c] * k);
    }
    // dweight sums over rows. Threads split the channels, so no two write one entry, in chunks
    // of RMS_CHUNK: a thread walks the rows in order reading a contiguous run of each (a
    // column-at-a-time walk strides C floats per element). Each channel's sum runs over n in
    // order whatever the thread count.
    enum { RMS_CHUNK = 64 };
    if (!dweight) return;   // frozen (a LoRA base)
    #pragma omp parallel for if ((size_t)N * C >= OMP_MIN_WORK)
    for (int c0 = 0; c0 < C; c0 += RMS_CHUNK) {
        int nc = C - c0 < RMS_CHUNK ? C - c0 : RMS_CHUNK;
        double s[RMS_CHUNK] = { 0 };
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * C + c0, *x = inp + (size_t)n * C + c0;
            #pragma omp simd
            for (int c = 0; c < nc; c++) s[c] += (double)dy[c] * x[c] * rstd[n];
        }
        for (int c = 0; c < nc; c++) dweight[c0 + c] += (float)s[c];
    }
}
