// model/model.h — the one Llama module of scratchllama: config, parameter layout, training
// forward/backward, and the KV-cached inference forward. Training (train/) and inference
// (infer/) both use exactly this code.
//
// Shapes: B batch, T sequence, C dim, L layers, NH query heads, NKV key/value heads,
// HD head_dim, H SwiGLU hidden width, V vocab.
//
// RoPE convention: Hugging Face "rotate-half" — within each head, dimension i (< HD/2) is
// rotated together with dimension i + HD/2. HF checkpoints load as they are; llama2.c / Meta
// checkpoints (interleaved pairs 2i, 2i+1) have their wq/wk rows permuted by the loader.
//
// Linear layers store weights like PyTorch: (out_features, in_features), y = x W^T.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"

typedef struct {
    int dim;          // C
    int n_layers;     // L
    int n_heads;      // NH
    int n_kv_heads;   // NKV (GQA when < NH, MQA when 1); NH % NKV == 0
    int head_dim;     // HD (normally C / NH; HF configs may set it)
    int hidden_dim;   // H, SwiGLU width
    int vocab_size;   // V
    int max_seq_len;  // longest sequence RoPE tables / KV cache cover
    float norm_eps;   // RMSNorm epsilon
    float rope_theta; // RoPE base
    // Llama 3 RoPE frequency scaling; off when rope_factor == 0
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_pos;
    int tied_embeddings; // 1: the output head reuses tok_emb
    float dropout;       // residual dropout probability during training
    // dropout on the attention probabilities during training. A training setting only: not in
    // checkpoints (loads as 0); bin/train's state file keeps it for --resume.
    float att_dropout;
} Config;

// All parameters, float32, in one contiguous buffer (the llm.c pattern). Gradients use an
// identical second buffer. Per-layer tensors are stacked (L, ...).
#define NUM_PARAM_TENSORS 12
typedef struct {
    float *tok_emb;   // (V, C)
    float *rms_att;   // (L, C)          input_layernorm
    float *wq;        // (L, NH*HD, C)   q_proj
    float *wk;        // (L, NKV*HD, C)  k_proj
    float *wv;        // (L, NKV*HD, C)  v_proj
    float *wo;        // (L, C, NH*HD)   o_proj
    float *rms_ffn;   // (L, C)          post_attention_layernorm
    float *w1;        // (L, H, C)       gate_proj
    float *w3;        // (L, H, C)       up_proj
    float *w2;        // (L, C, H)       down_proj
    float *rms_final; // (C)             model.norm
    float *lm_head;   // (V, C)          lm_head; 0 elements when tied
} ParameterTensors;

extern const char *const param_tensor_names[NUM_PARAM_TENSORS];
void fill_in_parameter_sizes(size_t *sizes, const Config *c);

// What the forward reads: matrices as Mat (f32 params, or bf16/f16 in an mmap), norm weights
// always f32. Built from ParameterTensors by model_point_weights(), or by a loader.
typedef struct {
    Mat wq, wk, wv, wo, w1, w2, w3;
    const float *rms_att, *rms_ffn;
} LayerWeights;

// A layer's seven matrices in one order wherever they are walked (LoRA's targets, quantizing,
// packing): q, k, v, o, gate (w1), up (w3), down (w2). Matrix t is (rows, cols) = (out, in).
#define LAYER_MATS 7
static inline Mat *layer_mat(LayerWeights *w, int t) {
    Mat *m[LAYER_MATS] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w1, &w->w3, &w->w2};
    return m[t];
}
static inline void layer_mat_shape(const Config *c, int t, int *rows, int *cols) {
    int C = c->dim, H = c->hidden_dim, QD = c->n_heads * c->head_dim, KVD = c->n_kv_heads * c->head_dim;
    const int out[LAYER_MATS] = {QD, KVD, KVD, C, H, H, C}, in[LAYER_MATS] = {C, C, C, QD, C, C, H};
    *rows = out[t], *cols = in[t];
}
typedef struct {
    Mat tok_emb;          // (V, C)
    Mat lm_head;          // (V, C); == tok_emb when tied
    const float *rms_final;
    LayerWeights *layers; // L entries
} Weights;

typedef struct Model Model;

// ---- lifetime ----
// model_create: validates the config (one-line message in err on failure, returns NULL),
// computes RoPE tables, and allocates the f32 parameter buffer when with_params != 0
// (training, our checkpoints); loaders of mmapped bf16 weights pass 0 and fill m->w.
Model *model_create(const Config *c, int with_params, char *err, size_t errlen);
void model_free(Model *m);
// Random init for training: N(0, 0.02) matrices (residual projections wo, w2 scaled by
// 1/sqrt(2L)), RMSNorm weights 1. Deterministic for a seed.
void model_init_random(Model *m, uint64_t seed);
// Point m->w at the f32 parameter buffer (call after filling params).
void model_point_weights(Model *m);

// ---- training ----
// Full-sequence forward over a (B,T) batch. targets may be NULL (then returns -1).
// Returns the mean cross-entropy over the positions with targets >= 0 (a negative target marks
// padding); logits stay in model_logits(m) as (B,T,V). Dropout is active only while
// m->training != 0. Returns NAN (nothing computed) when B < 1, T < 1, T > max_seq_len, a token
// or target is >= V, or a token is < 0, or (out of memory) the activations can't be allocated;
// model_error(m) then says which. A NAN with model_error "" is a loss that diverged.
float model_forward(Model *m, const int *inputs, const int *targets, int B, int T);
void model_zero_grad(Model *m);
// Bytes model_forward allocates for a (B,T) batch: every layer's activations, one layer's
// gradient activations, the batch's ids, and with adapters their activations (attention
// dropout's scratch not counted).
size_t model_activation_bytes(const Model *m, int B, int T);
// Accumulates d(mean loss)/d(param) into the gradient buffer (needs a forward with targets);
// with LoRA adapters attached, into the adapters' gradients only.
// Returns 0, or -1 (nothing computed; model_error says why).
int model_backward(Model *m);
// Why the last model_forward returned NAN or model_backward -1: bad input (a token outside the
// vocabulary, T past max_seq_len) or out of memory; "" when the forward ran and the loss itself
// is not finite (divergence).
const char *model_error(const Model *m);
const float *model_logits(const Model *m);

// ---- inference (B = 1) ----
// Allocates the KV cache (L, max_len, NKV*HD) for K and for V, and no-grad activations.
int model_kv_alloc(Model *m, int max_len);   // 0; -1: the KV cache, -2: the attention scratch failed
// Bytes model_kv_alloc(m, max_len) asks for: the K and V caches, and the activations and
// attention scores of one chunk of positions (the scratch).
void model_kv_sizes(const Model *m, int max_len, size_t *cache_bytes, size_t *scratch_bytes);
// Runs tokens[0..T) at positions pos..pos+T-1, writing their K/V into the cache, and returns
// the logits: of the last position only (V floats) unless all_logits, then (T, V).
// The returned pointer is into the model's buffer (valid until the next call). Returns NULL,
// touching nothing, on input it cannot run: no cache, T < 1, pos < 0, pos+T > max_len, a token
// outside [0,V), or all_logits with T > m->kv_chunk. The caller prints the message.
float *model_forward_kv(Model *m, const int *tokens, int T, int pos, int all_logits);

// Activations of a forward pass, one contiguous buffer (llm.c). Per-layer tensors are stacked
// (Ls, ...), where Ls = L for training (the backward needs every layer's) and Ls = 1 for the
// no-grad KV-cache path and for the gradient scratch (the backward walks one layer at a time).
// Tk = T in training; the KV path's attention spans up to max_len cached keys.
#define NUM_ACTIVATION_TENSORS 22
typedef struct {
    float *resid;      // (Ls+1, B, T, C) residual stream entering each layer; [Ls] leaves the last
    float *att_norm;   // (Ls, B, T, C)   rmsnorm(resid) feeding q, k, v
    float *att_rstd;   // (Ls, B, T)      its 1/rms, for rmsnorm_backward
    float *q;          // (Ls, B, T, NH*HD)   x wq^T, before RoPE
    float *k;          // (Ls, B, T, NKV*HD)  x wk^T, before RoPE
    float *v;          // (Ls, B, T, NKV*HD)  x wv^T
    float *qr;         // (Ls, B, T, NH*HD)   q after RoPE
    float *kr;         // (Ls, B, T, NKV*HD)  k after RoPE
    float *att;        // (Ls, B, NH, T, Tk)  softmax probabilities
    float *atty;       // (Ls, B, T, NH*HD)   attention output, heads side by side
    float *att_out;    // (Ls, B, T, C)   atty wo^T, after dropout
    float *resid_mid;  // (Ls, B, T, C)   resid + att_out
    float *ffn_norm;   // (Ls, B, T, C)
    float *ffn_rstd;   // (Ls, B, T)
    float *gate;       // (Ls, B, T, H)   x w1^T
    float *up;         // (Ls, B, T, H)   x w3^T
    float *hmid;       // (Ls, B, T, H)   silu(gate) * up
    float *ffn_out;    // (Ls, B, T, C)   hmid w2^T, after dropout
    float *final_norm; // (B, T, C)
    float *final_rstd; // (B, T)
    float *logits;     // (B, T, V)
    float *losses;     // (B, T)
} ActivationTensors;
void fill_in_activation_sizes(size_t *sizes, const Config *c, int B, int T, int Tk, int Ls);

// Profiling (bin/train --profile): wall seconds spent in each kind of op, forward and backward,
// summed over calls while m->profile is set. Off, it costs one branch per op call.
enum { PROF_EMBEDDING, PROF_RMSNORM, PROF_MATMUL, PROF_ROPE, PROF_ATTENTION, PROF_SWIGLU,
       PROF_RESIDUAL, PROF_DROPOUT, PROF_CROSSENTROPY, PROF_ZEROING, PROF_LORA, PROF_OPS };
extern const char *const prof_names[PROF_OPS];

struct Model {
    Config config;
    // f32 parameters and their gradients (NULL when the weights live in an mmap)
    ParameterTensors params;
    size_t param_sizes[NUM_PARAM_TENSORS];
    float *params_memory;
    size_t num_parameters;
    ParameterTensors grads;
    float *grads_memory;
    Weights w;
    // dropout: active when training; the mask is a hash of (dropout_seed, dropout_step,
    // layer, site, element), so a step is reproducible and backward recomputes it.
    int training;
    uint64_t dropout_seed, dropout_step;
    // the first row of this batch in a larger one whose masks it shares: data parallelism gives
    // each process rows batch_row0.. of the global batch (train/dist.h); 0 otherwise
    int batch_row0;
    // RoPE tables (max_seq_len, HD/2), built at model_create
    float *rope_cos, *rope_sin;
    // widening buffer for bf16/f16 weights in matmul_forward (matmul_scratch_floats(max K))
    float *matmul_scratch;
    // training activations: allocated by the first model_forward for its (B,T); a later call
    // with a larger B or T reallocates once, a smaller one reuses the buffer. Never per step.
    ActivationTensors acts;
    float *acts_memory;
    ActivationTensors grad_acts;  // one layer's worth (Ls = 1), zeroed layer by layer
    float *grad_acts_memory;
    int act_B, act_T;             // shape of the last forward
    int alloc_B, alloc_T;         // shape the buffers were allocated for
    int *inputs, *targets;        // the last batch (alloc_B*alloc_T), kept for the backward
    int have_targets;             // last forward had targets (the backward needs them)
    float mean_loss, act_dropout; // its loss, and the dropout p it used (backward reuses it)
    float act_att_dropout;        // the same for the attention probabilities
    float *att_scratch;           // attention's dropout blocks (attention_scratch_floats), when used
    size_t att_scratch_floats;
    // inference: KV cache (L, kv_max_len, NKV*HD) for K (after RoPE) and V, and no-grad
    // activations for one layer of up to kv_chunk tokens (model_forward_kv runs longer inputs
    // chunk by chunk; all_logits needs T <= kv_chunk).
    float *key_cache, *value_cache;
    int kv_max_len, kv_chunk;
    ActivationTensors kv_acts;
    float *kv_acts_memory;
    // attention probe (infer/entropix.c reads it): when att_scores is not NULL, model_forward_kv
    // also leaves there the last layer's pre-softmax scores S_hj = q_h·k_j/sqrt(HD) of its last
    // position, (NH, att_scores_n) with att_scores_n = pos+T keys; the caller sizes it
    // NH * kv_max_len. NULL (the default): one test per call, nothing computed.
    float *att_scores;
    int att_scores_n;
    // Kascade sparse attention in the KV-cached forward (model/kascade.h); NULL: dense. Not
    // owned: the caller creates, prepares and frees it.
    struct Kascade *kascade;
    // weights quantized or packed at load (model/quant.h model_quantize, model_pack); m->w
    // points into it
    void *quant_memory;
    size_t quant_memory_bytes;
    // LoRA adapters (model/lora.h); NULL: none. Not owned (model_attach_lora sets it). While set,
    // every forward adds them and the backward trains only them: the base weights are frozen
    // (no gradient buffer for them, and they may be bf16 in an mmap).
    struct Lora *lora;
    // looking at what the matrices read (model/awq.c's calibration): when set, every layer's
    // forward calls it with the input of wq/wk/wv (site 0), wo (1), w1/w3 (2) and w2 (3), a
    // (rows, cols) row-major matrix. NULL (the default): one test per site.
    void (*observe_input)(void *ctx, int layer, int site, const float *x, int rows, int cols);
    void *observe_ctx;
    // profiling (see PROF_OPS above)
    int profile;
    double prof_fwd[PROF_OPS], prof_bwd[PROF_OPS];
    // looking inside (bin/train --trace-step): when set, model_backward calls it with the layer
    // whose gradients grad_acts now hold: n_layers after the output head, each l after layer
    // l's backward (grad_acts hold one layer at a time), -1 at the end (resid: d embedding)
    void (*trace_backward)(const struct Model *m, int layer);
    char err[256];                // model_error's message
};
