// train/adamw.c — see adamw.h for the math.
#include "train/adamw.h"
#include <math.h>
#include <string.h>

void adamw_update(float *params, const float *grads, float *m, float *v, size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, uint64_t t) {
    // bias corrections in double: beta2^t for t in the thousands loses digits in float
    float bc1 = (float)(1.0 - pow(beta1, (double)t));
    float bc2 = (float)(1.0 - pow(beta2, (double)t));
    float decay = 1.0f - lr * weight_decay;   // torch: param.mul_(1 - lr * weight_decay)
    float step_size = lr / bc1;
    float bc2_sqrt = sqrtf(bc2);
    #pragma omp parallel for simd
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        // torch: denom = sqrt(v) / sqrt(bc2) + eps;  p -= (lr / bc1) * m / denom
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        params[i] = params[i] * decay - step_size * mi / denom;
    }
}

int adamw_decays(const char *tensor_name, int decay_all) {
    return decay_all || strncmp(tensor_name, "rms", 3) != 0;
}

void adamw_update_tensors(float *params, const float *grads, float *m, float *v, const size_t *sizes,
                          const int *decay, int ntensors, float lr, float beta1, float beta2, float eps,
                          float weight_decay, uint64_t t) {
    size_t total = 0;
    for (int i = 0; i < ntensors; i++) total += sizes[i];
    adamw_update_slice(params, grads, m, v, 0, total, sizes, decay, ntensors, lr, beta1, beta2, eps, weight_decay, t);
}

void adamw_update_slice(float *params, const float *grads, float *m, float *v, size_t lo, size_t n,
                        const size_t *sizes, const int *decay, int ntensors, float lr, float beta1, float beta2,
                        float eps, float weight_decay, uint64_t t) {
    size_t off = 0, hi = lo + n;
    for (int i = 0; i < ntensors; i++) {
        size_t a = off > lo ? off : lo, b = off + sizes[i] < hi ? off + sizes[i] : hi;   // tensor i within the slice
        if (a < b)
            adamw_update(params + a, grads + (a - lo), m + (a - lo), v + (a - lo), b - a, lr, beta1, beta2, eps,
                         decay[i] ? weight_decay : 0.0f, t);
        off += sizes[i];
    }
}

double grad_global_norm(const float *grads, size_t n) {
    double sum = 0.0;
    #pragma omp parallel for simd reduction(+ : sum)
    for (size_t i = 0; i < n; i++) sum += (double)grads[i] * grads[i];
    return sqrt(sum);
}

float grad_clip(float *grads, size_t n, double norm, float max_norm) {
    if (max_norm <= 0.0f || !(norm > max_norm)) return 1.0f;
    float scale = (float)(max_norm / (norm + 1e-6));
    #pragma omp parallel for simd
    for (size_t i = 0; i < n; i++) grads[i] *= scale;
    return scale;
}
