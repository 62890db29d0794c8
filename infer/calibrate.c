// infer/calibrate.c — see calibrate.h.
#include <stdlib.h>
#include <string.h>
#include "infer/calibrate.h"
#include "util/errors.h"

// For the blocks of the last forward (T queries ending at Tk keys) that leave tiles out:
// cover[i][a][j][h] += mass of (j, h) in (i, a)'s kept set / mass of (j, h) in its own kept set
// (1 when (i, a) keeps the tiles (j, h) would; below 1 by the mass it misses). keep holds
// L*NH*(top_k+2) ints, nkeep L*NH, own L*NH doubles, mass max_tiles floats.
static long add_cover(const Kascade *k, double *cover, int T, int Tk, int *keep, int *nkeep, double *own, float *mass) {
    int L = k->n_layers, NH = k->n_heads, tile = k->tile, pos0 = Tk - T, K = k->top_k + 2;
    long n = 0;
    for (int b = 0; b < k->n_blocks; b++) {
        int ot = pos0 / tile + b;
        if (ot + 1 <= K) continue;
        n++;
#define REC(l, h) (k->record + (((size_t)(l) * NH + (h)) * k->max_blocks + b) * k->max_tiles)
        for (int s = 0; s < L * NH; s++) {   // every (layer, head)'s own kept set and its mass
            memcpy(mass, REC(s / NH, s % NH), (size_t)(ot + 1) * sizeof(float));
            nkeep[s] = kascade_select(keep + (size_t)s * K, mass, ot, k->top_k);
            own[s] = 0;
            for (int t = 0; t < nkeep[s]; t++) own[s] += REC(s / NH, s % NH)[keep[(size_t)s * K + t]];
        }
        for (int i = 0; i < L; i++)
            for (int a = 0; a < NH; a++) {
                const int *S = keep + ((size_t)i * NH + a) * K;
                int nS = nkeep[i * NH + a];
                for (int j = i + 1; j < L; j++)
                    for (int h = 0; h < NH; h++) {
                        const float *mj = REC(j, h);
                        double in = 0;
                        for (int t = 0; t < nS; t++) in += mj[S[t]];
                        double o = own[j * NH + h];
                        cover[(((size_t)i * NH + a) * L + j) * NH + h] += o > 0 ? (in < o ? in / o : 1.0) : 1.0;
                    }
            }
#undef REC
    }
    return n;
}

Kascade *kascade_calibrate(Model *m, const int *tokens, int n, int ctx, const CalibrateConfig *cfg, long *blocks,
                           char *err, size_t errlen) {
    int L = m->config.n_layers, NH = m->config.n_heads;
    if (ctx > m->kv_max_len) return fail_null(err, errlen, "--ctx %d is longer than the KV cache (%d)", ctx, m->kv_max_len);
    if (n < ctx) return fail_null(err, errlen, "the text has %d tokens; calibration with --ctx %d needs at least that many", n, ctx);
    if (ctx <= (cfg->top_k + 2) * cfg->tile)
        return fail_null(err, errlen, "--ctx %d leaves no tile out: it needs more than (top-k + 2) x tile = %d positions",
                         ctx, (cfg->top_k + 2) * cfg->tile);
    Kascade *k = kascade_create(L, NH);   // every layer an anchor
    if (!k) return fail_null(err, errlen, "out of memory");
    k->tile = cfg->tile; k->top_k = cfg->top_k;
    if (kascade_prepare(k, m->kv_max_len, m->kv_chunk, m->config.head_dim, err, errlen) != 0) { kascade_free(k); return NULL; }
    size_t nrec = (size_t)L * NH * k->max_blocks * k->max_tiles, ncover = (size_t)L * NH * L * NH;
    k->record = calloc(nrec, sizeof(float));
    double *cover = calloc(ncover, sizeof(double));
    int *keep = malloc((size_t)L * NH * (k->top_k + 2) * sizeof(int)), *nkeep = malloc((size_t)L * NH * sizeof(int));
    double *own = malloc((size_t)L * NH * sizeof(double));
    float *mass = malloc((size_t)k->max_tiles * sizeof(float));
    if (!k->record || !cover || !keep || !nkeep || !own || !mass) {
        free(cover); free(keep); free(nkeep); free(own); free(mass); free(k->record); kascade_free(k);
        return fail_null(err, errlen, "out of memory");
    }
    struct Kascade *saved = m->kascade;
    m->kascade = k;
    long nb = 0;
    int ok = 1;
    for (int c = 0; ok && c < n / ctx && c < cfg->max_chunks; c++)
        for (int p = 0; ok && p < ctx; p += m->kv_chunk) {
            int T = ctx - p < m->kv_chunk ? ctx - p : m->kv_chunk;
            if (!model_forward_kv(m, tokens + (size_t)c * ctx + p, T, p, 0)) ok = 0;
            else nb += add_cover(k, cover, T, p + T, keep, nkeep, own, mass);
        }
    m->kascade = saved;
    free(k->record);
    k->record = NULL;
    if (ok && nb > 0) {
        for (size_t i = 0; i < ncover; i++) cover[i] /= nb;
        if (kascade_plan(k, cover, cfg->max_reuse, cfg->threshold) != 0) ok = -1;
    }
    free(cover); free(keep); free(nkeep); free(own); free(mass);
    if (blocks) *blocks = nb;
    if (ok != 1) {
        kascade_free(k);
        return fail_null(err, errlen, ok ? "out of memory planning the schedule" : "the forward pass failed");
    }
    return k;
}
