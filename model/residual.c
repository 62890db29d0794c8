// model/residual.c — the residual stream's add, out = inp1 + inp2 (N).
// backward: the gradient passes unchanged to both inputs, dinp1 += dout, dinp2 += dout.
#include "model/ops.h"

void residual_forward(float *out, const float *inp1, const float *inp2, size_t N) {
    #pragma omp parallel for simd if (N >= OMP_MIN_WORK)
    for (size_t i = 0; i < N; i++) out[i] = inp1[i] + inp2[i];
}

void residual_backward(float *dinp1, float *dinp2, const float *dout, size_t N) {
    #pragma omp parallel for simd if (N >= OMP_MIN_WORK)
    for (size_t i = 0; i < N; i++) { dinp1[i] += dout[i]; dinp2[i] += dout[i]; }
}
