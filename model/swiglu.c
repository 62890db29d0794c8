// model/swiglu.c — the SwiGLU gate of Llama's MLP (Shazeer 2020):
//   h = silu(gate) * up,  silu(a) = a * sigmoid(a),  gate = x W1^T, up = x W3^T (matmul.c).
// gate, up, out (N) elementwise; both inputs are cached by the caller (activations) because
// the backward needs them:
//   dup   += dh * silu(gate)
//   dgate += dh * up * silu'(gate),  silu'(a) = s + a s (1 - s),  s = sigmoid(a)
// The loops are `omp simd` with exp_fast (model/vecmath.h) so they run 8 elements at a time.
#include "model/ops.h"
#include "model/vecmath.h"

void swiglu_forward(float *out, const float *gate, const float *up, size_t N) {
    #pragma omp parallel for simd if (N >= OMP_MIN_WORK)
    for (size_t i = 0; i < N; i++) {
        float a = gate[i];
        out[i] = a / (1.0f + exp_fast(-a)) * up[i];
    }
}

void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, size_t N) {
    #pragma omp parallel for simd if (N >= OMP_MIN_WORK)
    for (size_t i = 0; i < N; i++) {
        float a = gate[i];
        float s = 1.0f / (1.0f + exp_fast(-a));
        dup[i] += dout[i] * a * s;
        dgate[i] += dout[i] * up[i] * (s + a * s * (1.0f - s));
    }
}
