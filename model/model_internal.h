// model/model_internal.h — what model/model.c (the training forward and backward) and
// model/decode.c (the KV-cached forward) share: the per-layer activation pointers, the one
// transformer layer both run, and the activation buffer's layout. Not part of the model's API
// (model/model.h); only these two files include it.
#pragma once
#include <stddef.h>
#include "model/model.h"

// Where one layer reads and writes. For training these point into layer l of m->acts; the KV
// path points kr/v at the cache rows of the new positions and kall/vall at the whole cache.
typedef struct {
    float *x, *att_norm, *att_rstd, *q, *k, *v, *qr, *kr, *att, *atty, *att_out, *resid_mid,
        *ffn_norm, *ffn_rstd, *gate, *up, *hmid, *ffn_out, *x_out;
    float *kall, *vall; // (B, Tk, NKV*HD): the keys/values attention reads
    struct Kascade *kascade; // KV path: sparse attention (model/kascade.h); NULL: dense
    float *lora_u;      // (LORA_NT, B*T, R): the adapters' x A^T (model/lora.h); NULL: no adapters
} LayerActs;

// Points the NUM_ACTIVATION_TENSORS fields of a, in order, into mem (sizes from
// fill_in_activation_sizes); returns the total floats. mem NULL: only the total.
size_t point_activations(ActivationTensors *a, float *mem, const size_t *sizes);

// Layer li of stacked activations a sized for (B,T,Tk).
LayerActs layer_acts(const ActivationTensors *a, const Config *c, int li, int B, int T, int Tk);

// Layer l on the T tokens at positions pos0..pos0+T-1 of each of B sequences, attending over Tk
// keys: x_out = x + drop(attention(rmsnorm(x))), then x_out += drop(mlp(rmsnorm(x_out))).
// p_drop, p_att: residual and attention-probability dropout (0 at inference).
void layer_forward(Model *m, int l, const LayerActs *a, int B, int T, int Tk, int pos0,
                   float p_drop, float p_att);
