// model/model.c — the Llama model: config checks, parameter and activation layout, the training
// forward pass and its backward pass. The KV-cached inference forward (model/decode.c) runs the
// same layer function, layer_forward, shared through model/model_internal.h.
// The ops it strings together are in model/ops.h; the math is in docs/model.md.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/model.h"
#include "model/model_internal.h"
#include "model/kascade.h"
#include "model/lora.h"
#include "util/rng.h"
#include "model/ops.h"

const char *const prof_names[PROF_OPS] = {"embedding", "rmsnorm", "matmul", "rope", "attention", "swiglu",
                                          "residual", "dropout", "crossentropy", "zeroing", "lora"};
static double prof_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
// PROF(m, prof_fwd, PROF_RMSNORM, rmsnorm_forward(...)): run the call, and when m->profile is
// set add its wall time to m->prof_fwd[PROF_RMSNORM]. Ops run their own OpenMP regions, so
// wall time around the call is the op's whole cost.
#define PROF(m, table, op, call)                                       \
    do {                                                               \
        if (!(m)->profile) { call; break; }                            \
        double prof_t0_ = prof_now();                                  \
        call;                                                          \
        (m)->table[op] += prof_now() - prof_t0_;                       \
    } while (0)
#define FWD(op, call) PROF(m, prof_fwd, op, call)
#define BWD(op, call) PROF(m, prof_bwd, op, call)

const char *const param_tensor_names[NUM_PARAM_TENSORS] = {
    "tok_emb", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w3", "w2", "rms_final", "lm_head",
};

void fill_in_parameter_sizes(size_t *sizes, const Config *c) {
    size_t C = c->dim, L = c->n_layers, H = c->hidden_dim, V = c->vocab_size;
    size_t QD = (size_t)c->n_heads * c->head_dim, KVD = (size_t)c->n_kv_heads * c->head_dim;
    sizes[0] = V * C;                       // tok_emb
    sizes[1] = L * C;                       // rms_att
    sizes[2] = L * QD * C;                  // wq
    sizes[3] = L * KVD * C;                 // wk
    sizes[4] = L * KVD * C;                 // wv
    sizes[5] = L * C * QD;                  // wo
    sizes[6] = L * C;                       // rms_ffn
    sizes[7] = L * H * C;                   // w1
    sizes[8] = L * H * C;                   // w3
    sizes[9] = L * C * H;                   // w2
    sizes[10] = C;                          // rms_final
    sizes[11] = c->tied_embeddings ? 0 : V * C; // lm_head
}

// Point the NUM_PARAM_TENSORS fields of p, in order, into one buffer.
static void point_parameters(ParameterTensors *p, float *mem, const size_t *sizes) {
    float **ptrs[NUM_PARAM_TENSORS] = {
        &p->tok_emb, &p->rms_att, &p->wq, &p->wk, &p->wv, &p->wo, &p->rms_ffn,
        &p->w1, &p->w3, &p->w2, &p->rms_final, &p->lm_head,
    };
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) { *ptrs[i] = sizes[i] ? mem : NULL; mem += sizes[i]; }
}

void fill_in_activation_sizes(size_t *s, const Config *c, int B, int T, int Tk, int Ls) {
    size_t BT = (size_t)B * T, C = c->dim, H = c->hidden_dim, V = c->vocab_size;
    size_t QD = (size_t)c->n_heads * c->head_dim, KVD = (size_t)c->n_kv_heads * c->head_dim;
    s[0] = (Ls + 1) * BT * C;                           // resid
    s[1] = Ls * BT * C;                                 // att_norm
    s[2] = Ls * BT;                                     // att_rstd
    s[3] = Ls * BT * QD;                                // q
    s[4] = Ls * BT * KVD;                               // k
    s[5] = Ls * BT * KVD;                               // v
    s[6] = Ls * BT * QD;                                // qr
    s[7] = Ls * BT * KVD;                               // kr
    s[8] = (size_t)Ls * B * c->n_heads * T * Tk;        // att
    s[9] = Ls * BT * QD;                                // atty
    s[10] = Ls * BT * C;                                // att_out
    s[11] = Ls * BT * C;                                // resid_mid
    s[12] = Ls * BT * C;                                // ffn_norm
    s[13] = Ls * BT;                                    // ffn_rstd
    s[14] = Ls * BT * H;                                // gate
    s[15] = Ls * BT * H;                                // up
    s[16] = Ls * BT * H;                                // hmid
    s[17] = Ls * BT * C;                                // ffn_out
    s[18] = BT * C;                                     // final_norm
    s[19] = BT;                                         // final_rstd
    s[20] = BT * V;                                     // logits
    s[21] = BT;                                         // losses
}

size_t point_activations(ActivationTensors *a, float *mem, const size_t *sizes) {
    float **ptrs[NUM_ACTIVATION_TENSORS] = {
        &a->resid, &a->att_norm, &a->att_rstd, &a->q, &a->k, &a->v, &a->qr, &a->kr, &a->att,
        &a->atty, &a->att_out, &a->resid_mid, &a->ffn_norm, &a->ffn_rstd, &a->gate, &a->up,
        &a->hmid, &a->ffn_out, &a->final_norm, &a->final_rstd, &a->logits, &a->losses,
    };
    size_t total = 0;
    for (int i = 0; i < NUM_ACTIVATION_TENSORS; i++) {
        if (mem) *ptrs[i] = mem + total;
        total += sizes[i];
    }
    return total;
}

// ---------------------------------------------------------------------------------------------
// lifetime

static int check_config(const Config *c, char *err, size_t errlen) {
#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)
    if (c->dim < 1 || c->n_layers < 1 || c->n_heads < 1 || c->n_kv_heads < 1 || c->head_dim < 1 ||
        c->hidden_dim < 1 || c->vocab_size < 1 || c->max_seq_len < 1)
        BAD("config: dim, n_layers, n_heads, n_kv_heads, head_dim, hidden_dim, vocab_size and "
            "max_seq_len must all be positive");
    if (c->n_heads % c->n_kv_heads) BAD("config: n_heads (%d) is not a multiple of n_kv_heads (%d)",
                                        c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2) BAD("config: head_dim (%d) must be even for RoPE", c->head_dim);
    if (!(c->norm_eps > 0)) BAD("config: norm_eps must be > 0");
    if (!(c->rope_theta > 0)) BAD("config: rope_theta must be > 0");
    if (!(c->dropout >= 0 && c->dropout < 1)) BAD("config: dropout must be in [0, 1)");
    if (!(c->att_dropout >= 0 && c->att_dropout < 1)) BAD("config: att_dropout must be in [0, 1)");
    if (c->rope_factor != 0 && !(c->rope_factor > 0 && c->rope_low_freq_factor > 0 &&
                                 c->rope_high_freq_factor > c->rope_low_freq_factor &&
                                 c->rope_original_max_pos > 0))
        BAD("config: llama3 rope scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor, "
            "original_max_position_embeddings > 0");
    return 0;
#undef BAD
}

Model *model_create(const Config *c, int with_params, char *err, size_t errlen) {
    if (check_config(c, err, errlen)) return NULL;
    Model *m = calloc(1, sizeof *m);
    if (!m) { snprintf(err, errlen, "out of memory"); return NULL; }
    m->config = *c;
    fill_in_parameter_sizes(m->param_sizes, c);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) m->num_parameters += m->param_sizes[i];
    int half = c->head_dim / 2;
    int maxK = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    if (c->n_heads * c->head_dim > maxK) maxK = c->n_heads * c->head_dim;
    m->rope_cos = malloc((size_t)c->max_seq_len * half * sizeof(float));
    m->rope_sin = malloc((size_t)c->max_seq_len * half * sizeof(float));
    m->matmul_scratch = malloc(matmul_scratch_floats(maxK) * sizeof(float));
    m->w.layers = calloc(c->n_layers, sizeof(LayerWeights));
    if (with_params) m->params_memory = calloc(m->num_parameters, sizeof(float));
    if (!m->rope_cos || !m->rope_sin || !m->matmul_scratch || !m->w.layers ||
        (with_params && !m->params_memory)) {
        snprintf(err, errlen, "out of memory (%zu parameters)", m->num_parameters);
        model_free(m);
        return NULL;
    }
    rope_tables(m->rope_cos, m->rope_sin, c->max_seq_len, c->head_dim, c->rope_theta,
                c->rope_factor, c->rope_low_freq_factor, c->rope_high_freq_factor,
                c->rope_original_max_pos);
    if (with_params) {
        point_parameters(&m->params, m->params_memory, m->param_sizes);
        model_point_weights(m);
    }
    return m;
}

void model_free(Model *m) {
    if (!m) return;
    free(m->params_memory); free(m->grads_memory);
    free(m->rope_cos); free(m->rope_sin); free(m->matmul_scratch); free(m->quant_memory); free(m->w.layers); free(m->att_scratch);
    free(m->acts_memory); free(m->grad_acts_memory); free(m->inputs); free(m->targets);
    free(m->key_cache); free(m->value_cache); free(m->kv_acts_memory);
    free(m);
}

void model_point_weights(Model *m) {
    const Config *c = &m->config;
    size_t C = c->dim, H = c->hidden_dim;
    size_t QD = (size_t)c->n_heads * c->head_dim, KVD = (size_t)c->n_kv_heads * c->head_dim;
    ParameterTensors *p = &m->params;
    m->w.tok_emb = (Mat){ p->tok_emb, DTYPE_F32 };
    m->w.lm_head = c->tied_embeddings ? m->w.tok_emb : (Mat){ p->lm_head, DTYPE_F32 };
    m->w.rms_final = p->rms_final;
    for (int l = 0; l < c->n_layers; l++) {
        LayerWeights *lw = &m->w.layers[l];
        lw->wq = (Mat){ p->wq + l * QD * C, DTYPE_F32 };
        lw->wk = (Mat){ p->wk + l * KVD * C, DTYPE_F32 };
        lw->wv = (Mat){ p->wv + l * KVD * C, DTYPE_F32 };
        lw->wo = (Mat){ p->wo + l * C * QD, DTYPE_F32 };
        lw->w1 = (Mat){ p->w1 + l * H * C, DTYPE_F32 };
        lw->w3 = (Mat){ p->w3 + l * H * C, DTYPE_F32 };
        lw->w2 = (Mat){ p->w2 + l * C * H, DTYPE_F32 };
        lw->rms_att = p->rms_att + l * C;
        lw->rms_ffn = p->rms_ffn + l * C;
    }
}

// splitmix64 stream (util/rng.h) + Box-Muller: a deterministic N(0,1) source for init.
static void fill_normal(float *x, size_t n, float std, uint64_t *s) {
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((rng_next(s) >> 11) + 1.0) * 0x1.0p-53, u2 = (rng_next(s) >> 11) * 0x1.0p-53;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(std * r * cos(2 * M_PI * u2));
        if (i + 1 < n) x[i + 1] = (float)(std * r * sin(2 * M_PI * u2));
    }
}

void model_init_random(Model *m, uint64_t seed) {
    const Config *c = &m->config;
    ParameterTensors *p = &m->params;
    const size_t *sz = m->param_sizes;
    uint64_t s = seed;
    // residual projections (wo, w2) add into the stream once per layer: scale them down so the
    // stream's variance does not grow with depth (GPT-2's 1/sqrt(2L)).
    float std = 0.02f, std_res = 0.02f / sqrtf(2.0f * c->n_layers);
    fill_normal(p->tok_emb, sz[0], std, &s);
    fill_normal(p->wq, sz[2], std, &s);
    fill_normal(p->wk, sz[3], std, &s);
    fill_normal(p->wv, sz[4], std, &s);
    fill_normal(p->wo, sz[5], std_res, &s);
    fill_normal(p->w1, sz[7], std, &s);
    fill_normal(p->w3, sz[8], std, &s);
    fill_normal(p->w2, sz[9], std_res, &s);
    if (sz[11]) fill_normal(p->lm_head, sz[11], std, &s);
    for (size_t i = 0; i < sz[1]; i++) p->rms_att[i] = 1.0f;
    for (size_t i = 0; i < sz[6]; i++) p->rms_ffn[i] = 1.0f;
    for (size_t i = 0; i < sz[10]; i++) p->rms_final[i] = 1.0f;
    model_point_weights(m);
}

// ---------------------------------------------------------------------------------------------
// one transformer layer, shared by the training forward and the KV-cached forward (model/decode.c)

// Layer li of stacked activations a sized for (B,T,Tk).
LayerActs layer_acts(const ActivationTensors *a, const Config *c, int li, int B, int T, int Tk) {
    size_t BT = (size_t)B * T, C = c->dim, H = c->hidden_dim;
    size_t QD = (size_t)c->n_heads * c->head_dim, KVD = (size_t)c->n_kv_heads * c->head_dim;
    LayerActs la = {
        .x = a->resid + li * BT * C,
        .att_norm = a->att_norm + li * BT * C, .att_rstd = a->att_rstd + li * BT,
        .q = a->q + li * BT * QD, .k = a->k + li * BT * KVD, .v = a->v + li * BT * KVD,
        .qr = a->qr + li * BT * QD, .kr = a->kr + li * BT * KVD,
        .att = a->att + (size_t)li * B * c->n_heads * T * Tk,
        .atty = a->atty + li * BT * QD, .att_out = a->att_out + li * BT * C,
        .resid_mid = a->resid_mid + li * BT * C,
        .ffn_norm = a->ffn_norm + li * BT * C, .ffn_rstd = a->ffn_rstd + li * BT,
        .gate = a->gate + li * BT * H, .up = a->up + li * BT * H, .hmid = a->hmid + li * BT * H,
        .ffn_out = a->ffn_out + li * BT * C,
        .x_out = a->resid + (li + 1) * BT * C,
    };
    la.kall = la.kr;
    la.vall = la.v;
    return la;
}

// LoRA: out += s (inp A^T) B^T after the frozen matmul of target t in layer l, when adapted
static void adapt(Model *m, const LayerActs *a, int l, int t, float *out, const float *inp, int rows) {
    struct Lora *lo = m->lora;
    size_t k = (size_t)l * LORA_NT + t;
    if (!lo || !lo->A[k]) return;
    FWD(PROF_LORA, lora_forward(out, a->lora_u + (size_t)t * rows * lo->rank, inp, lo->A[k], lo->B[k], lo->scale,
                                rows, lo->in[t], lo->out[t], lo->rank));
}

// x_out = x + drop(attention(rmsnorm(x))),  then  x_out += drop(mlp(rmsnorm(x_out)))
// The T tokens sit at positions pos0..pos0+T-1; attention spans Tk keys (see attention.c).
void layer_forward(Model *m, int l, const LayerActs *a, int B, int T, int Tk, int pos0,
                   float p_drop, float p_att) {
    const Config *c = &m->config;
    const LayerWeights *w = &m->w.layers[l];
    int BT = B * T, C = c->dim, H = c->hidden_dim, NH = c->n_heads, NKV = c->n_kv_heads;
    int HD = c->head_dim, QD = NH * HD, KVD = NKV * HD;
    float *scr = m->matmul_scratch;
    uint64_t key_att = dropout_key(m->dropout_seed, m->dropout_step, l, 0);   // the three dropout sites
    uint64_t key_ffn = dropout_key(m->dropout_seed, m->dropout_step, l, 1);
    uint64_t key_prob = dropout_key(m->dropout_seed, m->dropout_step, l, 2);  // attention probabilities
    size_t row0 = (size_t)m->batch_row0;   // masks index the global batch's elements
    // attention block
    FWD(PROF_RMSNORM, rmsnorm_forward(a->att_norm, a->att_rstd, a->x, w->rms_att, BT, C, c->norm_eps));
    if (m->observe_input) m->observe_input(m->observe_ctx, l, 0, a->att_norm, BT, C);
    FWD(PROF_MATMUL, matmul_forward(a->q, a->att_norm, w->wq, scr, BT, C, QD));
    FWD(PROF_MATMUL, matmul_forward(a->k, a->att_norm, w->wk, scr, BT, C, KVD));
    FWD(PROF_MATMUL, matmul_forward(a->v, a->att_norm, w->wv, scr, BT, C, KVD));
    adapt(m, a, l, LORA_Q, a->q, a->att_norm, BT);
    adapt(m, a, l, LORA_K, a->k, a->att_norm, BT);
    adapt(m, a, l, LORA_V, a->v, a->att_norm, BT);
    FWD(PROF_ROPE, rope_forward(a->qr, a->q, m->rope_cos, m->rope_sin, B, T, NH, HD, pos0));
    FWD(PROF_ROPE, rope_forward(a->kr, a->k, m->rope_cos, m->rope_sin, B, T, NKV, HD, pos0));
    if (a->kascade)
        FWD(PROF_ATTENTION, kascade_attention(a->kascade, l, a->atty, a->att, a->qr, a->kall, a->vall, T, Tk, NH,
                                              NKV, HD));
    else
        FWD(PROF_ATTENTION, attention_forward(a->atty, a->att, m->att_scratch, a->qr, a->kall, a->vall, B, T,
                                              Tk, NH, NKV, HD, p_att, key_prob, row0 * NH * T * Tk));
    if (m->observe_input) m->observe_input(m->observe_ctx, l, 1, a->atty, BT, QD);
    FWD(PROF_MATMUL, matmul_forward(a->att_out, a->atty, w->wo, scr, BT, QD, C));
    adapt(m, a, l, LORA_O, a->att_out, a->atty, BT);
    FWD(PROF_DROPOUT, dropout_forward(a->att_out, a->att_out, p_drop, key_att, row0 * T * C, (size_t)BT * C));
    FWD(PROF_RESIDUAL, residual_forward(a->resid_mid, a->x, a->att_out, (size_t)BT * C));
    // MLP block
    FWD(PROF_RMSNORM, rmsnorm_forward(a->ffn_norm, a->ffn_rstd, a->resid_mid, w->rms_ffn, BT, C,
                                      c->norm_eps));
    if (m->observe_input) m->observe_input(m->observe_ctx, l, 2, a->ffn_norm, BT, C);
    FWD(PROF_MATMUL, matmul_forward(a->gate, a->ffn_norm, w->w1, scr, BT, C, H));
    FWD(PROF_MATMUL, matmul_forward(a->up, a->ffn_norm, w->w3, scr, BT, C, H));
    adapt(m, a, l, LORA_GATE, a->gate, a->ffn_norm, BT);
    adapt(m, a, l, LORA_UP, a->up, a->ffn_norm, BT);
    FWD(PROF_SWIGLU, swiglu_forward(a->hmid, a->gate, a->up, (size_t)BT * H));
    if (m->observe_input) m->observe_input(m->observe_ctx, l, 3, a->hmid, BT, H);
    FWD(PROF_MATMUL, matmul_forward(a->ffn_out, a->hmid, w->w2, scr, BT, H, C));
    adapt(m, a, l, LORA_DOWN, a->ffn_out, a->hmid, BT);
    FWD(PROF_DROPOUT, dropout_forward(a->ffn_out, a->ffn_out, p_drop, key_ffn, row0 * T * C, (size_t)BT * C));
    FWD(PROF_RESIDUAL, residual_forward(a->x_out, a->resid_mid, a->ffn_out, (size_t)BT * C));
}

// ---------------------------------------------------------------------------------------------
// training forward / backward

// Make the activation buffers fit (B,T): allocate for the first shape, grow if B or T grows,
// otherwise re-point the tensors into the existing buffers (all sizes grow with B and T).
static int ensure_activations(Model *m, int B, int T) {
    const Config *c = &m->config;
    size_t sizes[NUM_ACTIVATION_TENSORS], gsizes[NUM_ACTIVATION_TENSORS];
    if (B > m->alloc_B || T > m->alloc_T) {
        int nB = B > m->alloc_B ? B : m->alloc_B, nT = T > m->alloc_T ? T : m->alloc_T;
        fill_in_activation_sizes(sizes, c, nB, nT, nT, c->n_layers);
        fill_in_activation_sizes(gsizes, c, nB, nT, nT, 1);
        free(m->acts_memory); free(m->grad_acts_memory); free(m->inputs); free(m->targets);
        m->acts_memory = malloc(point_activations(&m->acts, NULL, sizes) * sizeof(float));
        // calloc: the few gradient buffers no op writes (see model_backward) read as zeros
        m->grad_acts_memory = calloc(point_activations(&m->grad_acts, NULL, gsizes), sizeof(float));
        m->inputs = malloc((size_t)nB * nT * sizeof(int));
        m->targets = malloc((size_t)nB * nT * sizeof(int));
        if (!m->acts_memory || !m->grad_acts_memory || !m->inputs || !m->targets) {
            free(m->acts_memory); free(m->grad_acts_memory); free(m->inputs); free(m->targets);
            m->acts_memory = m->grad_acts_memory = NULL; m->inputs = m->targets = NULL;
            m->alloc_B = m->alloc_T = 0;
            return -1;
        }
        m->alloc_B = nB; m->alloc_T = nT;
    }
    if (m->lora && lora_reserve(m->lora, (size_t)m->alloc_B * m->alloc_T, 0) != 0) return -1;
    fill_in_activation_sizes(sizes, c, B, T, T, c->n_layers);
    fill_in_activation_sizes(gsizes, c, B, T, T, 1);
    point_activations(&m->acts, m->acts_memory, sizes);
    point_activations(&m->grad_acts, m->grad_acts_memory, gsizes);
    return 0;
}

size_t model_activation_bytes(const Model *m, int B, int T) {
    const Config *c = &m->config;
    size_t sizes[NUM_ACTIVATION_TENSORS], gsizes[NUM_ACTIVATION_TENSORS];
    ActivationTensors unused;
    fill_in_activation_sizes(sizes, c, B, T, T, c->n_layers);
    fill_in_activation_sizes(gsizes, c, B, T, T, 1);
    size_t n = point_activations(&unused, NULL, sizes) + point_activations(&unused, NULL, gsizes);
    if (m->lora) n += ((size_t)c->n_layers * LORA_NT + 1) * B * T * m->lora->rank;   // lora_reserve's u and du
    return n * sizeof(float) + 2 * (size_t)B * T * sizeof(int);
}

// Records why a call failed (model_error) and returns NAN, model_forward's failure value.
static float model_fail(Model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static float model_fail(Model *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return NAN;
}

const char *model_error(const Model *m) { return m->err; }

float model_forward(Model *m, const int *inputs, const int *targets, int B, int T) {
    const Config *c = &m->config;
    int V = c->vocab_size, C = c->dim, L = c->n_layers, BT = B * T;
    m->have_targets = 0;
    m->err[0] = '\0';
    if (B < 1 || T < 1 || T > c->max_seq_len)
        return model_fail(m, "model_forward: B %d, T %d: need B >= 1 and 1 <= T <= max_seq_len %d", B, T, c->max_seq_len);
    for (int i = 0; i < BT; i++)
        if (inputs[i] < 0 || inputs[i] >= V || (targets && targets[i] >= V))
            return model_fail(m, "model_forward: token %d (input %d, target %d) outside the vocabulary of %d",
                              i, inputs[i], targets ? targets[i] : -1, V);
    if (ensure_activations(m, B, T))
        return model_fail(m, "model_forward: out of memory for the activations of B %d x T %d", B, T);
    m->act_B = B; m->act_T = T;
    memcpy(m->inputs, inputs, (size_t)BT * sizeof(int));
    float p = m->training ? c->dropout : 0.0f, p_att = m->training ? c->att_dropout : 0.0f;
    m->act_dropout = p;
    m->act_att_dropout = p_att;
    if (p_att > 0 && m->att_scratch_floats < attention_scratch_floats(B, T, T, c->n_heads)) {
        free(m->att_scratch);     // first step (or a larger B, T): not per step
        m->att_scratch_floats = attention_scratch_floats(B, T, T, c->n_heads);
        m->att_scratch = malloc(m->att_scratch_floats * sizeof(float));
        if (!m->att_scratch) {
            m->att_scratch_floats = 0;
            return model_fail(m, "model_forward: out of memory for attention dropout's scratch");
        }
    }
    ActivationTensors *a = &m->acts;

    FWD(PROF_EMBEDDING, embedding_forward(a->resid, inputs, m->w.tok_emb, BT, C));
    for (int l = 0; l < L; l++) {
        LayerActs la = layer_acts(a, c, l, B, T, T);
        if (m->lora) la.lora_u = m->lora->u + (size_t)l * LORA_NT * BT * m->lora->rank;
        layer_forward(m, l, &la, B, T, T, 0, p, p_att);
    }
    const float *x = a->resid + (size_t)L * BT * C;
    FWD(PROF_RMSNORM, rmsnorm_forward(a->final_norm, a->final_rstd, x, m->w.rms_final, BT, C,
                                      c->norm_eps));
    FWD(PROF_MATMUL, matmul_forward(a->logits, a->final_norm, m->w.lm_head, m->matmul_scratch, BT, C, V));
    if (!targets) return -1.0f;

    memcpy(m->targets, targets, (size_t)BT * sizeof(int));
    FWD(PROF_CROSSENTROPY, crossentropy_forward(a->losses, a->logits, targets, BT, V));
    double sum = 0.0;
    int count = 0;
    for (int i = 0; i < BT; i++) if (targets[i] >= 0) { sum += a->losses[i]; count++; }
    m->mean_loss = count ? (float)(sum / count) : 0.0f;
    m->have_targets = 1;
    return m->mean_loss;
}

const float *model_logits(const Model *m) { return m->acts.logits; }

static int ensure_grads(Model *m) {
    if (m->grads_memory) return 0;
    if (!m->params_memory) return -1;
    m->grads_memory = calloc(m->num_parameters, sizeof(float));
    if (!m->grads_memory) return -1;
    point_parameters(&m->grads, m->grads_memory, m->param_sizes);
    return 0;
}

void model_zero_grad(Model *m) {
    if (m->lora) { BWD(PROF_ZEROING, zero_floats(m->lora->grads, m->lora->num_parameters)); return; }
    if (ensure_grads(m)) return;
    BWD(PROF_ZEROING, zero_floats(m->grads_memory, m->num_parameters));
}

// The backward of one linear layer out = inp W^T: dinp += dout W, and dW += dout^T inp unless the
// weights are frozen (dW NULL: a LoRA base, whose W may be bf16); then the adapter of target t
// (model/lora.h), when there is one, adds its share to dinp and trains its A and B.
static void linear_backward(Model *m, const LayerActs *la, int l, int t, float *dinp, float *dW, const float *dout,
                            const float *inp, Mat w, int M, int K, int N) {
    if (dW) BWD(PROF_MATMUL, matmul_backward(dinp, dW, dout, inp, (const float *)w.data, M, K, N));
    else BWD(PROF_MATMUL, matmul_backward_frozen(dinp, dout, w, m->matmul_scratch, M, K, N));
    struct Lora *lo = m->lora;
    size_t k = (size_t)l * LORA_NT + t;
    if (lo && t >= 0 && lo->A[k])
        BWD(PROF_LORA, lora_backward(dinp, lo->dA[k], lo->dB[k], lo->du, dout, inp,
                                     la->lora_u + (size_t)t * M * lo->rank, lo->A[k], lo->B[k], lo->scale,
                                     M, K, N, lo->rank));
}

// Backward through everything model_forward did, in reverse, accumulating into m->grads.
// The gradient activations hold one layer. Every backward op accumulates (+=), so each buffer
// is zeroed first: just before the op that first adds into it, not all at the top of the layer,
// so the zeros are still in cache when that op reads them back (a layer's buffers are 20 MB at
// the tiny preset, beyond what the caches keep from the layer's start to its end: zeroing them
// all up front made the training step 2-4% slower). dresid carries
// d loss / d residual stream down the network: a residual add y = x + f(x) passes dy to x
// unchanged, so each block reads dresid into its branch and then its first op (the RMSNorm)
// adds the branch's contribution back into dresid: residual_backward, done in place.
int model_backward(Model *m) {
    if (!m->have_targets) { model_fail(m, "model_backward: needs a forward with targets first"); return -1; }
    // with adapters the base is frozen: no gradient buffer for it (and maybe no f32 copy of it)
    int frozen = m->lora != NULL;
    if (!frozen && ensure_grads(m)) { model_fail(m, "model_backward: needs f32 parameters and memory for their gradients"); return -1; }
    const Config *c = &m->config;
    int B = m->act_B, T = m->act_T, BT = B * T, C = c->dim, L = c->n_layers, V = c->vocab_size;
    int H = c->hidden_dim, NH = c->n_heads, NKV = c->n_kv_heads, HD = c->head_dim;
    int QD = NH * HD, KVD = NKV * HD;
    float p = m->act_dropout;
    ActivationTensors *a = &m->acts, *g = &m->grad_acts;
    ParameterTensors *G = &m->grads;
    // a base gradient: G->field + offset, or NULL when frozen
#define DW(field, off) (frozen ? NULL : G->field + (off))
    // every backward accumulates, so gradient buffers start at zero: here the residual stream's
    // (dresid, the first B*T*C of g->resid) and the head's (final_norm .. losses); each layer's
    // below, before the layer
    float *dresid = g->resid;
    BWD(PROF_ZEROING, zero_floats(dresid, (size_t)BT * C));
    BWD(PROF_ZEROING, zero_floats(g->final_norm, (size_t)(g->losses + BT - g->final_norm)));

    // d(mean loss)/d(loss_n) = 1/count for the positions that have a target
    int count = 0;
    for (int i = 0; i < BT; i++) count += m->targets[i] >= 0;
    for (int i = 0; i < BT; i++) g->losses[i] = m->targets[i] >= 0 ? 1.0f / count : 0.0f;
    BWD(PROF_CROSSENTROPY, crossentropy_backward(g->logits, g->losses, a->logits, a->losses, m->targets, BT, V));
    // output head; when tied its weight is tok_emb, so its gradient lands in grads.tok_emb
    float *dhead = frozen ? NULL : c->tied_embeddings ? G->tok_emb : G->lm_head;
    linear_backward(m, NULL, 0, -1, g->final_norm, dhead, g->logits, a->final_norm, m->w.lm_head, BT, C, V);
    BWD(PROF_RMSNORM, rmsnorm_backward(dresid, DW(rms_final, 0), g->final_norm, a->resid + (size_t)L * BT * C,
                                       m->w.rms_final, a->final_rstd, BT, C));
    if (m->trace_backward) m->trace_backward(m, L);

    // one layer's gradient buffers, reused by every layer. ZERO(buf, n) clears one just before
    // its first writer. Not zeroed: dl.att (B*NH*T*T, the largest), attention_backward's
    // scratch, which it writes before it reads; and the buffers no op writes: the rstd caches'
    // (rmsnorm_backward folds them in) and resid_mid's (the residual gradient is dresid).
#define ZERO(buf, n) BWD(PROF_ZEROING, zero_floats(buf, n))
    for (int l = L - 1; l >= 0; l--) {
        LayerActs la = layer_acts(a, c, l, B, T, T);
        LayerActs dl = layer_acts(g, c, 0, B, T, T);
        if (m->lora) la.lora_u = m->lora->u + (size_t)l * LORA_NT * BT * m->lora->rank;
        const LayerWeights *w = &m->w.layers[l];
        size_t lC = (size_t)l * C;
        uint64_t key_att = dropout_key(m->dropout_seed, m->dropout_step, l, 0);   // as in layer_forward
        uint64_t key_ffn = dropout_key(m->dropout_seed, m->dropout_step, l, 1);
        uint64_t key_prob = dropout_key(m->dropout_seed, m->dropout_step, l, 2);
        size_t row0 = (size_t)m->batch_row0;
        // MLP block: x_out = resid_mid + drop(w2(swiglu(w1 n, w3 n))),  n = rmsnorm(resid_mid)
        ZERO(dl.ffn_out, (size_t)BT * C);
        BWD(PROF_DROPOUT, dropout_backward(dl.ffn_out, dresid, p, key_ffn, row0 * T * C, (size_t)BT * C));
        ZERO(dl.hmid, (size_t)BT * H);
        linear_backward(m, &la, l, LORA_DOWN, dl.hmid, DW(w2, lC * H), dl.ffn_out, la.hmid, w->w2, BT, H, C);
        ZERO(dl.gate, (size_t)BT * H);
        ZERO(dl.up, (size_t)BT * H);
        BWD(PROF_SWIGLU, swiglu_backward(dl.gate, dl.up, dl.hmid, la.gate, la.up, (size_t)BT * H));
        ZERO(dl.ffn_norm, (size_t)BT * C);     // w1's and w3's dx add up in it
        linear_backward(m, &la, l, LORA_GATE, dl.ffn_norm, DW(w1, lC * H), dl.gate, la.ffn_norm, w->w1, BT, C, H);
        linear_backward(m, &la, l, LORA_UP, dl.ffn_norm, DW(w3, lC * H), dl.up, la.ffn_norm, w->w3, BT, C, H);
        BWD(PROF_RMSNORM, rmsnorm_backward(dresid, DW(rms_ffn, lC), dl.ffn_norm, la.resid_mid,
                                           w->rms_ffn, la.ffn_rstd, BT, C));
        // attention block: resid_mid = x + drop(wo(attn(rope(wq n), rope(wk n), wv n))), n = rmsnorm(x)
        ZERO(dl.att_out, (size_t)BT * C);
        BWD(PROF_DROPOUT, dropout_backward(dl.att_out, dresid, p, key_att, row0 * T * C, (size_t)BT * C));
        ZERO(dl.atty, (size_t)BT * QD);
        linear_backward(m, &la, l, LORA_O, dl.atty, DW(wo, lC * QD), dl.att_out, la.atty, w->wo, BT, QD, C);
        ZERO(dl.qr, (size_t)BT * QD);
        ZERO(dl.kr, (size_t)BT * KVD);
        ZERO(dl.v, (size_t)BT * KVD);
        BWD(PROF_ATTENTION, attention_backward(dl.qr, dl.kr, dl.v, dl.att, m->att_scratch, dl.atty, la.qr,
                                               la.kr, la.v, la.att, B, T, T, NH, NKV, HD,
                                               m->act_att_dropout, key_prob, row0 * NH * T * T));
        ZERO(dl.q, (size_t)BT * QD);
        ZERO(dl.k, (size_t)BT * KVD);
        BWD(PROF_ROPE, rope_backward(dl.q, dl.qr, m->rope_cos, m->rope_sin, B, T, NH, HD, 0));
        BWD(PROF_ROPE, rope_backward(dl.k, dl.kr, m->rope_cos, m->rope_sin, B, T, NKV, HD, 0));
        ZERO(dl.att_norm, (size_t)BT * C);     // wq's, wk's and wv's dx add up in it
        linear_backward(m, &la, l, LORA_Q, dl.att_norm, DW(wq, lC * QD), dl.q, la.att_norm, w->wq, BT, C, QD);
        linear_backward(m, &la, l, LORA_K, dl.att_norm, DW(wk, lC * KVD), dl.k, la.att_norm, w->wk, BT, C, KVD);
        linear_backward(m, &la, l, LORA_V, dl.att_norm, DW(wv, lC * KVD), dl.v, la.att_norm, w->wv, BT, C, KVD);
        BWD(PROF_RMSNORM, rmsnorm_backward(dresid, DW(rms_att, lC), dl.att_norm, la.x,
                                           w->rms_att, la.att_rstd, BT, C));
        if (m->trace_backward) m->trace_backward(m, l);
    }
#undef ZERO
#undef DW
    if (!frozen) BWD(PROF_EMBEDDING, embedding_backward(G->tok_emb, dresid, m->inputs, BT, C));
    if (m->trace_backward) m->trace_backward(m, -1);
    return 0;
}
