// model/lora.c — LoRA adapters: the op pair (lora_forward / lora_backward, model/ops.h), their
// parameters, and folding them into the base for export. See model/lora.h.
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/lora.h"
#include "model/ops.h"
#include "model/quant.h"
#include "util/rng.h"

const char *const lora_target_names[LORA_NT] = {"q", "k", "v", "o", "gate", "up", "down"};
const char *const lora_module_names[LORA_NT] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                                                "mlp.down_proj"};

// ---------------------------------------------------------------------------------------------
// the op. R is small (4 to 64): every product has R as one side, so each costs about R/N of the
// frozen matmul beside it, and OpenBLAS does it as it is.

void lora_forward(float *out, float *u, const float *inp, const float *A, const float *B, float s,
                  int M, int K, int N, int R) {
    // u (M,R) = inp (M,K) · A^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, R, K, 1.0f, inp, K, A, K, 0.0f, u, R);
    // out (M,N) += s · u · B^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, R, s, u, R, B, R, 1.0f, out, N);
}

void lora_backward(float *dinp, float *dA, float *dB, float *du, const float *dout, const float *inp,
                   const float *u, const float *A, const float *B, float s, int M, int K, int N, int R) {
    // dB (N,R) += s · dout^T (N,M) · u (M,R)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, R, M, s, dout, N, u, R, 1.0f, dB, R);
    // du (M,R) = s · dout (M,N) · B (N,R): the gradient reaching u
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, R, N, s, dout, N, B, R, 0.0f, du, R);
    // dA (R,K) += du^T (R,M) · inp (M,K)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, K, M, 1.0f, du, R, inp, K, 1.0f, dA, K);
    // dinp (M,K) += du (M,R) · A (R,K)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, R, 1.0f, du, R, A, K, 1.0f, dinp, K);
}

// ---------------------------------------------------------------------------------------------
// parameters

int lora_parse_targets(const char *s, unsigned *mask, char *err, size_t errlen) {
    *mask = 0;
    const char *p = s;
    for (;;) {
        size_t n = strcspn(p, ",");
        int t = -1;
        for (int k = 0; k < LORA_NT; k++)
            if (strlen(lora_target_names[k]) == n && !strncmp(p, lora_target_names[k], n)) t = k;
        if (t < 0) {
            snprintf(err, errlen, "unknown target \"%.*s\" in \"%s\" (expected a comma-separated list of q,k,v,o,gate,up,down)",
                     (int)n, p, s);
            return -1;
        }
        *mask |= 1u << t;
        if (!p[n]) break;
        p += n + 1;
    }
    return 0;
}

void lora_targets_string(unsigned mask, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (int t = 0; t < LORA_NT; t++)
        if (mask & (1u << t)) n += snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", lora_target_names[t]);
}

Lora *lora_create(const Config *c, int rank, float alpha, unsigned targets, char *err, size_t errlen) {
    if (rank < 1) { snprintf(err, errlen, "LoRA rank %d: must be at least 1", rank); return NULL; }
    if (!(alpha > 0) || !isfinite(alpha)) { snprintf(err, errlen, "LoRA alpha %g: must be > 0", alpha); return NULL; }
    if (!targets || targets >> LORA_NT) { snprintf(err, errlen, "LoRA: no valid target matrices"); return NULL; }
    int in[LORA_NT], out[LORA_NT];
    for (int t = 0; t < LORA_NT; t++) layer_mat_shape(c, t, &out[t], &in[t]);
    for (int t = 0; t < LORA_NT; t++)
        if ((targets & (1u << t)) && (rank > in[t] || rank > out[t])) {
            snprintf(err, errlen, "LoRA rank %d is larger than %s's %d %s features", rank, lora_module_names[t],
                     rank > in[t] ? in[t] : out[t], rank > in[t] ? "input" : "output");
            return NULL;
        }
    Lora *l = calloc(1, sizeof *l);
    int L = c->n_layers, per = 0;
    for (int t = 0; t < LORA_NT; t++) per += !!(targets & (1u << t));
    if (l) {
        l->rank = rank; l->alpha = alpha; l->scale = alpha / rank; l->targets = targets; l->n_layers = L;
        memcpy(l->in, in, sizeof in);
        memcpy(l->out, out, sizeof out);
        l->n_tensors = 2 * L * per;
        l->sizes = calloc(l->n_tensors, sizeof *l->sizes);
        l->A = calloc((size_t)L * LORA_NT, sizeof(float *)); l->B = calloc((size_t)L * LORA_NT, sizeof(float *));
        l->dA = calloc((size_t)L * LORA_NT, sizeof(float *)); l->dB = calloc((size_t)L * LORA_NT, sizeof(float *));
    }
    if (!l || !l->sizes || !l->A || !l->B || !l->dA || !l->dB) goto oom;
    int i = 0;
    for (int ly = 0; ly < L; ly++)
        for (int t = 0; t < LORA_NT; t++)
            if (targets & (1u << t)) {
                l->sizes[i++] = (size_t)rank * in[t];
                l->sizes[i++] = (size_t)out[t] * rank;
            }
    for (i = 0; i < l->n_tensors; i++) l->num_parameters += l->sizes[i];
    l->params = calloc(l->num_parameters, sizeof(float));
    l->grads = calloc(l->num_parameters, sizeof(float));
    if (!l->params || !l->grads) goto oom;
    size_t off = 0;
    for (int ly = 0; ly < L; ly++)
        for (int t = 0; t < LORA_NT; t++)
            if (targets & (1u << t)) {
                size_t k = (size_t)ly * LORA_NT + t;
                l->A[k] = l->params + off; l->dA[k] = l->grads + off; off += (size_t)rank * in[t];
                l->B[k] = l->params + off; l->dB[k] = l->grads + off; off += (size_t)out[t] * rank;
            }
    return l;
oom:
    snprintf(err, errlen, "out of memory for LoRA adapters of rank %d", rank);
    lora_free(l);
    return NULL;
}

void lora_free(Lora *l) {
    if (!l) return;
    free(l->params); free(l->grads); free(l->A); free(l->B); free(l->dA); free(l->dB); free(l->sizes);
    free(l->u); free(l->du); free(l->u_kv); free(l->merged);
    free(l);
}

void lora_init_random(Lora *l, uint64_t seed) {
    uint64_t s = seed;
    for (int ly = 0; ly < l->n_layers; ly++)
        for (int t = 0; t < LORA_NT; t++) {
            size_t k = (size_t)ly * LORA_NT + t;
            if (!l->A[k]) continue;
            // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in)
            float bound = 1.0f / sqrtf((float)l->in[t]);
            for (size_t i = 0; i < (size_t)l->rank * l->in[t]; i++) l->A[k][i] = bound * (2.0f * rng_float(&s) - 1.0f);
            memset(l->B[k], 0, (size_t)l->out[t] * l->rank * sizeof(float));
        }
}

int lora_reserve(Lora *l, size_t rows, size_t kv_rows) {
    size_t R = l->rank;
    if (rows > l->u_rows) {
        float *u = malloc((size_t)l->n_layers * LORA_NT * rows * R * sizeof(float)), *du = malloc(rows * R * sizeof(float));
        if (!u || !du) { free(u); free(du); return -1; }
        free(l->u); free(l->du);
        l->u = u; l->du = du; l->u_rows = rows;
    }
    if (kv_rows > l->kv_rows) {
        float *u = malloc((size_t)LORA_NT * kv_rows * R * sizeof(float));
        if (!u) return -1;
        free(l->u_kv);
        l->u_kv = u; l->kv_rows = kv_rows;
    }
    return 0;
}

void lora_tensor_at(const Lora *l, int i, int *layer, int *target) {
    int per = l->n_tensors / (2 * l->n_layers), j = (i / 2) % per, t = 0;
    *layer = i / (2 * per);
    for (int k = 0; k < LORA_NT; k++)
        if (l->targets & (1u << k)) { if (j-- == 0) { t = k; break; } }
    *target = t;
}

void lora_tensor_name(const Lora *l, int i, char *buf, size_t cap) {
    int ly, t;
    lora_tensor_at(l, i, &ly, &t);
    snprintf(buf, cap, "base_model.model.model.layers.%d.%s.lora_%c.weight", ly, lora_module_names[t], i % 2 ? 'B' : 'A');
}

// ---------------------------------------------------------------------------------------------
// on a model

int model_attach_lora(Model *m, Lora *l, char *err, size_t errlen) {
    const Config *c = &m->config;
    char e2[200];
    Lora *fit = lora_create(c, l->rank, l->alpha, l->targets, e2, sizeof e2);   // the shapes m implies
    int ok = fit && fit->n_layers == l->n_layers && !memcmp(fit->in, l->in, sizeof l->in) &&
             !memcmp(fit->out, l->out, sizeof l->out);
    lora_free(fit);
    if (!ok) {
        snprintf(err, errlen, "the adapters (%d layers, rank %d) do not fit the model (%d layers, dim %d, hidden %d)",
                 l->n_layers, l->rank, c->n_layers, c->dim, c->hidden_dim);
        return -1;
    }
    for (int ly = 0; ly < c->n_layers; ly++)
        for (int t = 0; t < LORA_NT; t++)
            if ((l->targets & (1u << t)) && dtype_is_quant(layer_mat(&m->w.layers[ly], t)->dtype)) {
                snprintf(err, errlen, "LoRA needs f32, bf16 or f16 base weights, not %s",
                         dtype_name(layer_mat(&m->w.layers[ly], t)->dtype));
                return -1;
            }
    m->lora = l;
    return 0;
}

int lora_merge(Model *m, Lora *l, char *err, size_t errlen) {
    size_t total = 0, R = l->rank;
    for (int ly = 0; ly < l->n_layers; ly++)
        for (int t = 0; t < LORA_NT; t++)
            if (l->A[(size_t)ly * LORA_NT + t]) total += (size_t)l->out[t] * l->in[t];
    free(l->merged);
    l->merged = malloc(total * sizeof(float));
    if (!l->merged) { snprintf(err, errlen, "out of memory merging the adapters (%zu floats)", total); return -1; }
    float *dst = l->merged;
    for (int ly = 0; ly < l->n_layers; ly++)
        for (int t = 0; t < LORA_NT; t++) {
            size_t k = (size_t)ly * LORA_NT + t, K = l->in[t], N = l->out[t];
            if (!l->A[k]) continue;
            Mat *w = layer_mat(&m->w.layers[ly], t);
            for (size_t n = 0; n < N; n++) dequantize_row(w->dtype, (const char *)w->data + dtype_bytes(w->dtype, n * K), dst + n * K, (int)K);
            // W (N,K) += s · B (N,R) · A (R,K)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)K, (int)R, l->scale, l->B[k], (int)R,
                        l->A[k], (int)K, 1.0f, dst, (int)K);
            *w = (Mat){dst, DTYPE_F32};
            dst += N * K;
        }
    m->lora = NULL;
    return 0;
}
