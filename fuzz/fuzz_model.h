// fuzz/fuzz_model.h — checks on a Model a loader returned: its weights must be readable end to
// end and one forward pass must run (a weight pointing past its file would fault here, and
// AddressSanitizer sees reads past a heap buffer).
#pragma once
#include "fuzz/fuzz.h"
#include "model/model.h"
#include <math.h>

static inline void fuzz_touch_mat(Mat m, size_t n) {
    volatile float sink = 0;
    if (n) { sink += mat_get(m, 0); sink += mat_get(m, n - 1); }
    (void)sink;
}

// Reads the first and last element of every weight, then runs tokens {0, V-1} through the
// KV-cached forward. The logits may be anything (the weights are fuzz bytes): only no crash.
static inline void fuzz_check_model(Model *m) {
    const Config *c = &m->config;
    size_t C = c->dim, H = c->hidden_dim, QD = (size_t)c->n_heads * c->head_dim;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, V = c->vocab_size;
    fuzz_touch_mat(m->w.tok_emb, V * C);
    fuzz_touch_mat(m->w.lm_head, V * C);
    volatile float sink = m->w.rms_final[0] + m->w.rms_final[C - 1];
    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *w = &m->w.layers[l];
        fuzz_touch_mat(w->wq, QD * C); fuzz_touch_mat(w->wk, KVD * C); fuzz_touch_mat(w->wv, KVD * C);
        fuzz_touch_mat(w->wo, C * QD); fuzz_touch_mat(w->w1, H * C); fuzz_touch_mat(w->w3, H * C);
        fuzz_touch_mat(w->w2, C * H);
        sink += w->rms_att[0] + w->rms_att[C - 1] + w->rms_ffn[0] + w->rms_ffn[C - 1];
    }
    (void)sink;
    int len = c->max_seq_len < 2 ? c->max_seq_len : 2;
    FUZZ_CHECK(model_kv_alloc(m, len) == 0, "model_kv_alloc(%d) failed on a loaded model", len);
    int tokens[2] = {0, c->vocab_size - 1};
    FUZZ_CHECK(model_forward_kv(m, tokens, len, 0, 0) != NULL, "forward refused a loaded model");
}
