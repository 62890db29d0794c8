// tests/test_model.c — the whole model:
//  1. model_backward against finite differences of model_forward's loss, a few entries of every
//     parameter tensor, for GQA + tied head and MHA + untied head, dropout 0 and 0.1 (fixed
//     seed and step, so the mask is fixed and the loss is a smooth function of the parameters);
//  2. model_forward_kv (all at once, token by token, in chunks) against model_forward;
//  3. threads: a medium model (every loop above OMP_MIN_WORK, so it really runs in parallel)
//     gives bitwise the same results twice at the same thread count, and the results of one
//     thread up to float rounding. Not bitwise across thread counts: OpenBLAS's own sgemm
//     rounds differently with 1 and 2 threads (its threads follow OpenMP's count, since it is
//     the OpenMP build); a race in our loops (a lost += ) would be far above the tolerance;
//  4. forward + backward against PyTorch/transformers (tests/fixtures/model_*.fx, written by
//     tools/make_model_fixtures.py): logits, loss, and every parameter's gradient.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include "model/model.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

static Config tiny_config(int n_kv_heads, int tied, float dropout) {
    Config c = {
        .dim = 8, .n_layers = 2, .n_heads = 4, .n_kv_heads = n_kv_heads, .head_dim = 4,
        .hidden_dim = 12, .vocab_size = 11, .max_seq_len = 24, .norm_eps = 1e-5f,
        .rope_theta = 10000.0f,
        // llama3 scaling with original_max_pos 64: head_dim 4 has wavelengths 6.3 (kept) and
        // 628 (divided by the factor); test 2 uses head_dim 8, which also has a smoothed one
        .rope_factor = 8.0f, .rope_low_freq_factor = 1.0f, .rope_high_freq_factor = 4.0f,
        .rope_original_max_pos = 64, .tied_embeddings = tied, .dropout = dropout,
    };
    return c;
}

// Parameters of order 1 (not the 0.02 of training init): then every op is in its nonlinear
// regime and gradients are large enough to compare well above float32 round-off.
static Model *tiny_model(const Config *c, uint64_t seed) {
    char err[200];
    Model *m = model_create(c, 1, err, sizeof err);
    if (!m) { printf("FAIL model_create: %s\n", err); exit(1); }
    gc_rng_state = seed;
    gc_fill(m->params_memory, m->num_parameters, 0.5f);
    for (size_t i = 0; i < m->param_sizes[1]; i++) m->params.rms_att[i] += 1.0f;
    for (size_t i = 0; i < m->param_sizes[6]; i++) m->params.rms_ffn[i] += 1.0f;
    for (size_t i = 0; i < m->param_sizes[10]; i++) m->params.rms_final[i] += 1.0f;
    return m;
}

// ---- 1. finite differences of the whole model ----
// Step and tolerance: the loss of the whole network is far more curved than one op, so the
// truncation error O(eps^2) matters: at eps 1e-2 the worst tensor showed 1.2e-3, at 3e-3 3.7e-4,
// at 1e-3 2.0e-3 and at 3e-4 5.1e-3 (round-off of the float32 logits taking over). So eps 3e-3
// and tol 2e-3 (5x the worst measured; a wrong backward gives errors of order 1).
#define MODEL_EPS 3e-3f
#define MODEL_TOL 2e-3
static Model *fd_model;
static int fd_in[2 * 6], fd_tg[2 * 6], fd_B = 2, fd_T = 6;
static double fd_loss(void) {   // the mean loss, summed in double from the per-position losses
    model_forward(fd_model, fd_in, fd_tg, fd_B, fd_T);
    double s = 0; int n = 0;
    for (int i = 0; i < fd_B * fd_T; i++) if (fd_tg[i] >= 0) { s += fd_model->acts.losses[i]; n++; }
    return s / n;
}
static void test_model_fd(int n_kv_heads, int tied, float dropout, float att_dropout) {
    Config c = tiny_config(n_kv_heads, tied, dropout);
    c.att_dropout = att_dropout;
    Model *m = fd_model = tiny_model(&c, 99);
    m->training = 1; m->dropout_seed = 1234; m->dropout_step = 5;
    for (int i = 0; i < fd_B * fd_T; i++) { fd_in[i] = (i * 7 + 3) % c.vocab_size; fd_tg[i] = (i * 5 + 1) % c.vocab_size; }
    fd_tg[3] = -1;   // one position without a target
    fd_loss();
    model_zero_grad(m);
    model_backward(m);
    // a few entries of every tensor: the gradient buffer mirrors the parameter buffer
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        if (!m->param_sizes[t]) continue;
        size_t off = 0;
        for (int u = 0; u < t; u++) off += m->param_sizes[u];
        char what[160];
        snprintf(what, sizeof what, "model_backward %s (NKV %d, %s, dropout %.1f, attention dropout %.1f)",
                 param_tensor_names[t], n_kv_heads, tied ? "tied" : "untied", dropout, att_dropout);
        gc_check(what, m->params_memory + off, m->grads_memory + off, m->param_sizes[t], fd_loss,
                 MODEL_TOL, 12);
    }
    model_free(m);
}

// ---- 2. KV cache vs full forward ----
static void test_kv(void) {
    Config c = tiny_config(2, 1, 0.0f);
    c.head_dim = 8; c.dim = 16; c.max_seq_len = 40;   // HD 8: all three llama3 bands
    Model *m = tiny_model(&c, 7);
    int T = 30, V = c.vocab_size, tok[30];
    for (int i = 0; i < T; i++) tok[i] = (i * 3 + 1) % V;
    model_forward(m, tok, NULL, 1, T);
    const float *ref = model_logits(m);
    double scale = 0;
    for (int i = 0; i < T * V; i++) scale = fmax(scale, fabs(ref[i]));
    if (model_kv_alloc(m, 36)) { CHECK(0, "model_kv_alloc"); return; }
    // (a) the whole sequence at once, all logits
    const float *lg = model_forward_kv(m, tok, T, 0, 1);
    double e1 = 0;
    for (int i = 0; i < T * V; i++) e1 = fmax(e1, fabs(lg[i] - ref[i]));
    CHECK(e1 / scale < 1e-5, "forward_kv prefill T=%d all_logits vs model_forward: max err / max |logit| %.2e (tol 1e-05)", T, e1 / scale);
    // (b) a prefill of 7, then one token at a time; each step's last-position logits
    double e2 = 0;
    lg = model_forward_kv(m, tok, 7, 0, 0);
    for (int i = 0; i < V; i++) e2 = fmax(e2, fabs(lg[i] - ref[6 * V + i]));
    for (int p = 7; p < T; p++) {
        lg = model_forward_kv(m, tok + p, 1, p, 0);
        for (int i = 0; i < V; i++) e2 = fmax(e2, fabs(lg[i] - ref[(size_t)p * V + i]));
    }
    CHECK(e2 / scale < 1e-5, "forward_kv prefill 7 then token by token vs model_forward: max err / max |logit| %.2e (tol 1e-05)", e2 / scale);
    // (c) longer than the activation chunk: runs chunk by chunk internally
    m->kv_chunk = 4;
    lg = model_forward_kv(m, tok, T, 0, 0);
    double e3 = 0;
    for (int i = 0; i < V; i++) e3 = fmax(e3, fabs(lg[i] - ref[(size_t)(T - 1) * V + i]));
    CHECK(e3 / scale < 1e-5, "forward_kv T=%d in chunks of 4 vs model_forward: max err / max |logit| %.2e (tol 1e-05)", T, e3 / scale);
    // (d) inputs it cannot run give NULL, not a crash
    int bad = V;
    CHECK(model_forward_kv(m, tok, 7, 30, 0) == NULL, "forward_kv pos+T > max_len returns NULL");
    CHECK(model_forward_kv(m, &bad, 1, 0, 0) == NULL, "forward_kv token id >= V returns NULL");
    CHECK(model_forward_kv(m, tok, 5, 0, 1) == NULL, "forward_kv all_logits with T > kv_chunk returns NULL");
    CHECK(isnan(model_forward(m, &bad, NULL, 1, 1)) && strstr(model_error(m), "outside the vocabulary"),
          "model_forward token id >= V returns NAN, model_error \"%s\"", model_error(m));
    CHECK(isnan(model_forward(m, tok, NULL, 1, 100000)) && strstr(model_error(m), "max_seq_len"),
          "model_forward T past max_seq_len returns NAN, model_error \"%s\"", model_error(m));
    CHECK(model_backward(m) == -1 && strstr(model_error(m), "needs a forward with targets"),
          "model_backward after a forward without targets: -1, model_error \"%s\"", model_error(m));
    model_free(m);
}

// ---- lifetime: config checks and the random init ----
static void test_create_init(void) {
    char err[200] = "";
    Config c = tiny_config(3, 1, 0.0f);   // 4 heads are not a multiple of 3 KV heads
    Model *m = model_create(&c, 1, err, sizeof err);
    CHECK(!m && strstr(err, "n_kv_heads"), "model_create rejects n_heads %% n_kv_heads != 0: \"%s\"", err);
    c = tiny_config(2, 1, 0.0f); c.head_dim = 5;
    m = model_create(&c, 1, err, sizeof err);
    CHECK(!m && strstr(err, "head_dim"), "model_create rejects an odd head_dim: \"%s\"", err);
    c = tiny_config(2, 1, 1.0f);
    m = model_create(&c, 1, err, sizeof err);
    CHECK(!m && strstr(err, "dropout"), "model_create rejects dropout 1: \"%s\"", err);
    c = tiny_config(2, 1, 0.0f); c.att_dropout = 1.0f;
    m = model_create(&c, 1, err, sizeof err);
    CHECK(!m && strstr(err, "att_dropout"), "model_create rejects att_dropout 1: \"%s\"", err);

    // init: deterministic for a seed, N(0, 0.02) matrices, wo/w2 at 0.02/sqrt(2L), norms 1
    c = tiny_config(2, 0, 0.0f);
    c.dim = 64; c.hidden_dim = 128; c.vocab_size = 256; c.head_dim = 16;
    Model *a = model_create(&c, 1, err, sizeof err), *b = model_create(&c, 1, err, sizeof err);
    model_init_random(a, 5); model_init_random(b, 5);
    CHECK(!memcmp(a->params_memory, b->params_memory, a->num_parameters * sizeof(float)),
          "model_init_random is deterministic for a seed");
    const ParameterTensors *p = &a->params;
    struct { const char *name; const float *x; size_t n; double want; } t[] = {
        { "wq", p->wq, a->param_sizes[2], 0.02 }, { "w1", p->w1, a->param_sizes[7], 0.02 },
        { "lm_head", p->lm_head, a->param_sizes[11], 0.02 },
        { "wo", p->wo, a->param_sizes[5], 0.02 / sqrt(2.0 * c.n_layers) },
        { "w2", p->w2, a->param_sizes[9], 0.02 / sqrt(2.0 * c.n_layers) },
    };
    for (int i = 0; i < 5; i++) {
        double ss = 0, mean = 0;
        for (size_t j = 0; j < t[i].n; j++) { ss += (double)t[i].x[j] * t[i].x[j]; mean += t[i].x[j]; }
        double sd = sqrt(ss / t[i].n);
        mean /= t[i].n;
        // n >= 8192 samples: the std estimate's own error is 1/sqrt(2n) <= 0.8% and the mean's
        // sd/sqrt(n) <= 1.1% of sd, so 5% bounds sit > 4 sigma out
        CHECK(fabs(sd / t[i].want - 1) < 0.05 && fabs(mean) < 0.05 * t[i].want,
              "model_init_random %s: std %.5f (want %.5f +- 5%%), mean %.1e", t[i].name, sd, t[i].want, mean);
    }
    int ones = 1;
    for (size_t j = 0; j < a->param_sizes[1]; j++) ones &= p->rms_att[j] == 1.0f;
    for (size_t j = 0; j < a->param_sizes[10]; j++) ones &= p->rms_final[j] == 1.0f;
    CHECK(ones, "model_init_random sets the RMSNorm weights to 1");
    int tok = 1;
    CHECK(isnan(model_forward(a, &tok, NULL, 1, c.max_seq_len + 1)), "model_forward T > max_seq_len returns NAN");
    model_free(a); model_free(b);
}

// ---- 3. threads vs one thread ----
static double max_rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, scale = 0;
    for (size_t i = 0; i < n; i++) { d = fmax(d, fabs((double)a[i] - b[i])); scale = fmax(scale, fabs(a[i])); }
    return scale > 0 ? d / scale : d;
}
static void test_threads(void) {
    Config c = tiny_config(2, 1, 0.1f);
    c.att_dropout = 0.1f;
    c.dim = 128; c.head_dim = 32; c.hidden_dim = 256; c.vocab_size = 512; c.max_seq_len = 128;
    int B = 2, T = 128, n = B * T;
    int *in = malloc(n * sizeof(int)), *tg = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) { in[i] = (i * 37 + 11) % c.vocab_size; tg[i] = (i * 53 + 5) % c.vocab_size; }
    float loss[3], *logits[3], *grads[3];
    Model *m = tiny_model(&c, 3);
    size_t nl = (size_t)n * c.vocab_size;
    m->training = 1; m->dropout_seed = 9; m->dropout_step = 2;
    int threads = omp_get_max_threads();
    for (int run = 0; run < 3; run++) {          // all threads, one thread, all threads again
        omp_set_num_threads(run == 1 ? 1 : threads);
        loss[run] = model_forward(m, in, tg, B, T);
        model_zero_grad(m);
        model_backward(m);
        logits[run] = malloc(nl * sizeof(float));
        memcpy(logits[run], model_logits(m), nl * sizeof(float));
        grads[run] = malloc(m->num_parameters * sizeof(float));
        memcpy(grads[run], m->grads_memory, m->num_parameters * sizeof(float));
    }
    omp_set_num_threads(threads);
    CHECK(loss[0] == loss[2] && !memcmp(logits[0], logits[2], nl * sizeof(float)) &&
          !memcmp(grads[0], grads[2], m->num_parameters * sizeof(float)),
          "forward+backward (C 128, T 128, dropout 0.1 and 0.1 on attention) twice with %d OpenMP threads: bitwise equal",
          threads);
    double dl = max_rel_diff(logits[0], logits[1], nl);
    double dg = 0;                               // worst tensor, each relative to its own scale
    for (size_t t = 0, off = 0; t < NUM_PARAM_TENSORS; off += m->param_sizes[t++])
        dg = fmax(dg, max_rel_diff(grads[0] + off, grads[1] + off, m->param_sizes[t]));
    double dloss = fabs((double)loss[0] - loss[1]) / fabs(loss[1]);
    // Changing OpenBLAS's thread count alone moves this model's gradients by ~2e-5 and its
    // logits by ~1e-5 (its +-0.5 weights make it badly conditioned); a lost update would be off
    // by O(1).
    CHECK(dl < 1e-4 && dg < 1e-4 && dloss < 1e-6,
          "forward+backward with %d threads vs 1: max rel diff logits %.1e (tol 1e-04), grads "
          "(worst tensor) %.1e (tol 1e-04), "
          "loss %.1e (tol 1e-06)", threads, dl, dg, dloss);
    for (int r = 0; r < 3; r++) { free(logits[r]); free(grads[r]); }
    free(in); free(tg);
    model_free(m);
}

// ---- 4. against PyTorch ----
static double max_abs(const float *a, size_t n) { double s = 0; for (size_t i = 0; i < n; i++) s = fmax(s, fabs(a[i])); return s; }

static void test_fixture(const char *file) {
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", file);
    Fixture f;
    if (fixture_load(&f, path)) { CHECK(0, "%s: fixture missing or unreadable", path); return; }
    FixtureTensor *ci = fixture_get(&f, "config"), *cf = fixture_get(&f, "config_f");
    FixtureTensor *in = fixture_get(&f, "inputs"), *tg = fixture_get(&f, "targets");
    FixtureTensor *lg = fixture_get(&f, "logits"), *ls = fixture_get(&f, "loss");
    if (!ci || !cf || !in || !tg || !lg || !ls || ci->numel < 9 || cf->numel < 6 || in->ndim != 2) {
        CHECK(0, "%s: missing config/inputs/targets/logits/loss", path); fixture_free(&f); return;
    }
    const int *cv = ci->data; const float *cfv = cf->data;
    Config c = {
        .dim = cv[0], .n_layers = cv[1], .n_heads = cv[2], .n_kv_heads = cv[3], .head_dim = cv[4],
        .hidden_dim = cv[5], .vocab_size = cv[6], .max_seq_len = cv[7], .tied_embeddings = cv[8],
        .norm_eps = cfv[0], .rope_theta = cfv[1], .rope_factor = cfv[2],
        .rope_low_freq_factor = cfv[3], .rope_high_freq_factor = cfv[4],
        .rope_original_max_pos = (int)cfv[5], .dropout = 0.0f,
    };
    char err[200];
    Model *m = model_create(&c, 1, err, sizeof err);
    if (!m) { CHECK(0, "%s: model_create: %s", path, err); fixture_free(&f); return; }
    size_t off = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t n = m->param_sizes[t];
        if (n) {
            FixtureTensor *p = fixture_get(&f, param_tensor_names[t]);
            if (!p || p->numel != n) {
                CHECK(0, "%s: parameter %s missing or has %zu elements (want %zu)", path,
                      param_tensor_names[t], p ? p->numel : 0, n);
                model_free(m); fixture_free(&f); return;
            }
            memcpy(m->params_memory + off, p->data, n * sizeof(float));
        }
        off += n;
    }
    int B = in->dims[0], T = in->dims[1], V = c.vocab_size;
    float loss = model_forward(m, in->data, tg->data, B, T);
    const float *ref = lg->data;
    double e = 0;
    for (size_t i = 0; i < (size_t)B * T * V; i++) e = fmax(e, fabs(m->acts.logits[i] - ref[i]));
    double rel = e / max_abs(ref, (size_t)B * T * V);
    CHECK(rel < 1e-5, "%s: logits (B%d T%d V%d) vs PyTorch: max err / max |logit| %.2e (tol 1e-05)", file, B, T, V, rel);
    double lref = ((const float *)ls->data)[0], lrel = fabs(loss - lref) / fabs(lref);
    CHECK(lrel < 1e-5, "%s: loss %.7f vs PyTorch %.7f: rel err %.2e (tol 1e-05)", file, loss, lref, lrel);

    model_zero_grad(m);
    model_backward(m);
    double worst = 0; const char *worst_name = "";
    off = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t n = m->param_sizes[t];
        if (!n) continue;
        char gname[64];
        snprintf(gname, sizeof gname, "grad_%s", param_tensor_names[t]);
        FixtureTensor *g = fixture_get(&f, gname);
        if (!g || g->numel != n) { CHECK(0, "%s: %s missing or wrong size", file, gname); off += n; continue; }
        const float *gr = g->data, *gm = m->grads_memory + off;
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) { num += ((double)gm[i] - gr[i]) * ((double)gm[i] - gr[i]); den += (double)gr[i] * gr[i]; }
        double r = sqrt(num / (den > 0 ? den : 1));
        if (r > worst) { worst = r; worst_name = param_tensor_names[t]; }
        CHECK(r < 1e-4, "%s: %s vs PyTorch: |g - ref| / |ref| %.2e (tol 1e-04)", file, gname, r);
        off += n;
    }
    printf("     %s: worst gradient: %s, rel norm err %.2e\n", file, worst_name, worst);

    // the KV-cache path on the first sequence, against the same PyTorch logits
    if (model_kv_alloc(m, T) == 0 && T <= m->kv_chunk) {
        const float *kl = model_forward_kv(m, in->data, T, 0, 1);
        double ek = 0;
        for (size_t i = 0; i < (size_t)T * V; i++) ek = fmax(ek, fabs(kl[i] - ref[i]));
        double rk = ek / max_abs(ref, (size_t)T * V);
        CHECK(rk < 1e-5, "%s: forward_kv logits of sequence 0 vs PyTorch: max err / max |logit| %.2e (tol 1e-05)", file, rk);
    }
    model_free(m);
    fixture_free(&f);
}

int main(void) {
    gc_eps = MODEL_EPS;
    test_model_fd(2, 1, 0.0f, 0.0f);   // GQA, tied head
    test_model_fd(4, 0, 0.0f, 0.0f);   // MHA, untied head
    test_model_fd(2, 1, 0.1f, 0.0f);   // dropout at a fixed mask
    test_model_fd(4, 0, 0.1f, 0.0f);
    test_model_fd(2, 1, 0.1f, 0.2f);   // and on the attention probabilities
    test_create_init();
    test_kv();
    test_threads();
    test_fixture("model_gqa_tied.fx");
    test_fixture("model_mha_untied.fx");
    return test_summary();
}
