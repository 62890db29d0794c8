// model/decode.c — inference with a KV cache (B = 1): the cache and its activations
// (model_kv_sizes, model_kv_alloc), and model_forward_kv, which runs new tokens through the same
// layer_forward as training (model/model.c) with K/V written into and read from the cache.
// The math is in docs/model.md section 4; the decoding loops that call it are in infer/.
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include "model/model.h"
#include "model/model_internal.h"
#include "model/lora.h"
#include "model/ops.h"

// Prompt positions per chunk. Each chunk widens every bf16 weight once and multiplies it by
// KV_CHUNK rows, so bigger chunks amortize the widening and make the sgemms more efficient (1B
// bf16, 512-token prompt, 2 threads: 35 tok/s at 128 with 128-row weight blocks, 50 at 256 with
// 512-row blocks); the cost is activation memory, mostly the (KV_CHUNK, V) logits buffer that
// all_logits needs (131 MB for Llama 3's vocabulary) and attention's (NH, KV_CHUNK, max_len).
#define KV_CHUNK 256

void model_kv_sizes(const Model *m, int max_len, size_t *cache_bytes, size_t *scratch_bytes) {
    const Config *c = &m->config;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, sizes[NUM_ACTIVATION_TENSORS];
    int chunk = max_len < KV_CHUNK ? max_len : KV_CHUNK;
    fill_in_activation_sizes(sizes, c, 1, chunk, max_len, 1);
    if (cache_bytes) *cache_bytes = 2 * (size_t)c->n_layers * max_len * KVD * sizeof(float);
    ActivationTensors unused;
    if (scratch_bytes) *scratch_bytes = point_activations(&unused, NULL, sizes) * sizeof(float);
}

int model_kv_alloc(Model *m, int max_len) {
    const Config *c = &m->config;
    if (max_len < 1 || max_len > c->max_seq_len) return -1;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, sizes[NUM_ACTIVATION_TENSORS];
    free(m->key_cache); free(m->value_cache); free(m->kv_acts_memory);
    m->kv_acts_memory = NULL;
    m->kv_chunk = max_len < KV_CHUNK ? max_len : KV_CHUNK;
    fill_in_activation_sizes(sizes, c, 1, m->kv_chunk, max_len, 1);
    m->key_cache = calloc((size_t)c->n_layers * max_len * KVD, sizeof(float));
    m->value_cache = calloc((size_t)c->n_layers * max_len * KVD, sizeof(float));
    int rc = !m->key_cache || !m->value_cache ? -1 : 0;
    if (!rc) {
        m->kv_acts_memory = malloc(point_activations(&m->kv_acts, NULL, sizes) * sizeof(float));
        if (!m->kv_acts_memory) rc = -2;
    }
    if (rc) {
        free(m->key_cache); free(m->value_cache); free(m->kv_acts_memory);
        m->key_cache = m->value_cache = m->kv_acts_memory = NULL;
        m->kv_max_len = m->kv_chunk = 0;
        return rc;
    }
    point_activations(&m->kv_acts, m->kv_acts_memory, sizes);
    m->kv_max_len = max_len;
    return 0;
}

// One chunk of T <= kv_chunk tokens at positions pos..pos+T-1 through every layer; leaves the
// final residual in kv_acts.resid + (L % 2) * T*C.
static float *forward_kv_chunk(Model *m, const int *tokens, int T, int pos) {
    const Config *c = &m->config;
    int C = c->dim, L = c->n_layers, Tk = pos + T;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, TC = (size_t)T * C;
    ActivationTensors *a = &m->kv_acts;
    embedding_forward(a->resid, tokens, m->w.tok_emb, T, C);
    for (int l = 0; l < L; l++) {
        // one set of activations reused by every layer; the residual ping-pongs between the
        // two (T,C) halves of resid
        LayerActs la = layer_acts(a, c, 0, 1, T, Tk);
        la.x = a->resid + (l % 2) * TC;
        la.x_out = a->resid + ((l + 1) % 2) * TC;
        float *kc = m->key_cache + (size_t)l * m->kv_max_len * KVD;
        float *vc = m->value_cache + (size_t)l * m->kv_max_len * KVD;
        la.kr = kc + (size_t)pos * KVD;   // the step writes its rotated K and its V straight
        la.v = vc + (size_t)pos * KVD;    // into the cache rows of its positions...
        la.kall = kc;                     // ...and attends over all rows 0..pos+T-1
        la.vall = vc;
        la.kascade = m->kascade;
        la.lora_u = m->lora ? m->lora->u_kv : NULL;   // kept for no backward: one buffer for all layers
        layer_forward(m, l, &la, 1, T, Tk, pos, 0.0f, 0.0f);
    }
    return a->resid + (L % 2) * TC;
}

// The probe: the last layer's scores of the last row, from its rotated query (kv_acts.qr, which
// every layer overwrites, so the last layer's is there) and the layer's cached keys: one
// (n, HD) x HD product per head, small next to the weights a token streams. attention_forward
// itself stays as it is (its softmax overwrites the scores in place).
static void probe_scores(Model *m, int Tc, int n) {
    const Config *c = &m->config;
    int NH = c->n_heads, HD = c->head_dim, group = NH / c->n_kv_heads, QD = NH * HD;
    size_t KVD = (size_t)c->n_kv_heads * HD;
    const float *q = m->kv_acts.qr + (size_t)(Tc - 1) * QD;
    const float *kc = m->key_cache + (size_t)(c->n_layers - 1) * m->kv_max_len * KVD;
    for (int h = 0; h < NH; h++)   // S_h (n) = scale * k_g (n,HD) · q_h (HD)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, HD, 1.0f / sqrtf((float)HD), kc + (size_t)(h / group) * HD,
                    (int)KVD, q + (size_t)h * HD, 1, 0.0f, m->att_scores + (size_t)h * n, 1);
    m->att_scores_n = n;
}

float *model_forward_kv(Model *m, const int *tokens, int T, int pos, int all_logits) {
    const Config *c = &m->config;
    int C = c->dim, V = c->vocab_size;
    if (!m->key_cache || T < 1 || pos < 0 || pos + T > m->kv_max_len) return NULL;
    if (all_logits && T > m->kv_chunk) return NULL;
    for (int i = 0; i < T; i++) if (tokens[i] < 0 || tokens[i] >= V) return NULL;
    if (m->lora && lora_reserve(m->lora, 0, (size_t)m->kv_chunk) != 0) return NULL;   // the first call only
    ActivationTensors *a = &m->kv_acts;
    float *x = NULL;
    int Tc = 0;
    for (int t0 = 0; t0 < T; t0 += m->kv_chunk) {
        Tc = T - t0 < m->kv_chunk ? T - t0 : m->kv_chunk;
        x = forward_kv_chunk(m, tokens + t0, Tc, pos + t0);
    }
    if (m->att_scores) probe_scores(m, Tc, pos + T);
    // output head: every position of the (single) chunk, or only the last one
    int rows = all_logits ? Tc : 1;
    const float *xin = x + (size_t)(Tc - rows) * C;
    rmsnorm_forward(a->final_norm, a->final_rstd, xin, m->w.rms_final, rows, C, c->norm_eps);
    matmul_forward(a->logits, a->final_norm, m->w.lm_head, m->matmul_scratch, rows, C, V);
    return a->logits;
}
