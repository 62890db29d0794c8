// bench/kascade.c — bin/bench-kascade: Kascade against dense attention, side by side in one
// process (dense and Kascade in turn, each repetition, so a busy machine slows both alike).
//
//   bin/bench-kascade [--ctx 512,2048,4096,8192] [--layers 16] [--anchor-every 5] [--tile 16]
//                     [--top-k 8] [--prefill 256] [--reps 9]
//   bin/bench-kascade --model DIR [--decode-ctx 8192] [--anchor-every 5] [--tile 16] [--top-k 8] [--reps 9]
//
// Attention (the first form): the attention of a whole model of --layers layers on Llama-3.2-1B's
// attention shape (32 query heads, 8 KV heads, head_dim 64), each layer with its own random K and
// V cache of N positions, for one decode query (position N-1) and for a prefill chunk (the last
// --prefill queries). Dense: attention_forward in every layer. Kascade: layers 0, A, 2A, ... are
// anchors (A = --anchor-every), the others reuse the anchor below them (identity head map).
// Reported per context and query count: both totals, their ratio, and where Kascade's time goes
// (all anchors, all reuse layers); medians of --reps, ms.
//
// Decode (--model): a model folder or file as bin/infer loads it, its KV cache filled with random
// keys and values up to --decode-ctx - 1, then single-token decode steps at position
// --decode-ctx - 1, dense and Kascade (the same anchors) in turn: ms per token and the
// attention's share of it (the model's op profile), medians of --reps.
// The selection comes from random data: the time does not depend on which tiles are kept.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/bench.h"
#include "infer/load.h"
#include "model/kascade.h"
#include "model/model.h"
#include "model/ops.h"
#include "util/errors.h"
#include "util/flags.h"
#include "util/rng.h"

enum { NH = 32, NKV = 8, HD = 64 };

static void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *s) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)((rng_next(s) >> 40) * 0x1.0p-24);
}

// anchors 0, A, 2A, ...; every other layer reuses the anchor below it, head h -> head h
static Kascade *schedule(int L, int nh, int every, int tile, int top_k) {
    Kascade *k = kascade_create(L, nh);
    if (!k) die("out of memory");
    k->tile = tile; k->top_k = top_k;
    for (int l = 0; l < L; l++) k->source[l] = l / every * every;
    return k;
}

static void bench_attention(int N, int L, int every, int tile, int top_k, int prefill, int reps) {
    size_t KVD = (size_t)NKV * HD, per = (size_t)N * KVD;
    int Tmax = prefill < N ? prefill : N;
    float *kc = malloc((size_t)L * per * sizeof(float)), *vc = malloc((size_t)L * per * sizeof(float));
    float *q = malloc((size_t)Tmax * NH * HD * sizeof(float)), *out = malloc((size_t)Tmax * NH * HD * sizeof(float));
    float *att = malloc((size_t)NH * Tmax * N * sizeof(float));
    double *t = malloc((size_t)4 * reps * sizeof(double));
    if (!kc || !vc || !q || !out || !att || !t) die("out of memory at --ctx %d", N);
    uint64_t s = 1;
    fill_uniform(kc, (size_t)L * per, -0.5f, 0.5f, &s);
    fill_uniform(vc, (size_t)L * per, -0.5f, 0.5f, &s);
    fill_uniform(q, (size_t)Tmax * NH * HD, -2.0f, 2.0f, &s);
    Kascade *k = schedule(L, NH, every, tile, top_k);
    char err[256];
    if (kascade_prepare(k, N, Tmax, HD, err, sizeof err) != 0) die("%s", err);
    for (int pass = 0; pass < 2; pass++) {
        int T = pass == 0 ? 1 : Tmax;
        double *td = t, *tk = t + reps, *ta = t + 2 * reps, *tr = t + 3 * reps;
        kascade_reset_stats(k);
        for (int r = 0; r < reps; r++) {   // dense, then Kascade, each over every layer
            double t0 = now_s();
            for (int l = 0; l < L; l++)
                attention_forward(out, att, NULL, q, kc + l * per, vc + l * per, 1, T, N, NH, NKV, HD, 0.0f, 0, 0);
            td[r] = now_s() - t0;
            ta[r] = tr[r] = 0;
            for (int l = 0; l < L; l++) {
                double t1 = now_s();
                kascade_attention(k, l, out, att, q, kc + l * per, vc + l * per, T, N, NH, NKV, HD);
                *(k->source[l] == l ? &ta[r] : &tr[r]) += now_s() - t1;
            }
            tk[r] = ta[r] + tr[r];
        }
        double d = median(td, reps), kk = median(tk, reps), a = median(ta, reps), u = median(tr, reps);
        printf("%-6d %-8d %10.3f %10.3f %7.2fx %10.3f %10.3f %8.1f%%\n", N, T, 1e3 * d, 1e3 * kk, d / kk, 1e3 * a,
               1e3 * u, kascade_sparsity(k));
        fflush(stdout);
    }
    kascade_free(k);
    free(kc); free(vc); free(q); free(out); free(att); free(t);
}

static void bench_decode(const char *path, int ctx, int every, int tile, int top_k, int reps) {
    LoadedModel lm;
    char err[512];
    if (load_model(&lm, path, ctx, err, sizeof err) != 0) die("%s", err);
    Model *m = lm.m;
    const Config *c = &m->config;
    if (model_kv_alloc(m, ctx) != 0) die("cannot allocate the KV cache for --decode-ctx %d", ctx);
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, n = (size_t)c->n_layers * m->kv_max_len * KVD;
    uint64_t s = 7;
    fill_uniform(m->key_cache, n, -0.5f, 0.5f, &s);
    fill_uniform(m->value_cache, n, -0.5f, 0.5f, &s);
    Kascade *k = schedule(c->n_layers, c->n_heads, every, tile, top_k);
    if (kascade_prepare(k, m->kv_max_len, m->kv_chunk, c->head_dim, err, sizeof err) != 0) die("%s", err);
    double *t = malloc((size_t)4 * reps * sizeof(double));
    if (!t) die("out of memory");
    int tok = 1, pos = ctx - 1, anchors = 0;
    for (int l = 0; l < c->n_layers; l++) anchors += k->source[l] == l;
    m->profile = 1;
    for (int r = -1; r < reps; r++) {   // one untimed pair first: page in the weights
        for (int sparse = 0; sparse < 2; sparse++) {
            m->kascade = sparse ? k : NULL;
            memset(m->prof_fwd, 0, sizeof m->prof_fwd);
            double t0 = now_s();
            if (!model_forward_kv(m, &tok, 1, pos, 0)) die("decode step failed: %s", model_error(m));
            double dt = now_s() - t0;
            if (r >= 0) { t[sparse * reps + r] = dt; t[(2 + sparse) * reps + r] = m->prof_fwd[PROF_ATTENTION]; }
        }
    }
    m->kascade = NULL;
    double d = median(t, reps), kk = median(t + reps, reps), ad = median(t + 2 * reps, reps), ak = median(t + 3 * reps, reps);
    printf("# decode at position %d: %d layers, %d heads (%d KV) x %d, %d anchors (every %d), tile %d, top-k %d, "
           "%d threads; ms per token (median of %d)\n", pos, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
           anchors, every, tile, top_k, omp_get_max_threads(), reps);
    printf("%-8s %10s %10s %8s %14s %14s\n", "ctx", "dense", "kascade", "speedup", "dense_attn", "kascade_attn");
    printf("%-8d %10.2f %10.2f %7.2fx %14.2f %14.2f\n", ctx, 1e3 * d, 1e3 * kk, d / kk, 1e3 * ad, 1e3 * ak);
    kascade_free(k);
    free(t);
    unload_model(&lm);
}

typedef struct {
    const char *ctxs, *model;
    int tile, top_k, reps, prefill, layers, every, decode_ctx;
} Options;

#define F(field) FLAG_FIELD(Options, field)
static const FlagRow flag_rows[] = {
    {"ctx", K_STR, F(ctxs), 0, 0, 0, NULL, "512,2048,4096,8192", 0, 0, "LIST", "attention: contexts, comma separated"},
    {"layers", K_INT, F(layers), 1, 256, 0, NULL, "16", 0, 0, "L", "attention: layers of the model timed"},
    {"anchor-every", K_INT, F(every), 1, 256, 0, NULL, "5", 0, 0, "A", "anchors are layers 0, A, 2A, ... (default 5: 4 of 16 layers)"},
    {"tile", K_INT, F(tile), 1, 4096, 0, NULL, "16", 0, 0, "N", "keys per tile"},
    {"top-k", K_INT, F(top_k), 0, 65536, 0, NULL, "8", 0, 0, "K", "tiles kept besides the first and the own tile"},
    {"prefill", K_INT, F(prefill), 1, 4096, 0, NULL, "256", 0, 0, "T", "attention: queries of the prefill chunk"},
    {"reps", K_INT, F(reps), 1, 100000, 0, NULL, "9", 0, 0, "N", "timed runs of each, median reported"},
    {"model", K_STR, F(model), 0, 0, 0, NULL, NULL, 0, 0, "DIR",
     "decode: time single-token decode steps of this model instead"},
    {"decode-ctx", K_INT, F(decode_ctx), 2, 1 << 20, 0, NULL, "8192", 0, 0, "N",
     "decode: the step's position is N-1, its cache random"},
};
static const FlagTable table = {
    .rows = flag_rows, .n_rows = sizeof flag_rows / sizeof flag_rows[0],
    .usage = "usage: bench-kascade [--ctx LIST] [--layers L] [--anchor-every A] [--tile N] [--top-k K]\n"
             "                     [--prefill T] [--reps N]\n"
             "       bench-kascade --model DIR [--decode-ctx N] [--anchor-every A] [--tile N] [--top-k K]\n"
             "                     [--reps N]\n"
             "Kascade against dense attention, in turn in one process: a model's attention on random caches,\n"
             "or with --model single-token decode steps of a real model.\n",
};

int main(int argc, char **argv) {
    Options o = {0};
    unsigned char given[sizeof flag_rows / sizeof flag_rows[0]];
    int optind = flags_parse(&table, argc, argv, &o, given);
    const char *ctxs = o.ctxs, *model = o.model;
    int tile = o.tile, top_k = o.top_k, reps = o.reps, prefill = o.prefill, layers = o.layers, every = o.every;
    int decode_ctx = o.decode_ctx;
    if (optind < argc) die("unexpected argument %s (see --help)", argv[optind]);
    if (model) {
        bench_decode(model, decode_ctx, every, tile, top_k, reps);
        return 0;
    }
    int anchors = (layers + every - 1) / every;
    printf("# attention of %d layers (%d anchors, every %d), %d heads (%d KV) x %d, tile %d, top-k %d, %d threads; "
           "ms (median of %d)\n", layers, anchors, every, NH, NKV, HD, tile, top_k, omp_get_max_threads(), reps);
    printf("%-6s %-8s %10s %10s %8s %10s %10s %9s\n", "ctx", "queries", "dense", "kascade", "speedup", "anchors",
           "reuse", "sparsity");
    char *list = strdup(ctxs), *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        bench_attention((int)flag_long("ctx", tok, 1, 1 << 20), layers, every, tile, top_k, prefill, reps);
    free(list);
    return 0;
}
