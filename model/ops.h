// model/ops.h — every op of the Llama forward pass and its hand-written backward.
//
// The llm.c conventions, everywhere:
//  - arguments: outputs first, then inputs, then sizes;
//  - a backward ACCUMULATES (+=) into its gradient buffers; the caller zeroes them once, so
//    residual branches and the tied embedding/head need no special case;
//  - nothing is allocated inside an op: scratch comes from the caller (the activation buffers);
//  - loops that are not matmuls run under `#pragma omp parallel for` (per row / per head).
//
// Shape letters as in model.h: B batch, T query positions, Tk key positions, C dim, NH query
// heads, NKV key/value heads, HD head_dim, H SwiGLU width, V vocab. N is "any number of rows".
// The forward/backward math of each op is derived in docs/model.md.
//
// Every OpenMP loop carries `if (work >= OMP_MIN_WORK)`: below that many elements it runs on one
// thread, because waking the team costs microseconds (much more on a busy machine) — more than
// a small loop takes, e.g. a one-token decode step's RMSNorm.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"

#define OMP_MIN_WORK 16384

// p[0..n) = 0, over the OpenMP threads when n is large (one core's memset reaches about half of
// the memory bandwidth two do: measured 7 vs 14 GB/s)
static inline void zero_floats(float *p, size_t n) {
    #pragma omp parallel for simd if (n >= OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) p[i] = 0.0f;
}

// ---- model/embedding.c : token embedding ----
// out (N,C) = table[tokens[n]]: table is a (V,C) Mat (f32, or bf16/f16 from a checkpoint).
// backward: dtable[tokens[n]] += dout[n] (f32 only; rows hit twice add up).
void embedding_forward(float *out, const int *tokens, Mat table, int N, int C);
void embedding_backward(float *dtable, const float *dout, const int *tokens, int N, int C);

// ---- model/rmsnorm.c : RMSNorm ----
// out = x * rstd * w,  rstd = 1/sqrt(mean(x^2) + eps), per row of C.
// caches rstd (N) so the backward does not recompute the row statistics. dweight may be NULL
// (frozen weights).
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                     int N, int C, float eps);
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, const float *rstd, int N, int C);

// ---- model/matmul.c : y = x W^T through cblas_sgemm ----
// out (M,N) = inp (M,K) · W^T, W stored (N,K) like PyTorch's Linear.
// W may be f32 (sgemm directly), or bf16/f16: for M > 1 blocks of MATMUL_BLOCK_ROWS weight rows
// are widened into `scratch` (>= matmul_scratch_floats(K) floats, NULL is fine for f32) and fed
// to sgemm; for M == 1 (decoding) a gemv streams each weight row once. Blocks of 512 rows keep
// the sgemms large (a 512-token prefill of the 1B model: 45.7 tok/s at 256 rows, 49.6 at 512).
#define MATMUL_BLOCK_ROWS 512
static inline size_t matmul_scratch_floats(int K) { return (size_t)MATMUL_BLOCK_ROWS * K; }
void matmul_forward(float *out, const float *inp, Mat weight, float *scratch, int M, int K, int N);
// dinp (M,K) += dout · W;  dweight (N,K) += dout^T · inp  (f32 weights; either grad may be NULL)
void matmul_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                     const float *weight, int M, int K, int N);
// dinp (M,K) += dout · W through a frozen W of any dtype the forward takes, with no dweight (the
// base of a LoRA fine-tune, model/lora.h): bf16/f16 blocks of MATMUL_BLOCK_ROWS rows are widened
// into scratch as in the forward, so no f32 copy of W is ever made.
void matmul_backward_frozen(float *dinp, const float *dout, Mat weight, float *scratch, int M, int K, int N);

// ---- model/lora.c : a low-rank adapter beside a frozen linear layer (LoRA) ----
// out (M,N) += s · (inp A^T) B^T   with inp (M,K), A (R,K), B (N,R), s = alpha / R; the frozen
// layer's matmul_forward has already written inp W^T into out. u (M,R) = inp A^T is cached for
// the backward. backward, with du (M,R) scratch (overwritten):
//   dB (N,R) += s · dout^T u      du = s · dout B      dA (R,K) += du^T inp      dinp (M,K) += du A
void lora_forward(float *out, float *u, const float *inp, const float *A, const float *B, float s,
                  int M, int K, int N, int R);
void lora_backward(float *dinp, float *dA, float *dB, float *du, const float *dout, const float *inp,
                   const float *u, const float *A, const float *B, float s, int M, int K, int N, int R);

// ---- model/rope.c : rotary position embedding (HF rotate-half) ----
// Tables cos/sin (max_pos, HD/2): angle = pos * inv_freq[i], inv_freq[i] = theta^(-2i/HD),
// optionally rescaled the Llama 3 way (factor != 0). Computed in double, stored as float.
void rope_tables(float *cos_t, float *sin_t, int max_pos, int HD, double theta, double factor,
                 double low_freq_factor, double high_freq_factor, double original_max_pos);
// The same with inv_freq[i] = theta^(-2i/HD) / divisors[i]: llama.cpp's rope_freqs.weight,
// which GGUF files carry in place of the Llama 3 scaling parameters.
void rope_tables_divided(float *cos_t, float *sin_t, int max_pos, int HD, double theta, const float *divisors);
// For each row n (position pos0 + n % T), each of nh heads: rotate the pair (x[i], x[i+HD/2])
// by angle pos*inv_freq[i]. inp (B,T,nh*HD) -> out, which may be inp (in place).
// backward: rotation by -angle, accumulated into dinp.
void rope_forward(float *out, const float *inp, const float *cos_t, const float *sin_t,
                  int B, int T, int nh, int HD, int pos0);
void rope_backward(float *dinp, const float *dout, const float *cos_t, const float *sin_t,
                   int B, int T, int nh, int HD, int pos0);

// ---- model/attention.c : causal grouped-query attention ----
// q (B,T,NH*HD); k, v (B,Tk,NKV*HD); query t sits at absolute position Tk-T+t and sees keys
// 0..Tk-T+t (Tk == T in training; Tk = pos+T against a KV cache). Query head h reads KV head
// h / (NH/NKV). att (B,NH,T,Tk) caches the softmax probabilities for the backward.
// out (B,T,NH*HD) = drop(softmax(q k^T / sqrt(HD) + causal mask)) v
// drop: dropout with probability p on the probabilities (training only; mask key `key`, element
// index = first + its index in att: first is nonzero for a slice of a larger batch), which needs `scratch` of attention_scratch_floats() floats; with
// p == 0 there is no dropout and scratch may be NULL.
size_t attention_scratch_floats(int B, int T, int Tk, int NH);
void attention_forward(float *out, float *att, float *scratch, const float *q, const float *k,
                       const float *v, int B, int T, int Tk, int NH, int NKV, int HD, float p, uint64_t key,
                       size_t first);
// datt (B,NH,T,Tk) is scratch (overwritten, not accumulated); dq, dk, dv accumulate. p, key and
// scratch as in the forward.
void attention_backward(float *dq, float *dk, float *dv, float *datt, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        int B, int T, int Tk, int NH, int NKV, int HD, float p, uint64_t key,
                        size_t first);

// ---- model/swiglu.c : h = silu(gate) * up ----
// gate, up, out (N). backward: dgate += dh * up * silu'(gate), dup += dh * silu(gate).
void swiglu_forward(float *out, const float *gate, const float *up, size_t N);
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, size_t N);

// ---- model/residual.c : out = a + b ----
void residual_forward(float *out, const float *inp1, const float *inp2, size_t N);
void residual_backward(float *dinp1, float *dinp2, const float *dout, size_t N);

// ---- model/dropout.c : inverted dropout with a counter-based mask ----
// keep(i) = hash(seed, step, layer, site, i) >= p;  out = keep ? inp / (1-p) : 0.
// Nothing is stored: the backward recomputes keep(i) from the same counters.
// p == 0 copies exactly (out may equal inp).
int dropout_keep(uint64_t key, size_t i, float p);
uint64_t dropout_key(uint64_t seed, uint64_t step, int layer, int site);
// first: the index of element 0 in the mask (the elements are first .. first+N-1), nonzero when
// this is a slice of a larger batch (data parallelism: the rank's rows of the global batch)
void dropout_forward(float *out, const float *inp, float p, uint64_t key, size_t first, size_t N);
void dropout_backward(float *dinp, const float *dout, float p, uint64_t key, size_t first, size_t N);
// the same mask on a span: out[j] = keep(first + j) ? inp[j] / (1-p) : 0, j < n, one thread
// (p > 0; out may be inp)
void dropout_span(float *out, const float *inp, float p, uint64_t key, size_t first, size_t n);

// ---- model/crossentropy.c : softmax cross-entropy ----
// losses (N) = -log softmax(logits[n])[targets[n]]; targets < 0 are skipped (loss 0).
// The loss the model reports is the mean over the n with targets >= 0.
// backward: dlogits[n] += dloss[n] * (softmax(logits[n]) - onehot(targets[n])), with the softmax
// recomputed from the logits and the forward's losses (cheaper to keep than a (N,V) probability
// buffer; loss + logit of the target is the softmax's log-normalizer).
void crossentropy_forward(float *losses, const float *logits, const int *targets, int N, int V);
void crossentropy_backward(float *dlogits, const float *dlosses, const float *logits,
                           const float *losses, const int *targets, int N, int V);
