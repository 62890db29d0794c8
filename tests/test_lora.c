// tests/test_lora.c — LoRA (model/lora.h):
//  1. the op pair lora_forward / lora_backward and matmul_backward_frozen against central finite
//     differences (tests/gradcheck.h) and against their plain double twins in model/reference.c;
//     gradient buffers start at 0.5 and the check subtracts it, so a backward that overwrites
//     instead of accumulating fails;
//  2. the whole model with adapters on a bf16 base: d loss / d A and d B against finite
//     differences of model_forward, no base gradient and no f32 copy of the base, B = 0 gives
//     the base's logits exactly, the KV-cached forward gives the training forward's logits, and
//     lora_merge (the export) gives the adapted logits from plain f32 weights.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "model/lora.h"
#include "model/ops.h"
#include "model/reference.h"
#include "tests/gradcheck.h"

#define PRE 0.5f
static float *pre(size_t n) { float *g = malloc(n * sizeof(float)); for (size_t i = 0; i < n; i++) g[i] = PRE; return g; }
static void unpre(float *g, size_t n) { for (size_t i = 0; i < n; i++) g[i] -= PRE; }

static void ref_cmp(const char *what, const float *fast, const float *ref, size_t n, double tol) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)fast[i] - ref[i]));
        if (isnan(fast[i])) err = INFINITY;
        scale = fmax(scale, fabs(ref[i]));
    }
    double rel = err / (scale > 0 ? scale : 1.0);
    CHECK(rel <= tol && scale > 0, "%s vs model/reference.c: max err / max |ref| %.2e (tol %.0e, scale %.2e)",
          what, rel, tol, scale);
}

// ---- 1. the ops ----
// f = sum (base + lora(x)) * R with base a fixed random (M,N): the forward adds into out, so the
// objective starts out from the same base each time
static int LM, LK, LN, LR;
static float *l_x, *l_A, *l_B, *l_base, *l_out, *l_u, *l_R, l_s = 1.75f;
static double l_obj(void) {
    memcpy(l_out, l_base, (size_t)LM * LN * sizeof(float));
    lora_forward(l_out, l_u, l_x, l_A, l_B, l_s, LM, LK, LN, LR);
    return gc_dot(l_out, l_R, (size_t)LM * LN);
}
static void test_lora_op(int M, int K, int N, int R) {
    LM = M; LK = K; LN = N; LR = R;
    size_t nx = (size_t)M * K, na = (size_t)R * K, nb = (size_t)N * R, no = (size_t)M * N;
    l_x = gc_rand(nx, 1); l_A = gc_rand(na, 1); l_B = gc_rand(nb, 1); l_base = gc_rand(no, 1);
    l_out = malloc(no * 4); l_u = malloc((size_t)M * R * 4); l_R = gc_rand(no, 1);
    float *dx = pre(nx), *dA = pre(na), *dB = pre(nb), *du = malloc((size_t)M * R * 4);
    char what[160];
    // forward and backward against the reference (u and the grads from the same inputs)
    float *out_r = malloc(no * 4), *u_r = malloc((size_t)M * R * 4), *du_r = malloc((size_t)M * R * 4);
    float *dx_r = pre(nx), *dA_r = pre(na), *dB_r = pre(nb);
    l_obj();
    memcpy(out_r, l_base, no * 4);
    lora_forward_ref(out_r, u_r, l_x, l_A, l_B, l_s, M, K, N, R);
    snprintf(what, sizeof what, "lora_forward (M%d K%d N%d R%d) out", M, K, N, R); ref_cmp(what, l_out, out_r, no, 1e-6);
    snprintf(what, sizeof what, "lora_forward (M%d K%d N%d R%d) u", M, K, N, R); ref_cmp(what, l_u, u_r, (size_t)M * R, 1e-6);
    lora_backward(dx, dA, dB, du, l_R, l_x, l_u, l_A, l_B, l_s, M, K, N, R);
    lora_backward_ref(dx_r, dA_r, dB_r, du_r, l_R, l_x, u_r, l_A, l_B, l_s, M, K, N, R);
    unpre(dx, nx); unpre(dA, na); unpre(dB, nb); unpre(dx_r, nx); unpre(dA_r, na); unpre(dB_r, nb);
    snprintf(what, sizeof what, "lora_backward (M%d K%d N%d R%d) dinp", M, K, N, R); ref_cmp(what, dx, dx_r, nx, 1e-5);
    snprintf(what, sizeof what, "lora_backward (M%d K%d N%d R%d) dA", M, K, N, R); ref_cmp(what, dA, dA_r, na, 1e-5);
    snprintf(what, sizeof what, "lora_backward (M%d K%d N%d R%d) dB", M, K, N, R); ref_cmp(what, dB, dB_r, nb, 1e-5);
    // and against finite differences of the forward
    snprintf(what, sizeof what, "lora_backward (M%d K%d N%d R%d) dinp, finite differences", M, K, N, R);
    gc_check(what, l_x, dx, nx, l_obj, GC_TOL, 500);
    snprintf(what, sizeof what, "lora_backward (M%d K%d N%d R%d) dA, finite differences", M, K, N, R);
    gc_check(what, l_A, dA, na, l_obj, GC_TOL, 500);
    snprintf(what, sizeof what, "lora_backward (M%d K%d N%d R%d) dB, finite differences", M, K, N, R);
    gc_check(what, l_B, dB, nb, l_obj, GC_TOL, 500);
    free(l_x); free(l_A); free(l_B); free(l_base); free(l_out); free(l_u); free(l_R); free(dx); free(dA); free(dB);
    free(du); free(out_r); free(u_r); free(du_r); free(dx_r); free(dA_r); free(dB_r);
}

// matmul_backward_frozen: dinp of a bf16 / f16 / f32 weight of 2 blocks + 6 rows (the block loop
// and a partial block), against the reference (double sums over the weights as stored) and, for
// bf16, finite differences of matmul_forward on the same bf16 weights
static int FM, FK, FN;
static float *f_x, *f_out, *f_R, *f_scr;
static Mat f_W;
static double f_obj(void) {
    matmul_forward(f_out, f_x, f_W, f_scr, FM, FK, FN);
    return gc_dot(f_out, f_R, (size_t)FM * FN);
}
static void test_frozen_backward(void) {
    FM = 7; FK = 37; FN = 2 * MATMUL_BLOCK_ROWS + 6;
    size_t nx = (size_t)FM * FK, nw = (size_t)FN * FK;
    f_x = gc_rand(nx, 1); f_R = gc_rand((size_t)FM * FN, 1); f_out = malloc((size_t)FM * FN * 4);
    f_scr = malloc(matmul_scratch_floats(FK) * 4);
    float *w = gc_rand(nw, 1);
    uint16_t *wh = malloc(nw * 2);
    const char *names[3] = {"f32", "bf16", "f16"};
    for (int d = 0; d < 3; d++) {
        for (size_t i = 0; i < nw && d > 0; i++) {
            _Float16 h = (_Float16)w[i];
            if (d == 1) wh[i] = f32_to_bf16(w[i]); else memcpy(&wh[i], &h, 2);
        }
        f_W = (Mat){d == 0 ? (const void *)w : (const void *)wh, (DType)d};
        float *dx = pre(nx), *dx_r = pre(nx);
        matmul_backward_frozen(dx, f_R, f_W, f_scr, FM, FK, FN);
        matmul_backward_frozen_ref(dx_r, f_R, f_W, NULL, FM, FK, FN);
        unpre(dx, nx); unpre(dx_r, nx);
        char what[120];
        snprintf(what, sizeof what, "matmul_backward_frozen %s (M%d K%d N%d) dinp", names[d], FM, FK, FN);
        ref_cmp(what, dx, dx_r, nx, 1e-5);
        if (d == 1) gc_check("matmul_backward_frozen bf16 dinp, finite differences", f_x, dx, nx, f_obj, GC_TOL, 500);
        free(dx); free(dx_r);
    }
    free(f_x); free(f_R); free(f_out); free(f_scr); free(w); free(wh);
}

// ---- 2. the model with adapters on a bf16 base ----
static Config tiny_config(void) {
    Config c = {.dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 4, .hidden_dim = 24,
                .vocab_size = 13, .max_seq_len = 24, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = 0};
    return c;
}

// A model whose matrices are bf16 (as an mmapped HF folder's are) and whose norms are f32: no
// f32 parameter buffer at all. The caller frees bf16 and norms.
static Model *bf16_model(const Config *c, uint16_t **bf16, float **norms) {
    char err[200];
    Model *f = model_create(c, 1, err, sizeof err), *m = model_create(c, 0, err, sizeof err);
    gc_rng_state = 4242;
    gc_fill(f->params_memory, f->num_parameters, 0.5f);
    *bf16 = malloc(f->num_parameters * 2);
    *norms = malloc(f->num_parameters * 4);
    for (size_t i = 0; i < f->num_parameters; i++) {
        (*bf16)[i] = f32_to_bf16(f->params_memory[i]);
        (*norms)[i] = 1.0f + 0.2f * f->params_memory[i];
    }
    // f's layout, every matrix pointed at its bf16 copy and every norm at its f32 one
#define TO16(mat) (Mat){*bf16 + ((const float *)(mat).data - f->params_memory), DTYPE_BF16}
#define NORM(p) (*norms + ((p) - f->params_memory))
    m->w.tok_emb = TO16(f->w.tok_emb);
    m->w.lm_head = TO16(f->w.lm_head);
    m->w.rms_final = NORM(f->w.rms_final);
    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *s = &f->w.layers[l];
        LayerWeights *d = &m->w.layers[l];
        *d = (LayerWeights){TO16(s->wq), TO16(s->wk), TO16(s->wv), TO16(s->wo), TO16(s->w1), TO16(s->w2),
                            TO16(s->w3), NORM(s->rms_att), NORM(s->rms_ffn)};
    }
#undef TO16
#undef NORM
    model_free(f);
    return m;
}

static Model *fd_m;
static int fd_in[2 * 7], fd_tg[2 * 7];
static double fd_loss(void) {
    model_forward(fd_m, fd_in, fd_tg, 2, 7);
    double s = 0;
    for (int i = 0; i < 14; i++) s += fd_m->acts.losses[i];
    return s / 14;
}

static void test_model_lora(void) {
    Config c = tiny_config();
    uint16_t *bf16;
    float *norms;
    Model *m = fd_m = bf16_model(&c, &bf16, &norms);
    char err[300];
    unsigned all = (1u << LORA_NT) - 1;
    Lora *lo = lora_create(&c, 3, 6.0f, all, err, sizeof err);
    CHECK(lo != NULL && lo->num_parameters == (size_t)2 * 3 * (16 + 16 + 16 + 8 + 16 + 8 + 16 + 16 + 16 + 24 + 16 + 24 + 24 + 16),
          "lora_create rank 3 on every target of 2 layers: %zu parameters (%s)", lo ? lo->num_parameters : 0, lo ? "" : err);
    for (int i = 0; i < 14; i++) { fd_in[i] = (i * 5 + 2) % c.vocab_size; fd_tg[i] = (i * 3 + 1) % c.vocab_size; }
    // B = 0 (a fresh init): the adapted model is the base, bit for bit
    lora_init_random(lo, 7);
    model_forward(m, fd_in, fd_tg, 2, 7);
    size_t nl = (size_t)14 * c.vocab_size;
    float *base_logits = malloc(nl * 4);
    memcpy(base_logits, m->acts.logits, nl * 4);
    CHECK(model_attach_lora(m, lo, err, sizeof err) == 0, "model_attach_lora on a bf16 base");
    model_forward(m, fd_in, fd_tg, 2, 7);
    CHECK(memcmp(base_logits, m->acts.logits, nl * 4) == 0, "fresh adapters (B = 0): the base's logits bit for bit");
    double amax = 0;
    for (size_t i = 0; i < lo->num_parameters; i++) amax = fmax(amax, fabs(lo->params[i]));
    CHECK(amax > 0.5 / sqrt(24) && amax <= 1 / sqrt(16), "Kaiming-uniform A: max |A| %.3f within 1/sqrt(in) (0.25 for in 16)", amax);
    // non-zero A and B, then d loss / d A, B against finite differences of the whole model
    gc_rng_state = 99;
    gc_fill(lo->params, lo->num_parameters, 0.4f);
    fd_loss();
    model_zero_grad(m);
    CHECK(model_backward(m) == 0 && m->grads_memory == NULL && m->params_memory == NULL,
          "backward with adapters: no base gradient buffer, no f32 base parameters");
    // every tensor: the model's loss is more curved than one op: the step and tolerance of
    // tests/test_model.c (eps 3e-3, tol 2e-3)
    float saved_eps = gc_eps;
    gc_eps = 3e-3f;
    double worst = 0;
    for (int t = 0; t < lo->n_tensors; t++) {
        size_t off = 0;
        for (int u = 0; u < t; u++) off += lo->sizes[u];
        char name[120];
        lora_tensor_name(lo, t, name, sizeof name);
        double e = gc_check(name, lo->params + off, lo->grads + off, lo->sizes[t], fd_loss, 2e-3, 12);
        worst = fmax(worst, e);
    }
    gc_eps = saved_eps;
    printf("     (model with adapters: worst finite-difference error over %d tensors %.2e)\n", lo->n_tensors, worst);
    // the KV-cached forward (inference) against the training forward
    model_forward(m, fd_in, fd_tg, 2, 7);
    memcpy(base_logits, m->acts.logits, nl * 4);   // row 0's 7 positions
    model_kv_alloc(m, 16);
    float *kv = model_forward_kv(m, fd_in, 7, 0, 1);
    double e = 0;
    for (size_t i = 0; i < (size_t)7 * c.vocab_size; i++) e = fmax(e, fabs(kv[i] - base_logits[i]));
    CHECK(e < 1e-5, "adapters in the KV-cached forward: logits of 7 positions vs the training forward, max diff %.1e (tol 1e-5)", e);
    // merge (export): f32 W + s B A in place of the adapted bf16 matrices, no adapters left
    CHECK(lora_merge(m, lo, err, sizeof err) == 0 && m->lora == NULL && m->w.layers[1].w2.dtype == DTYPE_F32 &&
          m->w.layers[1].w2.data != (const void *)bf16, "lora_merge: adapted matrices now f32, adapters detached");
    model_forward(m, fd_in, fd_tg, 2, 7);
    e = 0;
    for (size_t i = 0; i < nl; i++) e = fmax(e, fabs(m->acts.logits[i] - base_logits[i]) / (1 + fabs(base_logits[i])));
    CHECK(e < 1e-5, "merged weights give the adapted logits: max diff %.1e (tol 1e-5)", e);
    free(base_logits);
    model_free(m);
    lora_free(lo);
    free(bf16); free(norms);
}

// bad shapes and names
static void test_lora_bad(void) {
    Config c = tiny_config();
    char err[300];
    unsigned mask;
    CHECK(lora_create(&c, 0, 8, LORA_DEFAULT_TARGETS, err, sizeof err) == NULL && strstr(err, "at least 1"),
          "rank 0 refused: \"%s\"", err);
    CHECK(lora_create(&c, 9, 8, 1u << LORA_K, err, sizeof err) == NULL && strstr(err, "k_proj's 8 output features"),
          "rank 9 on k_proj (8 outputs) refused: \"%s\"", err);
    CHECK(lora_parse_targets("q,v,up", &mask, err, sizeof err) == 0 && mask == ((1u << LORA_Q) | (1u << LORA_V) | (1u << LORA_UP)),
          "targets \"q,v,up\" parsed");
    CHECK(lora_parse_targets("q,,v", &mask, err, sizeof err) == -1 && strstr(err, "unknown target \"\""),
          "targets \"q,,v\" refused: \"%s\"", err);
    CHECK(lora_parse_targets("q,lm_head", &mask, err, sizeof err) == -1 && strstr(err, "\"lm_head\""),
          "targets \"q,lm_head\" refused: \"%s\"", err);
    char buf[64];
    lora_targets_string((1u << LORA_GATE) | (1u << LORA_Q) | (1u << LORA_DOWN), buf, sizeof buf);
    CHECK(!strcmp(buf, "q,gate,down"), "mask written back in table order: \"%s\"", buf);
}

int main(void) {
    test_lora_op(5, 7, 6, 3);
    test_lora_op(33, 70, 41, 8);     // several rows per thread in OpenBLAS's kernels, odd sizes
    test_frozen_backward();
    test_model_lora();
    test_lora_bad();
    return test_summary();
}
