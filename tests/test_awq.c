// tests/test_awq.c — activation-aware scales (model/awq.h): folding any scales into a model
// leaves its unrounded function unchanged; the searched scales round with less output error than
// plain rounding, on a single matrix whose inputs have large channels and on a whole model.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer/load.h"
#include "model/awq.h"
#include "model/ops.h"
#include "model/quant.h"
#include "tests/test.h"

#define FIXTURE "tests/fixtures/hf_llama32_bf16"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static float frand(void) { // uniform in [-1, 1)
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / (1 << 23)) - 1.0);
}

static int *random_tokens(int n, int V, uint64_t seed) {
    int *t = malloc(n * sizeof(int));
    uint64_t x = seed;
    for (int i = 0; i < n; i++) t[i] = (int)((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 33) % V;
    return t;
}

// the logits at every position of tokens, one (T, V) array
static float *all_logits(Model *m, const int *tokens, int T) {
    int V = m->config.vocab_size;
    float *out = malloc((size_t)T * V * sizeof(float));
    model_kv_alloc(m, T);
    memcpy(out, model_forward_kv(m, tokens, T, 0, 1), (size_t)T * V * sizeof(float));
    return out;
}

static double max_rel(const float *a, const float *b, size_t n) {
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) { e = fmax(e, fabs(a[i] - b[i])); s = fmax(s, fabs(b[i])); }
    return e / s;
}

// Scales of any size folded in without rounding: wq/wk/wv, w1/w3, wo, w2 times s per input
// channel, the norms, wv's and w3's rows divided. The logits are those of the model as loaded
// to float rounding. Random scales (log-uniform over 1/8..8) test every fold; the O site's are
// drawn per KV channel and shared by the group's heads, as the fold through wv needs.
static void test_fold(void) {
    char err[256];
    LoadedModel a, b;
    if (load_model(&a, FIXTURE, 0, err, sizeof err) || load_model(&b, FIXTURE, 0, err, sizeof err)) {
        CHECK(0, "load %s: %s", FIXTURE, err);
        return;
    }
    const Config *c = &a.m->config;
    AwqScales s;
    CHECK(awq_alloc(&s, c) == 0, "awq_alloc");
    int HD = c->head_dim, G = c->n_heads / c->n_kv_heads;
    for (int site = 0; site < AWQ_SITES; site++)
        for (size_t i = 0; i < (size_t)c->n_layers * s.width[site]; i++) s.scale[site][i] = exp2f(3 * frand());
    for (int l = 0; l < c->n_layers; l++)
        for (int h = 0; h < c->n_heads; h++)
            for (int d = 0; d < HD; d++) {
                float *o = s.scale[AWQ_O] + (size_t)l * s.width[AWQ_O];
                o[h * HD + d] = o[(h / G * G) * HD + d];
            }
    int frc = model_quantize_scaled(b.m, DTYPE_F32, -1, &s, err, sizeof err);
    CHECK(frc == 0, "fold random scales: %s", frc ? err : "ok");
    int T = 40, *tok = random_tokens(T, c->vocab_size, 7);
    float *la = all_logits(a.m, tok, T), *lb = all_logits(b.m, tok, T);
    double e = max_rel(lb, la, (size_t)T * c->vocab_size);
    CHECK(e < 1e-5, "random scales (1/8..8) folded, unrounded: logits at %d positions, max err %.2e of max |logit| "
          "(tol 1e-5)", T, e);
    // and the scales differ from 1: the folded weights are not the loaded ones
    float w0 = mat_get(b.m->w.layers[0].wq, 0), w1 = mat_get(a.m->w.layers[0].wq, 0);
    CHECK(w0 != w1 && b.m->w.layers[0].rms_att[0] != a.m->w.layers[0].rms_att[0],
          "the folded model's wq and RMSNorm weights changed (wq[0][0] %.4f -> %.4f)", w1, w0);
    awq_free(&s);
    free(la); free(lb); free(tok);
    unload_model(&a);
    unload_model(&b);
}

// One matrix, inputs with a few large channels (what trained models' activations look like):
// the error of Q4_0 with the searched alpha against plain rounding, on rows not searched on.
static void test_matrix(void) {
    enum { K = 256, N = 96, S = 256 };
    Config c = {.dim = K, .n_layers = 1, .n_heads = 4, .n_kv_heads = 4, .head_dim = K / 4, .hidden_dim = K,
                .vocab_size = 32, .max_seq_len = S, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = 1};
    char err[256];
    Model *m = model_create(&c, 1, err, sizeof err);
    if (!m) { CHECK(0, "model_create: %s", err); return; }
    model_init_random(m, 3);
    model_point_weights(m);
    Mat W = m->w.layers[0].w1;
    float *X = malloc(sizeof(float) * 2 * S * K), *Xs = malloc(sizeof(float) * S * K), gain[K];
    for (int k = 0; k < K; k++) gain[k] = k % 37 == 5 ? 20.0f : 1.0f;  // 7 channels 20x the rest
    for (int i = 0; i < 2 * S * K; i++) X[i] = frand() * gain[i % K];
    // the search's own loop, on this matrix: mean |x| of the first S rows, alpha on a grid
    float mean[K], s[K];
    for (int k = 0; k < K; k++) { mean[k] = 0; for (int r = 0; r < S; r++) mean[k] += fabsf(X[r * K + k]) / S; }
    float *yref = malloc(sizeof(float) * S * N), *y = malloc(sizeof(float) * S * N);
    void *qw = malloc(dtype_bytes(DTYPE_Q4_0, N * K)), *qx = malloc(quant_scratch_bytes(S, K));
    double err_of[2][21];
    for (int half = 0; half < 2; half++) {   // 0: the rows searched on, 1: held out
        const float *Xh = X + (size_t)half * S * K;
        matmul_forward(yref, Xh, W, NULL, S, K, N);
        for (int g = 0; g <= 20; g++) {
            float lo = INFINITY, hi = 0;
            for (int k = 0; k < K; k++) { s[k] = fmaxf(powf(mean[k], g / 20.0f), 1e-4f); lo = fminf(lo, s[k]); hi = fmaxf(hi, s[k]); }
            for (int k = 0; k < K; k++) s[k] /= sqrtf(lo * hi);
            for (int i = 0; i < S * K; i++) Xs[i] = Xh[i] / s[i % K];
            quantize_mat_scaled(qw, DTYPE_Q4_0, W, N, K, s, NULL, NULL);
            quant_matmul_forward(y, Xs, (Mat){qw, DTYPE_Q4_0}, qx, S, K, N);
            double e = 0;
            for (int i = 0; i < S * N; i++) e += (double)(y[i] - yref[i]) * (y[i] - yref[i]);
            err_of[half][g] = e;
        }
    }
    int best = 0;
    for (int g = 1; g <= 20; g++) if (err_of[0][g] < err_of[0][best]) best = g;
    CHECK(best > 0 && err_of[1][best] < 0.8 * err_of[1][0],
          "one matrix, 7 of 256 input channels 20x larger: alpha %.2f, held-out output error %.3g vs plain Q4_0 "
          "%.3g (%.0f%%; want < 80%%)", best / 20.0, err_of[1][best], err_of[1][0], 100 * err_of[1][best] / err_of[1][0]);
    free(X); free(Xs); free(yref); free(y); free(qw); free(qx);
    model_free(m);
}

// The whole search on the fixture model: scales folded unrounded still give the loaded model's
// logits; the chosen error never exceeds plain rounding's (alpha = 0 is on the grid); and rounded
// to Q4_0, the model's logits on tokens it was not calibrated on are closer to the unquantized
// ones than plain Q4_0's. The fixture's RMSNorm weights of a few channels are raised 8x first,
// as training makes them (real models' activations have such channels; the fixture's random
// init has none, and without them there is little for the scales to do).
static void test_search(void) {
    char err[256];
    LoadedModel ref, plain, awq, fold;
    LoadedModel *all[4] = {&ref, &plain, &awq, &fold};
    for (int i = 0; i < 4; i++)
        if (load_model(all[i], FIXTURE, 0, err, sizeof err)) { CHECK(0, "load %s: %s", FIXTURE, err); return; }
    const Config *c = &ref.m->config;
    for (int i = 0; i < 4; i++)
        for (int l = 0; l < c->n_layers; l++)
            for (int k = 3; k < c->dim; k += 17) {
                ((float *)all[i]->m->w.layers[l].rms_att)[k] *= 8;
                ((float *)all[i]->m->w.layers[l].rms_ffn)[k] *= 8;
            }
    int n = 1024, T = 100, V = c->vocab_size, *calib = random_tokens(n, V, 11), *held = random_tokens(T, V, 12);
    AwqScales s;
    model_kv_alloc(awq.m, 128);
    int rc1 = awq_search(awq.m, calib, 1, 128, -1, DTYPE_Q4_0, 256, &s, err, sizeof err);
    CHECK(rc1 == -1 && strstr(err, "at least 2 tokens"), "a calibration of 1 token refused: \"%s\"", rc1 ? err : "");
    if (awq_search(awq.m, calib, n, 128, ref.bos_id, DTYPE_Q4_0, 256, &s, err, sizeof err) != 0) {
        CHECK(0, "awq_search: %s", err);
        return;
    }
    int worse = 0, scaled = 0;
    for (int site = 0; site < AWQ_SITES; site++)
        for (int l = 0; l < c->n_layers; l++) {
            worse += s.err_awq[site][l] > s.err_plain[site][l];
            scaled += s.alpha[site][l] > 0;
        }
    CHECK(s.tokens == n && s.samples == 256 && worse == 0 && scaled > 0,
          "search over %ld tokens, %d rows: error never above plain rounding's (%d sites worse), %d of %d sites scaled",
          s.tokens, s.samples, worse, scaled, AWQ_SITES * c->n_layers);
    int rc = model_quantize_scaled(fold.m, DTYPE_F32, -1, &s, err, sizeof err) ||
             model_quantize_scaled(awq.m, DTYPE_Q4_0, DTYPE_Q8_0, &s, err, sizeof err) ||
             model_quantize(plain.m, DTYPE_Q4_0, DTYPE_Q8_0, err, sizeof err);
    CHECK(rc == 0, "quantize with and without the scales: %s", rc ? err : "ok");
    float *lr = all_logits(ref.m, held, T), *lf = all_logits(fold.m, held, T);
    float *lp = all_logits(plain.m, held, T), *la = all_logits(awq.m, held, T);
    double ef = max_rel(lf, lr, (size_t)T * V);
    CHECK(ef < 1e-5, "searched scales folded, unrounded: max logit err %.2e of max |logit| (tol 1e-5)", ef);
    double sp = 0, sa = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) {
        sp += (double)(lp[i] - lr[i]) * (lp[i] - lr[i]);
        sa += (double)(la[i] - lr[i]) * (la[i] - lr[i]);
    }
    CHECK(sa < 0.9 * sp, "Q4_0 logits on %d held-out positions: RMS error with AWQ %.4f, plain %.4f (%.0f%%; want < 90%%)",
          T, sqrt(sa / T / V), sqrt(sp / T / V), 100 * sa / sp);
    awq_free(&s);
    free(lr); free(lf); free(lp); free(la); free(calib); free(held);
    for (int i = 0; i < 4; i++) unload_model(all[i]);
}

int main(void) {
    test_fold();
    test_matrix();
    test_search();
    return test_summary();
}
