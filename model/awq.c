// model/awq.c — see awq.h: the calibration pass (model.h's observe_input hook) and the search.
#include "model/awq.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/ops.h"
#include "model/quant.h"
#include "util/errors.h"

const char *const awq_site_names[AWQ_SITES] = {"qkv", "o", "gate/up", "down"};

#define AWQ_GRID 20   // alpha = 0, 1/20, ..., 1

int awq_alloc(AwqScales *a, const Config *c) {
    memset(a, 0, sizeof *a);
    int L = c->n_layers;
    a->n_layers = L;
    a->group = c->n_heads / c->n_kv_heads;
    a->head_dim = c->head_dim;
    a->width[AWQ_QKV] = a->width[AWQ_GU] = c->dim;
    a->width[AWQ_O] = c->n_heads * c->head_dim;
    a->width[AWQ_DOWN] = c->hidden_dim;
    size_t nf = 0, nc = 0;
    for (int s = 0; s < AWQ_SITES; s++) nf += (size_t)L * (a->width[s] + 1);
    for (int k = 0; k < AWQ_MATS; k++) {   // AWQ_WQ.. is model.h's layer_mat order
        layer_mat_shape(c, k, &a->rows[k], &a->cols[k]);
        nc += (size_t)L * a->rows[k] * (a->cols[k] / 32);
    }
    a->mem = malloc(nf * sizeof(float));
    a->dmem = calloc((size_t)3 * AWQ_SITES * L, sizeof(double));
    a->cmem = calloc(nc ? nc : 1, 1);
    if (!a->mem || !a->dmem || !a->cmem) { awq_free(a); return -1; }
    float *p = a->mem;
    for (int s = 0; s < AWQ_SITES; s++) {
        a->scale[s] = p, p += (size_t)L * a->width[s];
        a->alpha[s] = p, p += L;
        a->err_plain[s] = a->dmem + (size_t)(3 * s) * L;
        a->err_awq[s] = a->dmem + (size_t)(3 * s + 1) * L;
        a->err_clip[s] = a->dmem + (size_t)(3 * s + 2) * L;
    }
    for (int k = 0, off = 0; k < AWQ_MATS; k++) {
        a->clip[k] = a->cmem + off;
        off += L * a->rows[k] * (a->cols[k] / 32);
    }
    for (size_t i = 0; i < nf; i++) a->mem[i] = 1.0f;
    for (int s = 0; s < AWQ_SITES; s++) memset(a->alpha[s], 0, L * sizeof(float));
    return 0;
}

void awq_free(AwqScales *a) {
    free(a->mem);
    free(a->dmem);
    free(a->cmem);
    memset(a, 0, sizeof *a);
}

void awq_row_factors(const AwqScales *a, int l, float *v_rows, float *up_rows) {
    int HD = a->head_dim, NKV = a->width[AWQ_O] / HD / a->group;
    const float *so = a->scale[AWQ_O] + (size_t)l * a->width[AWQ_O];
    for (int g = 0; g < NKV; g++)      // the group's first query head: all of them share s
        for (int d = 0; d < HD; d++) v_rows[g * HD + d] = 1.0f / so[(size_t)g * a->group * HD + d];
    const float *sd = a->scale[AWQ_DOWN] + (size_t)l * a->width[AWQ_DOWN];
    for (int j = 0; j < a->width[AWQ_DOWN]; j++) up_rows[j] = 1.0f / sd[j];
}

// ---- calibration: what each layer's matrices read ----

typedef struct {
    const AwqScales *a;
    double *sum[AWQ_SITES];   // (L, width): sum of |x| per channel
    float *rows[AWQ_SITES];   // (L, max_rows, width): the sampled rows
    long *seen;               // (L, AWQ_SITES): rows seen so far
    int max_rows;
    long stride;              // every stride-th row is kept
} Collect;

static void observe(void *ctx, int l, int site, const float *x, int rows, int cols) {
    Collect *c = ctx;
    double *sum = c->sum[site] + (size_t)l * cols;
    long *seen = c->seen + (size_t)l * AWQ_SITES + site;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        for (int k = 0; k < cols; k++) sum[k] += fabsf(xr[k]);
        long i = *seen + r;
        if (i % c->stride == 0 && i / c->stride < c->max_rows)
            memcpy(c->rows[site] + ((size_t)l * c->max_rows + i / c->stride) * cols, xr, cols * sizeof(float));
    }
    *seen += rows;
}

static void collect_free(Collect *c) {
    for (int s = 0; s < AWQ_SITES; s++) { free(c->sum[s]); free(c->rows[s]); }
    free(c->seen);
}

// ---- the search, one site of one layer ----

typedef struct { Mat w; int N, kind; } SiteMat;

typedef struct {
    float *xs, *yref, *y, *s, *mean, *gram;
    void *qw, *qx;
} Work;

// the site's matrices, all (N, K) with the same K
static int site_mats(const Model *m, int l, int site, SiteMat *out, int *K) {
    const Config *c = &m->config;
    const LayerWeights *w = &m->w.layers[l];
    int QD = c->n_heads * c->head_dim, KVD = c->n_kv_heads * c->head_dim;
    switch (site) {
    case AWQ_QKV:
        out[0] = (SiteMat){w->wq, QD, AWQ_WQ}, out[1] = (SiteMat){w->wk, KVD, AWQ_WK};
        out[2] = (SiteMat){w->wv, KVD, AWQ_WV};
        *K = c->dim;
        return 3;
    case AWQ_O: out[0] = (SiteMat){w->wo, c->dim, AWQ_WO}; *K = QD; return 1;
    case AWQ_GU:
        out[0] = (SiteMat){w->w1, c->hidden_dim, AWQ_W1}, out[1] = (SiteMat){w->w3, c->hidden_dim, AWQ_W3};
        *K = c->dim;
        return 2;
    default: out[0] = (SiteMat){w->w2, c->dim, AWQ_W2}; *K = c->hidden_dim; return 1;
    }
}

// s = mean^alpha / sqrt(max * min) over the channels (AWQ's normalisation keeps s around 1)
static void scales_for(float *s, const float *mean, int K, float alpha) {
    float hi = 0.0f, lo = INFINITY;
    for (int k = 0; k < K; k++) {
        s[k] = fmaxf(powf(mean[k], alpha), 1e-4f);
        hi = fmaxf(hi, s[k]);
        lo = fminf(lo, s[k]);
    }
    float norm = sqrtf(hi * lo);
    for (int k = 0; k < K; k++) s[k] /= norm;
}

// The squared error of the site's matrices rounded to t as W diag(s) (clip codes from out, or
// none) against yref, on the inputs X / s, which must be in w->xs.
static double site_error(const SiteMat *mats, int nm, int l, int K, int S, DType t, const float *s,
                         const AwqScales *clip, Work *w) {
    double e = 0.0;
    size_t off = 0;
    for (int i = 0; i < nm; i++) {
        int N = mats[i].N;
        quantize_mat_scaled(w->qw, t, mats[i].w, N, K, s, NULL, clip ? awq_clip(clip, mats[i].kind, l) : NULL);
        quant_matmul_forward(w->y, w->xs, (Mat){w->qw, t}, w->qx, S, K, N);
        const float *yr = w->yref + off;
        for (size_t j = 0; j < (size_t)S * N; j++) e += (double)(w->y[j] - yr[j]) * (w->y[j] - yr[j]);
        off += (size_t)S * N;
    }
    return e;
}

// Each block's clip code: the least e^T G e over the codes, e = w - Q(w) for the block's 32
// scaled weights w, G its (32, 32) Gram matrix (w->gram, one per block of K)
static void search_clip(Mat W, int N, int K, DType t, const float *s, const float *gram, uint8_t *clip) {
    int nb = K / 32;
    #pragma omp parallel
    {
        float *row = malloc((size_t)K * sizeof(float)), q[32], e[32];
        unsigned char blk[sizeof(BlockQ8_0)];
        #pragma omp for schedule(dynamic, 4)
        for (int n = 0; n < N; n++) {
            if (!row) continue;
            dequantize_row(W.dtype, (const char *)W.data + dtype_bytes(W.dtype, (size_t)n * K), row, K);
            for (int k = 0; k < K; k++) row[k] *= s[k];
            for (int b = 0; b < nb; b++) {
                const float *wb = row + 32 * b, *G = gram + (size_t)b * 32 * 32;
                double best = INFINITY;
                for (uint8_t c = 0; c < QUANT_CLIP_CODES; c++) {
                    quantize_row_clip(t, blk, wb, 32, &c);
                    dequantize_row(t, blk, q, 32);
                    for (int j = 0; j < 32; j++) e[j] = wb[j] - q[j];
                    double err = 0.0;
                    for (int i = 0; i < 32; i++) {
                        float gi = 0.0f;
                        for (int j = 0; j < 32; j++) gi += G[i * 32 + j] * e[j];
                        err += (double)e[i] * gi;
                    }
                    if (err < best) { best = err; clip[(size_t)n * nb + b] = c; }
                }
            }
        }
        free(row);
    }
}

static void search_site(Model *m, const Collect *cl, int l, int site, DType t, int S, Work *w, AwqScales *out) {
    SiteMat mats[3];
    int K, nm = site_mats(m, l, site, mats, &K);
    const float *X = cl->rows[site] + (size_t)l * cl->max_rows * K;
    const double *sum = cl->sum[site] + (size_t)l * K;
    long count = cl->seen[(size_t)l * AWQ_SITES + site];
    for (int k = 0; k < K; k++) w->mean[k] = (float)(sum[k] / count);
    if (site == AWQ_O && out->group > 1) {   // one mean per KV channel, shared by its group's heads
        int HD = out->head_dim, G = out->group, NKV = K / HD / G;
        for (int g = 0; g < NKV; g++)
            for (int d = 0; d < HD; d++) {
                float acc = 0.0f;
                for (int h = 0; h < G; h++) acc += w->mean[(g * G + h) * HD + d];
                for (int h = 0; h < G; h++) w->mean[(g * G + h) * HD + d] = acc / G;
            }
    }
    // the unrounded outputs
    size_t off = 0;
    for (int i = 0; i < nm; i++) {
        matmul_forward(w->yref + off, X, mats[i].w, m->matmul_scratch, S, K, mats[i].N);
        off += (size_t)S * mats[i].N;
    }
    double best = INFINITY;
    float *chosen = out->scale[site] + (size_t)l * K;
    for (int g = 0; g <= AWQ_GRID; g++) {
        float alpha = (float)g / AWQ_GRID;
        scales_for(w->s, w->mean, K, alpha);
        for (int r = 0; r < S; r++)
            for (int k = 0; k < K; k++) w->xs[(size_t)r * K + k] = X[(size_t)r * K + k] / w->s[k];
        double e = site_error(mats, nm, l, K, S, t, w->s, NULL, w);
        if (g == 0) out->err_plain[site][l] = e;
        if (e < best) {
            best = e;
            out->alpha[site][l] = alpha;
            out->err_awq[site][l] = e;
            memcpy(chosen, w->s, K * sizeof(float));
        }
    }
    // clipping, on the inputs scaled by the chosen s: G_b = Xb^T Xb for each block b of 32 channels
    for (int r = 0; r < S; r++)
        for (int k = 0; k < K; k++) w->xs[(size_t)r * K + k] = X[(size_t)r * K + k] / chosen[k];
    for (int b = 0; b < K / 32; b++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 32, 32, S, 1.0f, w->xs + 32 * b, K, w->xs + 32 * b, K,
                    0.0f, w->gram + (size_t)b * 32 * 32, 32);
    for (int i = 0; i < nm; i++)
        if (mats[i].kind != AWQ_WQ && mats[i].kind != AWQ_WK)
            search_clip(mats[i].w, mats[i].N, K, t, chosen, w->gram, out->clip[mats[i].kind] +
                        (size_t)l * out->rows[mats[i].kind] * (K / 32));
    out->err_clip[site][l] = site_error(mats, nm, l, K, S, t, chosen, out, w);
    if (out->err_clip[site][l] > out->err_awq[site][l]) {   // blocks chosen one by one can add up worse
        for (int i = 0; i < nm; i++)
            memset(out->clip[mats[i].kind] + (size_t)l * out->rows[mats[i].kind] * (K / 32), 0,
                   (size_t)mats[i].N * (K / 32));
        out->err_clip[site][l] = out->err_awq[site][l];
    }
}

int awq_search(Model *m, const int *tokens, int n, int ctx, int bos, DType t, int max_rows, AwqScales *out,
               char *err, size_t errlen) {
    const Config *c = &m->config;
    int L = c->n_layers;
    if (n < 2) return fail(err, errlen, "AWQ calibration needs at least 2 tokens, got %d", n);
    if (ctx > n) ctx = n;
    if (ctx > m->kv_max_len) return fail(err, errlen, "AWQ calibration: context %d is longer than the KV cache (%d)", ctx, m->kv_max_len);
    if (max_rows < 1) max_rows = 1;
    if (awq_alloc(out, c) != 0) return fail(err, errlen, "out of memory for AWQ scales");
    int n_chunks = n / ctx;
    long total = (long)n_chunks * ctx;
    Collect cl = {out, {0}, {0}, calloc((size_t)L * AWQ_SITES, sizeof(long)), max_rows, (total + max_rows - 1) / max_rows};
    int S = (int)((total + cl.stride - 1) / cl.stride);   // rows kept: at most max_rows
    int ok = cl.seen != NULL, maxK = 0;
    for (int s = 0; s < AWQ_SITES && ok; s++) {
        int W = out->width[s];
        maxK = W > maxK ? W : maxK;
        cl.sum[s] = calloc((size_t)L * W, sizeof(double));
        cl.rows[s] = malloc((size_t)L * max_rows * W * sizeof(float));
        ok = cl.sum[s] && cl.rows[s];
    }
    int *chunk = ok ? malloc((size_t)ctx * sizeof(int)) : NULL;
    if (!chunk) { collect_free(&cl); awq_free(out); return fail(err, errlen, "out of memory for AWQ calibration"); }
    m->observe_input = observe;
    m->observe_ctx = &cl;
    int rc = 0;
    for (int ch = 0; ch < n_chunks && !rc; ch++) {
        memcpy(chunk, tokens + (size_t)ch * ctx, (size_t)ctx * sizeof(int));
        if (bos >= 0) chunk[0] = bos;
        if (!model_forward_kv(m, chunk, ctx, 0, 0))
            rc = fail(err, errlen, "AWQ calibration: the forward pass failed at chunk %d", ch);
    }
    m->observe_input = NULL;
    m->observe_ctx = NULL;
    free(chunk);
    out->tokens = total;
    out->samples = S;
    // the largest output width: w1 and w3 (2H), or wq+wk+wv
    int maxN = 2 * c->hidden_dim, qkv = (c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
    if (qkv > maxN) maxN = qkv;
    if (c->dim > maxN) maxN = c->dim;
    Work w = {
        malloc((size_t)S * maxK * sizeof(float)), malloc((size_t)S * maxN * sizeof(float)),
        malloc((size_t)S * maxN * sizeof(float)), malloc((size_t)maxK * sizeof(float)),
        malloc((size_t)maxK * sizeof(float)), malloc((size_t)maxK * 32 * sizeof(float)),
        malloc(dtype_bytes(t, (size_t)maxN * maxK)), malloc(quant_scratch_bytes(S, maxK)),
    };
    if (!rc && (!w.xs || !w.yref || !w.y || !w.s || !w.mean || !w.gram || !w.qw || !w.qx))
        rc = fail(err, errlen, "out of memory for the AWQ search");
    for (int l = 0; l < L && !rc; l++)
        for (int s = 0; s < AWQ_SITES; s++) search_site(m, &cl, l, s, t, S, &w, out);
    free(w.xs); free(w.yref); free(w.y); free(w.s); free(w.mean); free(w.gram); free(w.qw); free(w.qx);
    collect_free(&cl);
    if (rc) awq_free(out);
    return rc;
}
