// model/crossentropy.c — softmax cross-entropy per position.
//
// logits (N,V), targets (N), losses (N).
//   forward:  loss_n = logsumexp(z_n) - z_n[y_n]    (max-shifted; the sum of exps in double)
//   backward: dz_n += dloss_n * (softmax(z_n) - onehot(y_n))
// A target < 0 means "no target here" (padding): its loss is 0 and it gets no gradient;
// model_forward averages over the positions that have a target.
// Nothing but the logits is cached; the backward recomputes the softmax from them.
#include <math.h>
#include "model/ops.h"

void crossentropy_forward(float *losses, const float *logits, const int *targets, int N, int V) {
    #pragma omp parallel for if ((size_t)N * V >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * V;
        if (targets[n] < 0) { losses[n] = 0.0f; continue; }
        float mx = z[0];
        for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
        double s = 0.0;
        for (int i = 0; i < V; i++) s += expf(z[i] - mx);
        losses[n] = (float)(log(s) + mx - z[targets[n]]);
    }
}

void crossentropy_backward(float *dlogits, const float *dlosses, const float *logits,
                           const int *targets, int N, int V) {
    #pragma omp parallel for if ((size_t)N * V >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) continue;
        const float *z = logits + (size_t)n * V;
        float *dz = dlogits + (size_t)n * V;
        float mx = z[0];
        for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
        double s = 0.0;
        for (int i = 0; i < V; i++) s += expf(z[i] - mx);
        float inv = (float)(1.0 / s), dl = dlosses[n];
        for (int i = 0; i < V; i++) dz[i] += dl * expf(z[i] - mx) * inv;
        dz[targets[n]] -= dl;
    }
}
