// train/adamw.h — the AdamW optimizer (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization"), as torch.optim.AdamW computes it, and global-norm gradient clipping.
//
// For step t = 1, 2, ... and each parameter p with gradient g:
//   p -= lr * wd * p                         (decoupled decay: not part of the gradient)
//   m  = beta1 * m + (1 - beta1) * g          (first moment)
//   v  = beta2 * v + (1 - beta2) * g^2        (second moment)
//   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// The (1 - beta^t) divisions undo the zero start of m and v ("bias correction").
//
// Which tensors decay is a per-tensor choice (decay_mask): by default the matrices (embedding,
// attention and MLP projections, output head) decay and the RMSNorm gains do not — shrinking a
// gain toward 0 shrinks the whole normalized activation, which is not the "simpler weights"
// prior that weight decay is meant to express. torch.optim.AdamW on model.parameters() decays
// everything; tests use decay-everything to compare against it.
#pragma once
#include <stddef.h>
#include <stdint.h>

// One AdamW update of n parameters in place; t is the 1-based step count (for bias correction).
// Pass weight_decay 0 for tensors that do not decay.
void adamw_update(float *params, const float *grads, float *m, float *v, size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, uint64_t t);

// Whether a parameter tensor decays: every matrix; the RMSNorm gains (names "rms_...") only
// with decay_all (torch's AdamW over all parameters).
int adamw_decays(const char *tensor_name, int decay_all);

// One update of a whole parameter buffer made of ntensors tensors of sizes[t] floats each, laid
// end to end (the model's params_memory and its mirror grads_memory); tensor t decays with
// weight_decay when decay[t], else not at all.
void adamw_update_tensors(float *params, const float *grads, float *m, float *v, const size_t *sizes,
                          const int *decay, int ntensors, float lr, float beta1, float beta2, float eps,
                          float weight_decay, uint64_t t);

// The same update of the slice [lo, lo + n) of that buffer only (ZeRO-1: one process's shard):
// params is the whole buffer; grads, m and v hold the slice's n values.
void adamw_update_slice(float *params, const float *grads, float *m, float *v, size_t lo, size_t n,
                        const size_t *sizes, const int *decay, int ntensors, float lr, float beta1, float beta2,
                        float eps, float weight_decay, uint64_t t);

// sqrt(sum of g^2) over all n gradients, accumulated in double (n can be millions).
double grad_global_norm(const float *grads, size_t n);
// If max_norm > 0 and the norm exceeds it, scales every gradient by max_norm / (norm + 1e-6)
// (torch.nn.utils.clip_grad_norm_). Returns the scale applied (1 when not clipped).
float grad_clip(float *grads, size_t n, double norm, float max_norm);
