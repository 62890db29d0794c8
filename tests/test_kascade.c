// tests/test_kascade.c — Kascade sparse attention (model/kascade.h) in the KV-cached forward:
// with top_k covering every tile it equals dense attention; a reuse layer attends exactly to the
// tiles its anchor picked (checked against a double-precision softmax over those keys), and the
// anchor picks the top_k tiles of its own probabilities; the schedule's JSON round-trips and
// malformed schedules are refused with a message. On a random GQA model (several prefill
// chunks) and on the fixture models in tests/fixtures.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "infer/calibrate.h"
#include "infer/load.h"
#include "model/kascade.h"
#include "model/model.h"
#include "tests/test.h"
#include "util/rng.h"

// logits of a prefill of tokens[0..n) (last position) followed by `steps` decode steps feeding
// tokens[n..n+steps), (1+steps, V) into out
static int run_logits(Model *m, const int *tokens, int n, int steps, float *out) {
    int V = m->config.vocab_size;
    float *lg = model_forward_kv(m, tokens, n, 0, 0);
    if (!lg) return -1;
    memcpy(out, lg, V * sizeof(float));
    for (int s = 0; s < steps; s++) {
        if (!(lg = model_forward_kv(m, tokens + n + s, 1, n + s, 0))) return -1;
        memcpy(out + (size_t)(s + 1) * V, lg, V * sizeof(float));
    }
    return 0;
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - b[i]));
    return e;
}

static int cmp_desc(const void *x, const void *y, void *ctx) {
    const double *mass = ctx;
    int a = *(const int *)x, b = *(const int *)y;
    return mass[a] < mass[b] ? 1 : mass[a] > mass[b] ? -1 : 0;
}

// After a forward of T queries ending at Tk keys, where the last layer reuses layer L-2 (an
// anchor, so kv_acts.att still holds its probabilities and kv_acts.qr, atty the last layer's
// query and output): checks the anchor's kept sets against top_k of its probabilities' tile
// masses, and the last layer's output against a double softmax over exactly the kept keys.
// Returns how far the output is from dense attention (so a caller can see it is not dense).
static double check_reuse(Model *m, Kascade *k, int T, int Tk, const char *what) {
    const Config *c = &m->config;
    int L = c->n_layers, NH = c->n_heads, HD = c->head_dim, QD = NH * HD, group = NH / c->n_kv_heads;
    int KVD = c->n_kv_heads * HD, tile = k->tile, pos0 = Tk - T, l = L - 1, src = L - 2;
    const float *att = m->kv_acts.att, *q = m->kv_acts.qr, *out = m->kv_acts.atty;
    const float *kc = m->key_cache + (size_t)l * m->kv_max_len * KVD, *vc = m->value_cache + (size_t)l * m->kv_max_len * KVD;
    int sel_bad = 0, nsets = 0;
    double out_err = 0, dense_diff = 0;
    double *mass = malloc((size_t)(Tk / tile + 2) * sizeof(double)), *s = malloc((size_t)Tk * sizeof(double));
    int *order = malloc((size_t)(Tk / tile + 2) * sizeof(int));
    char *inset = malloc((size_t)Tk / tile + 2);
    size_t stride = (size_t)k->max_blocks * k->max_keep;
    for (int b = 0; b < k->n_blocks; b++) {
        int ot = pos0 / tile + b;
        int t0 = ot * tile - pos0 > 0 ? ot * tile - pos0 : 0, t1 = (ot + 1) * tile - pos0 < T ? (ot + 1) * tile - pos0 : T;
        for (int a = 0; a < NH; a++) {   // the anchor's kept set: tile 0, own tile, top_k by mass
            for (int i = 0; i <= ot; i++) mass[i] = 0;
            for (int t = t0; t < t1; t++)
                for (int j = 0; j < Tk; j++) mass[j / tile] += att[((size_t)a * T + t) * Tk + j];
            int n = 0;
            for (int i = 1; i < ot; i++) order[n++] = i;
            qsort_r(order, n, sizeof(int), cmp_desc, mass);
            memset(inset, 0, ot + 1);
            inset[0] = inset[ot] = 1;
            for (int i = 0; i < n && i < k->top_k; i++) inset[order[i]] = 1;
            size_t set = (size_t)src * NH + a;
            const int *keep = k->keep + set * stride + (size_t)b * k->max_keep;
            int nk = k->n_keep[set * k->max_blocks + b], want = 0;
            for (int i = 0; i <= ot; i++) want += inset[i];
            sel_bad += nk != want;
            for (int i = 0; i < nk; i++) sel_bad += keep[i] < 0 || keep[i] > ot || !inset[keep[i]] || (i && keep[i] <= keep[i - 1]);
            nsets++;
        }
        for (int h = 0; h < NH; h++) {   // reuse head h over its anchor head's kept keys, in double
            size_t set = (size_t)src * NH + k->head_map[l * NH + h];
            const int *keep = k->keep + set * stride + (size_t)b * k->max_keep;
            int nk = k->n_keep[set * k->max_blocks + b], g = h / group;
            memset(inset, 0, ot + 1);
            for (int i = 0; i < nk; i++) inset[keep[i]] = 1;
            for (int t = t0; t < t1; t++) {
                const float *qh = q + (size_t)t * QD + (size_t)h * HD;
                for (int dense = 0; dense < 2; dense++) {
                    double mx = -INFINITY, sum = 0;
                    for (int j = 0; j <= pos0 + t; j++) {
                        s[j] = -INFINITY;
                        if (!dense && !inset[j / tile]) continue;
                        double d = 0;
                        for (int e = 0; e < HD; e++) d += (double)qh[e] * kc[(size_t)j * KVD + g * HD + e];
                        s[j] = d / sqrt((double)HD);
                        mx = fmax(mx, s[j]);
                    }
                    for (int j = 0; j <= pos0 + t; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
                    for (int e = 0; e < HD; e++) {
                        double o = 0;
                        for (int j = 0; j <= pos0 + t; j++) o += s[j] / sum * vc[(size_t)j * KVD + g * HD + e];
                        double err = fabs(o - out[(size_t)t * QD + (size_t)h * HD + e]);
                        if (dense) dense_diff = fmax(dense_diff, err);
                        else out_err = fmax(out_err, err);
                    }
                }
            }
        }
    }
    CHECK(sel_bad == 0 && nsets > 0, "%s: anchor layer %d keeps tile 0, the own tile and the top %d tiles of its "
          "softmax mass (%d sets, %d wrong)", what, src, k->top_k, nsets, sel_bad);
    CHECK(out_err < 1e-5, "%s: reuse layer %d = softmax over exactly its anchor's kept keys: max err %.2e (tol 1e-5)",
          what, l, out_err);
    free(mass); free(s); free(order); free(inset);
    return dense_diff;
}

// the three checks on one model: dense equality with all tiles, reuse after prefill and after a
// decode step
static void run_case(Model *m, int n, int steps, const int *tokens, const int *source, const char *what) {
    const Config *c = &m->config;
    int V = c->vocab_size, L = c->n_layers, NH = c->n_heads;
    char err[256];
    float *dense = malloc((size_t)(steps + 1) * V * sizeof(float)), *sparse = malloc((size_t)(steps + 1) * V * sizeof(float));
    int rc = run_logits(m, tokens, n, steps, dense);
    Kascade *k = kascade_create(L, NH);
    for (int l = 0; l < L; l++) {
        k->source[l] = source[l];
        for (int h = 0; h < NH; h++) k->head_map[l * NH + h] = source[l] == l ? h : (h * 3 + 1) % NH;
    }
    // top_k covering every tile: reuse layers see every key, so Kascade is dense attention; tile 40
    // runs a block's queries in three groups of the score kernel's width, the last one padded
    for (int tl = 16; tl <= 40; tl += 24) {
        k->tile = tl; k->top_k = 1000;
        rc |= kascade_prepare(k, m->kv_max_len, m->kv_chunk, c->head_dim, err, sizeof err);
        m->kascade = k;
        rc |= run_logits(m, tokens, n, steps, sparse);
        double e = max_abs_diff(dense, sparse, (size_t)(steps + 1) * V);
        CHECK(rc == 0 && e < 1e-5 && kascade_sparsity(k) == 0.0, "%s: top_k = every tile of %d equals dense attention, "
              "prefill %d + %d decode steps: max logit err %.2e (tol 1e-5), sparsity %.1f%%", what, tl, n, steps, e,
              kascade_sparsity(k));
    }
    // top_k 2 of tiles of 8: the last layer must attend to exactly its anchor's tiles
    k->tile = 8; k->top_k = 2;
    rc = kascade_prepare(k, m->kv_max_len, m->kv_chunk, c->head_dim, err, sizeof err);
    int T = n < m->kv_chunk ? n : m->kv_chunk;
    rc |= !model_forward_kv(m, tokens, T, 0, 0);
    CHECK(rc == 0 && kascade_sparsity(k) > 30, "%s: top_k 2 of tiles of 8 over %d keys skips tiles: sparsity %.1f%%",
          what, T, kascade_sparsity(k));
    double dd = check_reuse(m, k, T, T, what);
    rc = !model_forward_kv(m, tokens + T, 1, T, 0);
    double dd1 = check_reuse(m, k, 1, T + 1, what);
    CHECK(rc == 0 && dd > 1e-3 && dd1 > 1e-3, "%s: and that differs from dense attention (max %.2e, decode %.2e: > 1e-3)",
          what, dd, dd1);
    m->kascade = NULL;
    kascade_free(k);
    free(dense); free(sparse);
}

// a random model of width C, L layers of NH heads (NKV KV heads, head_dim HD), vocabulary V,
// context T (hidden width 2C)
static Model *random_model(int C, int L, int NH, int NKV, int HD, int V, int T, uint64_t seed) {
    char err[256];
    Config c = {0};
    c.dim = C; c.n_layers = L; c.n_heads = NH; c.n_kv_heads = NKV; c.head_dim = HD; c.hidden_dim = 2 * C;
    c.vocab_size = V; c.max_seq_len = T; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f;
    Model *m = model_create(&c, 1, err, sizeof err);
    model_init_random(m, seed);
    return m;
}

static void test_random(void) {
    Model *m = random_model(64, 4, 4, 2, 16, 97, 320, 7);
    const Config c = m->config;
    // sharper attention than N(0, 0.02) weights give, so tiles differ in mass
    for (size_t i = 0; i < m->param_sizes[2]; i++) m->params.wq[i] *= 30;
    model_kv_alloc(m, c.max_seq_len);
    int tokens[320];
    uint64_t s = 11;
    for (int i = 0; i < 320; i++) tokens[i] = (int)(rng_next(&s) % c.vocab_size);
    int source[4] = {0, 0, 2, 2};
    run_case(m, 300, 6, tokens, source, "random GQA 4 layers, 2 prefill chunks");
    model_free(m);
}

static void test_fixture(const char *dir) {
    LoadedModel lm;
    char err[512], what[256];
    if (load_model(&lm, dir, 128, err, sizeof err) != 0) { CHECK(0, "load %s: %s", dir, err); return; }
    Model *m = lm.m;
    model_kv_alloc(m, 128);
    int tokens[128], source[2] = {0, 0};
    uint64_t s = 5;
    for (int i = 0; i < 128; i++) tokens[i] = (int)(rng_next(&s) % m->config.vocab_size);
    snprintf(what, sizeof what, "%s", dir);
    run_case(m, 120, 4, tokens, source, what);
    unload_model(&lm);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_json(void) {
    char err[256], path[] = "/tmp/test_kascade.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { CHECK(0, "mkstemp"); return; }
    close(fd);
    Kascade *k = kascade_create(3, 2);
    k->tile = 32; k->top_k = 5; k->source[1] = 0; k->source[2] = 0;
    k->head_map[2] = 1; k->head_map[3] = 1; k->head_map[4] = 1; k->head_map[5] = 0;
    int rc = kascade_save(k, path, err, sizeof err);
    Kascade *r = kascade_load(path, 3, 2, err, sizeof err);
    int same = rc == 0 && r && r->tile == 32 && r->top_k == 5 && !memcmp(r->source, k->source, 3 * sizeof(int)) &&
               !memcmp(r->head_map, k->head_map, 6 * sizeof(int));
    CHECK(same, "schedule JSON round-trips (tile, top_k, sources, head maps)");
    kascade_free(r);
    kascade_free(k);
    struct { const char *json, *msg; } bad[] = {
        {"{\"tile\": 16, \"top_k\": 8, \"layers\": [{\"source\": 0, \"heads\": [0, 1]}, {\"source\": 1, \"heads\": [0, 1]},"
         " {\"source\": 2, \"heads\": [0, 1]}]", "malformed JSON"},
        {"{\"tile\": 16, \"top_k\": 8, \"layers\": [{\"source\": 0, \"heads\": [0, 1]}]}", "different count"},
        {"{\"tile\": 16, \"top_k\": 8, \"layers\": [{\"source\": 0, \"heads\": [0, 1]}, {\"source\": 2, \"heads\": [0, 1]},"
         " {\"source\": 2, \"heads\": [0, 1]}]}", "layer 1: source 2 is not an anchor"},
        {"{\"tile\": 16, \"top_k\": 8, \"layers\": [{\"source\": 0, \"heads\": [0, 1]}, {\"source\": 0, \"heads\": [0, 1]},"
         " {\"source\": 1, \"heads\": [0, 1]}]}", "layer 2: source 1 is not an anchor"},
        {"{\"tile\": 16, \"top_k\": 8, \"layers\": [{\"source\": 0, \"heads\": [0, 2]}, {\"source\": 0, \"heads\": [0, 1]},"
         " {\"source\": 0, \"heads\": [0, 1]}]}", "layer 0 head 1 maps to head -1"},
        {"{\"tile\": 0, \"top_k\": 8, \"layers\": [{\"source\": 0, \"heads\": [0, 1]}, {\"source\": 0, \"heads\": [0, 1]},"
         " {\"source\": 0, \"heads\": [0, 1]}]}", "tile 0"},
        {"{\"tile\": 16, \"layers\": []}", "needs numbers"},
        {"{\"tile\": 16, \"top_k\": 8, \"layers\": [{\"source\": 0}, {\"source\": 0}, {\"source\": 0}]}", "each layer needs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i].json);
        err[0] = 0;
        Kascade *b = kascade_load(path, 3, 2, err, sizeof err);
        CHECK(!b && strstr(err, bad[i].msg) && strstr(err, path), "malformed schedule %zu refused: \"%s\"", i, err);
        kascade_free(b);
    }
    remove(path);
}

// Calibration on a constructed model: 6 layers whose attention output and MLP add nothing (wo,
// w2 zero), so every layer sees the embeddings; layers 0-2 share one wq/wk, layers 3-5 another,
// and layer 1 has heads 0 and 1 swapped. The obvious schedule: anchors 0 and 3, layers 1, 2
// reuse 0 and 4, 5 reuse 3, layer 1's heads 0 and 1 read anchor heads 1 and 0.
static void test_calibrate(void) {
    char err[256];
    Model *m = random_model(32, 6, 4, 4, 8, 50, 128, 3);
    const Config c = m->config;
    size_t QC = (size_t)c.n_heads * c.head_dim * c.dim, HDC = (size_t)c.head_dim * c.dim;
    ParameterTensors *p = &m->params;
    // sharp attention (scores of std ~10), so the two groups pick different tiles
    for (size_t i = 0; i < QC; i++) { p->wq[i] *= 20; p->wk[i] *= 20; p->wq[3 * QC + i] *= 20; p->wk[3 * QC + i] *= 20; }
    for (int l = 1; l < 6; l++) {
        if (l == 3) continue;
        int base = l < 3 ? 0 : 3;
        memcpy(p->wq + l * QC, p->wq + base * QC, QC * sizeof(float));
        memcpy(p->wk + l * QC, p->wk + base * QC, QC * sizeof(float));
    }
    float *tmp = malloc(HDC * sizeof(float));   // layer 1: heads 0 and 1 swapped in wq and wk
    float *w[2] = {p->wq + QC, p->wk + QC};
    for (int x = 0; x < 2; x++) {
        memcpy(tmp, w[x], HDC * sizeof(float));
        memcpy(w[x], w[x] + HDC, HDC * sizeof(float));
        memcpy(w[x] + HDC, tmp, HDC * sizeof(float));
    }
    free(tmp);
    memset(p->wo, 0, m->param_sizes[5] * sizeof(float));
    memset(p->w2, 0, m->param_sizes[9] * sizeof(float));
    model_kv_alloc(m, 128);
    int tokens[256];
    uint64_t s = 21;
    for (int i = 0; i < 256; i++) tokens[i] = (int)(rng_next(&s) % c.vocab_size);
    CalibrateConfig cfg = { .tile = 8, .top_k = 3, .max_reuse = 4, .max_chunks = 8, .threshold = 0.1 };
    long blocks = 0;
    Kascade *k = kascade_calibrate(m, tokens, 256, 128, &cfg, &blocks, err, sizeof err);
    int want_src[6] = {0, 0, 0, 3, 3, 3}, ok = k != NULL;
    char got[128] = "";
    for (int l = 0; k && l < 6; l++) {
        ok &= k->source[l] == want_src[l];
        for (int h = 0; h < 4; h++) ok &= k->head_map[l * 4 + h] == (l == 1 && h < 2 ? 1 - h : h);
        snprintf(got + strlen(got), sizeof got - strlen(got), "%d%s", k->source[l], l < 5 ? " " : "");
    }
    CHECK(ok && blocks > 0, "calibration on 2 groups of identical layers (%ld blocks): sources %s (want 0 0 0 3 3 3), "
          "layer 1's swapped heads mapped 0->1, 1->0 (%s)", blocks, got, k ? "" : err);
    // reuse at most 1 layer back: 4 anchors, 3 among them, every reuse 1 below its anchor
    cfg.max_reuse = 1;
    kascade_free(k);
    k = kascade_calibrate(m, tokens, 256, 128, &cfg, &blocks, err, sizeof err);
    int anchors = 0;
    ok = k && k->source[3] == 3;
    for (int l = 0; k && l < 6; l++) { anchors += k->source[l] == l; ok &= l - k->source[l] <= 1; }
    CHECK(ok && anchors == 4, "--max-reuse 1: %d anchors (want 4), 3 an anchor, no reuse more than 1 back", anchors);
    kascade_free(k);
    k = kascade_calibrate(m, tokens, 64, 128, &cfg, &blocks, err, sizeof err);
    CHECK(!k && strstr(err, "needs at least"), "a text shorter than --ctx refused: \"%s\"", err);
    cfg.top_k = 20;
    k = kascade_calibrate(m, tokens, 256, 128, &cfg, &blocks, err, sizeof err);
    CHECK(!k && strstr(err, "leaves no tile out"), "--ctx too short for the tiles kept refused: \"%s\"", err);
    model_free(m);
}

int main(void) {
    test_calibrate();
    test_random();
    test_fixture("tests/fixtures/hf_llama2_fp32");
    test_fixture("tests/fixtures/hf_llama3_tiny");
    test_json();
    test_summary();
}
