// model/lora.h — low-rank adapters (LoRA: Hu et al., "LoRA: Low-Rank Adaptation of Large Language
// Models", 2021) on the frozen matrices of a Model.
//
// An adapted linear layer y = x W^T (W (N,K) frozen, in its file's dtype) becomes
//     y = x W^T + s · (x A^T) B^T,        A (R,K), B (N,R), s = alpha / R
// and only A and B train: R·(K+N) numbers instead of N·K. A starts Kaiming-uniform (peft's
// default: U(-1/sqrt(K), 1/sqrt(K))), B at zero, so training starts from the base model exactly.
// The forward and backward of the term are lora_forward / lora_backward (model/ops.h); the
// model calls them after each adapted matmul when m->lora is set, and then freezes every base
// weight: no base gradient, no f32 copy (bf16 matrices stay in their mmap, matmul_backward_frozen).
//
// Targets, as peft names Llama's modules: q k v o (self_attn.{q,k,v,o}_proj: wq wk wv wo) and
// gate up down (mlp.{gate,up,down}_proj: w1 w3 w2).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

enum { LORA_Q, LORA_K, LORA_V, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_NT };
extern const char *const lora_target_names[LORA_NT];   // "q", "k", ..., "down" (--lora-targets)
extern const char *const lora_module_names[LORA_NT];   // "self_attn.q_proj", ..., "mlp.down_proj"
#define LORA_DEFAULT_TARGETS ((1u << LORA_Q) | (1u << LORA_V))   // peft's default for Llama

typedef struct Lora {
    int rank;                 // R
    float alpha, scale;       // scale = alpha / R
    unsigned targets;         // bit t: every layer's matrix t is adapted
    int n_layers;
    int in[LORA_NT], out[LORA_NT];   // K and N of each target's matrix
    // the adapters, f32, one buffer: layer by layer, adapted target by target (LORA_Q first),
    // A (R, in) then B (out, R); grads mirrors it
    float *params, *grads;
    size_t num_parameters;
    float **A, **B, **dA, **dB;      // [l * LORA_NT + t]; NULL for a target not adapted
    size_t *sizes;                   // the tensors A, B, A, B, ... of the buffer, in order
    int n_tensors;
    // activations: u = x A^T of every adapted matrix, (L, LORA_NT, rows, R), kept for the
    // backward; du (rows, R) backward scratch; u_kv (LORA_NT, kv_rows, R) for the no-grad forward
    float *u, *du, *u_kv;
    size_t u_rows, kv_rows;
    // lora_merge's f32 matrices W + s B A (export)
    float *merged;
} Lora;

// Adapters of rank R on the targets (a mask of 1 << LORA_*) of a model of config c, zeroed.
// NULL with a one-line reason in err: rank < 1, no target, or a rank above a target's
// in/out size (the product B A could not have rank R).
Lora *lora_create(const Config *c, int rank, float alpha, unsigned targets, char *err, size_t errlen);
void lora_free(Lora *l);
// peft's init: A ~ U(-1/sqrt(K), 1/sqrt(K)) (kaiming_uniform_ with a = sqrt(5)), B = 0;
// deterministic for a seed.
void lora_init_random(Lora *l, uint64_t seed);
// Room for the activations of `rows` training positions and `kv_rows` positions of the no-grad
// forward (grows, never shrinks). 0, or -1 out of memory.
int lora_reserve(Lora *l, size_t rows, size_t kv_rows);

// "q,v" -> mask. 0, or -1 with a one-line reason naming the bad entry.
int lora_parse_targets(const char *s, unsigned *mask, char *err, size_t errlen);
void lora_targets_string(unsigned mask, char *buf, size_t cap);
// The layer and target of tensor i of the buffer (i even: A, odd: B).
void lora_tensor_at(const Lora *l, int i, int *layer, int *target);
// peft's name of tensor i: "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"
void lora_tensor_name(const Lora *l, int i, char *buf, size_t cap);

// Adapters on m: checks that they fit m's shapes and sets m->lora (not owned). 0, or -1 with a
// reason in err.
int model_attach_lora(Model *m, Lora *l, char *err, size_t errlen);
// Folds the adapters into the weights for export: each adapted matrix becomes an f32 copy
// W + s·B·A (owned by l), m->w points at them, and m->lora is cleared. 0, or -1 out of memory.
int lora_merge(Model *m, Lora *l, char *err, size_t errlen);
