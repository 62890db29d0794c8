// model/kascade.c — Kascade sparse attention (see kascade.h), and its schedule's JSON.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/kascade.h"
#include "model/ops.h"
#include "model/vecmath.h"
#include "util/errors.h"
#include "util/json_file.h"
#include "util/parallel.h"

// Below these a call runs on one thread: starting threads costs microseconds on a quiet machine
// and can cost milliseconds on a busy one, while a decode step's reuse layer (32 heads x 160
// keys x 64) takes about 0.2 ms on one core.
#define KASCADE_MIN_MACS (1 << 21)   // reuse: query-key multiply-adds
#define KASCADE_MIN_SUMS (1 << 21)   // anchor: probabilities summed into tile masses

// Widths of the reuse score kernel: QW queries (one AVX-512 vector, two AVX2) against KW keys at
// a time, so the KW x QW partial sums stay in registers over the head dimension and each key
// element is one broadcast multiply-add into a vector of queries.
enum { QW = 16, KW = 4 };

Kascade *kascade_create(int n_layers, int n_heads) {
    if (n_layers < 1 || n_heads < 1) return NULL;
    Kascade *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->n_layers = n_layers; k->n_heads = n_heads; k->tile = 16; k->top_k = 8;
    k->source = malloc((size_t)n_layers * sizeof(int));
    k->head_map = malloc((size_t)n_layers * n_heads * sizeof(int));
    if (!k->source || !k->head_map) { kascade_free(k); return NULL; }
    for (int l = 0; l < n_layers; l++) {
        k->source[l] = l;
        for (int h = 0; h < n_heads; h++) k->head_map[l * n_heads + h] = h;
    }
    return k;
}

void kascade_free(Kascade *k) {
    if (!k) return;
    free(k->source); free(k->head_map); free(k->keep); free(k->n_keep); free(k->mass); free(k->scratch);
    free(k);
}

static int check_schedule(const Kascade *k, char *err, size_t errlen) {
    if (k->tile < 1) return fail(err, errlen, "kascade: tile %d: must be at least 1", k->tile);
    if (k->top_k < 0) return fail(err, errlen, "kascade: top_k %d: must be at least 0", k->top_k);
    for (int l = 0; l < k->n_layers; l++) {
        int s = k->source[l];
        if (s < 0 || s > l || k->source[s] != s)
            return fail(err, errlen, "kascade: layer %d: source %d is not an anchor layer at or below it", l, s);
        for (int h = 0; h < k->n_heads; h++) {
            int a = k->head_map[l * k->n_heads + h];
            if (a < 0 || a >= k->n_heads)
                return fail(err, errlen, "kascade: layer %d head %d maps to head %d, outside 0..%d", l, h, a, k->n_heads - 1);
        }
    }
    return 0;
}

int kascade_prepare(Kascade *k, int max_len, int chunk, int HD, char *err, size_t errlen) {
    if (check_schedule(k, err, errlen)) return -1;
    int tile = k->tile;
    k->max_tiles = (max_len + tile - 1) / tile;
    k->max_blocks = chunk / tile + 2;   // a chunk's queries span at most this many tiles
    k->max_keep = k->top_k + 2 < k->max_tiles ? k->top_k + 2 : k->max_tiles;
    k->n_threads = omp_get_max_threads();
    size_t nkeys = (size_t)k->max_keep * tile, nq = tile < chunk ? tile : chunk;
    // a reuse block's key positions (nkeys ints), qT (HD,QW), scores (nkeys,ld), output (ld,HD),
    // ld = nq rounded up to QW (see reuse_block); O also holds two rows of ld floats
    k->max_ld = (int)((nq + QW - 1) / QW * QW);
    k->scratch_floats = nkeys + (size_t)HD * QW + nkeys * k->max_ld + (size_t)k->max_ld * (HD > 2 ? HD : 2);
    size_t sets = (size_t)k->n_layers * k->n_heads * k->max_blocks;
    free(k->keep); free(k->n_keep); free(k->mass); free(k->scratch);
    k->keep = malloc(sets * k->max_keep * sizeof(int));
    k->n_keep = calloc(sets, sizeof(int));
    k->mass = malloc((size_t)k->n_threads * k->max_tiles * sizeof(float));
    k->scratch = malloc((size_t)k->n_threads * k->scratch_floats * sizeof(float));
    if (!k->keep || !k->n_keep || !k->mass || !k->scratch) return fail(err, errlen, "kascade: out of memory");
    kascade_reset_stats(k);
    return 0;
}

double kascade_sparsity(const Kascade *k) {
    return k->tiles_visible ? 100.0 * (double)(k->tiles_visible - k->tiles_read) / (double)k->tiles_visible : 0.0;
}

void kascade_reset_stats(Kascade *k) { k->tiles_visible = k->tiles_read = 0; }

int kascade_select(int *keep, float *mass, int ot, int top_k) {
    int n = 0;
    // pick the top_k by repeated max (top_k and the tile count are small); a picked tile's mass
    // becomes -1 (masses are >= 0)
    for (int r = 0; r < top_k && r < ot - 1; r++) {
        int best = -1;
        for (int i = 1; i < ot; i++) if (mass[i] >= 0 && (best < 0 || mass[i] > mass[best])) best = i;
        mass[best] = -1.0f;
    }
    keep[n++] = 0;
    for (int i = 1; i < ot; i++) if (mass[i] < 0) keep[n++] = i;
    if (ot > 0) keep[n++] = ot;
    return n;
}

// One reuse (head, query block): nq queries q (rows QD apart, the first at position qpos) over
// the keys of the kept tiles, read where they lie in the cache (rows KVD apart: kc, vc already
// point at the KV head). The kept tiles are ascending and the last is the block's own tile, so
// the keys, in that order, end at the block's last query, and query t sees all of them but the
// last nq-1-t. Scores S[j*ld + t], ld = nq rounded up to QW (the padding queries are zeros and
// are never copied out). Scratch: kpos (keys), qT (HD x QW), S (keys x ld), O (ld x HD).
// Products use fmaf: one rounding, and one vector instruction in these loops.
static void reuse_block(float *out, const float *q, const float *kc, const float *vc, const int *keep,
                        int nk_tiles, int tile, int qpos, int nq, int QD, int KVD, int HD, int *kpos, float *qT,
                        float *S, float *O) {
    float scale = 1.0f / sqrtf((float)HD);
    int end = qpos + nq, n = 0, ld = nq == 1 ? 1 : (nq + QW - 1) / QW * QW;
    for (int i = 0; i < nk_tiles; i++) {
        int j1 = (keep[i] + 1) * tile < end ? (keep[i] + 1) * tile : end;
        for (int j = keep[i] * tile; j < j1; j++) kpos[n++] = j;
    }
    // S = scale * q k^T
    if (nq == 1) {   // decode: one dot product per key
        for (int j = 0; j < n; j++) {
            const float *kj = kc + (size_t)kpos[j] * KVD;
            float d = 0.0f;
            #pragma omp simd reduction(+:d)
            for (int e = 0; e < HD; e++) d += q[e] * kj[e];
            S[j] = d * scale;
        }
    } else {
        for (int q0 = 0; q0 < nq; q0 += QW) {
            int w = nq - q0 < QW ? nq - q0 : QW;
            for (int e = 0; e < HD; e++)   // qT[e][t] = scale * q[q0+t][e], zero past the block
                for (int t = 0; t < QW; t++) qT[e * QW + t] = t < w ? q[(size_t)(q0 + t) * QD + e] * scale : 0.0f;
            for (int j0 = 0; j0 < n; j0 += KW) {
                const float *kr[KW];
                for (int jj = 0; jj < KW; jj++) kr[jj] = kc + (size_t)kpos[j0 + jj < n ? j0 + jj : n - 1] * KVD;
                float acc[KW][QW] = {{0}};
                for (int e = 0; e < HD; e++) {
                    const float *qe = qT + e * QW;
                    for (int jj = 0; jj < KW; jj++) {
                        float ke = kr[jj][e];
                        #pragma omp simd
                        for (int t = 0; t < QW; t++) acc[jj][t] = fmaf(ke, qe[t], acc[jj][t]);
                    }
                }
                for (int jj = 0; jj < KW && j0 + jj < n; jj++) memcpy(S + (size_t)(j0 + jj) * ld + q0, acc[jj], sizeof acc[jj]);
            }
        }
    }
    // causal softmax per query (a column of S, vectorized across the queries): query t sees keys
    // 0..n-nq+t; the last nq-1 keys are masked with -inf for the queries before them (exp -> 0)
    for (int j = n - nq + 1; j < n; j++)
        for (int t = 0; t < j - (n - nq); t++) S[(size_t)j * ld + t] = -INFINITY;
    float *mx = O, *sum = O + ld;   // O is free until the output: max and sum per query
    for (int t = 0; t < ld; t++) { mx[t] = S[t]; sum[t] = 0.0f; }
    for (int j = 1; j < n; j++) {
        const float *r = S + (size_t)j * ld;
        #pragma omp simd
        for (int t = 0; t < ld; t++) mx[t] = r[t] > mx[t] ? r[t] : mx[t];
    }
    for (int j = 0; j < n; j++) {
        float *r = S + (size_t)j * ld;
        #pragma omp simd
        for (int t = 0; t < ld; t++) { r[t] = exp_fast(r[t] - mx[t]); sum[t] += r[t]; }
    }
    for (int t = 0; t < ld; t++) sum[t] = 1.0f / sum[t];
    for (int j = 0; j < n; j++) {
        float *r = S + (size_t)j * ld;
        #pragma omp simd
        for (int t = 0; t < ld; t++) r[t] *= sum[t];
    }
    // O = P v: for 4 queries and 16 dims at a time, the sums stay in registers over the keys;
    // each value row is read once per 4 queries. Other head dims: one row at a time into O.
    if (HD % QW == 0 && ld % 4 == 0) {
        for (int t0 = 0; t0 < nq; t0 += 4)   // rows up to t0+3 < ld exist (padding past nq)
            for (int e0 = 0; e0 < HD; e0 += QW) {
                float acc[4][QW] = {{0}};
                for (int j = 0; j < n; j++) {
                    const float *v = vc + (size_t)kpos[j] * KVD + e0, *p = S + (size_t)j * ld + t0;
                    for (int tt = 0; tt < 4; tt++) {
                        float pt = p[tt];
                        #pragma omp simd
                        for (int e = 0; e < QW; e++) acc[tt][e] = fmaf(pt, v[e], acc[tt][e]);
                    }
                }
                for (int tt = 0; tt < 4; tt++) memcpy(O + (size_t)(t0 + tt) * HD + e0, acc[tt], sizeof acc[tt]);
            }
    } else {
        memset(O, 0, (size_t)nq * HD * sizeof(float));
        for (int j = 0; j < n; j++) {
            const float *v = vc + (size_t)kpos[j] * KVD;
            for (int t = 0; t < nq; t++) {
                float pt = S[(size_t)j * ld + t], *o = O + (size_t)t * HD;
                #pragma omp simd
                for (int e = 0; e < HD; e++) o[e] = fmaf(pt, v[e], o[e]);
            }
        }
    }
    // into out: its rows lie QD floats apart, often a multiple of 4 KiB, so the sums above go to
    // the contiguous O (rows 4 KiB apart compete for the same few L1 sets)
    for (int t = 0; t < nq; t++) memcpy(out + (size_t)t * QD, O + (size_t)t * HD, (size_t)HD * sizeof(float));
}

void kascade_attention(Kascade *k, int l, float *out, float *att, const float *q, const float *kc,
                       const float *vc, int T, int Tk, int NH, int NKV, int HD) {
    int tile = k->tile, pos0 = Tk - T, QD = NH * HD, KVD = NKV * HD, group = NH / NKV;
    int tfirst = pos0 / tile, nblocks = (Tk - 1) / tile - tfirst + 1;
    k->n_blocks = nblocks;
    size_t set_stride = (size_t)k->max_blocks * k->max_keep;
    if (k->source[l] == l) {
        // anchor: dense attention, then each (head, block)'s tile masses from its probabilities
        attention_forward(out, att, NULL, q, kc, vc, 1, T, Tk, NH, NKV, HD, 0.0f, 0, 0);
        // threads only where the work outweighs starting them (as in attention.c)
        #pragma omp parallel for collapse(2) if ((size_t)NH * T * Tk >= KASCADE_MIN_SUMS)
        for (int h = 0; h < NH; h++)
            for (int b = 0; b < nblocks; b++) {
                float *mass = k->mass + (size_t)omp_get_thread_num() * k->max_tiles;
                int ot = tfirst + b;   // the block's own tile
                int t0 = ot * tile - pos0 > 0 ? ot * tile - pos0 : 0;
                int t1 = (ot + 1) * tile - pos0 < T ? (ot + 1) * tile - pos0 : T;
                memset(mass, 0, (size_t)(ot + 1) * sizeof(float));
                // the own tile's mass only when recording (selection keeps it regardless); the
                // probabilities past a query's position are 0
                int ntiles = k->record ? ot + 1 : ot;
                for (int t = t0; t < t1; t++) {
                    const float *P = att + ((size_t)h * T + t) * Tk;
                    for (int i = 0; i < ntiles; i++) {
                        const float *p = P + (size_t)i * tile;
                        int len = (i + 1) * tile < Tk ? tile : Tk - i * tile;
                        float s = 0.0f;
                        #pragma omp simd reduction(+:s)
                        for (int j = 0; j < len; j++) s += p[j];
                        mass[i] += s;
                    }
                }
                size_t set = (size_t)l * k->n_heads + h;
                if (k->record)
                    memcpy(k->record + (set * k->max_blocks + b) * k->max_tiles, mass, (size_t)(ot + 1) * sizeof(float));
                k->n_keep[set * k->max_blocks + b] = kascade_select(k->keep + set * set_stride + (size_t)b * k->max_keep,
                                                                  mass, ot, k->top_k);
            }
        return;
    }
    // reuse: head h over the kept tiles of the source's head head_map[h], on this layer's K, V
    int src = k->source[l];
    size_t nkmax = (size_t)k->max_keep * tile;
    long long visible = 0, read = 0;
    #pragma omp parallel for collapse(2) reduction(+:visible, read) \
        if ((size_t)NH * T * k->max_keep * tile * HD >= KASCADE_MIN_MACS)
    for (int h = 0; h < NH; h++)
        for (int b = 0; b < nblocks; b++) {
            float *scr = k->scratch + (size_t)omp_get_thread_num() * k->scratch_floats;
            int ot = tfirst + b, g = h / group;
            int t0 = ot * tile - pos0 > 0 ? ot * tile - pos0 : 0;
            int t1 = (ot + 1) * tile - pos0 < T ? (ot + 1) * tile - pos0 : T;
            size_t set = (size_t)src * k->n_heads + k->head_map[l * NH + h];
            const int *keep = k->keep + set * set_stride + (size_t)b * k->max_keep;
            int nk_tiles = k->n_keep[set * k->max_blocks + b];
            reuse_block(out + (size_t)t0 * QD + (size_t)h * HD, q + (size_t)t0 * QD + (size_t)h * HD,
                        kc + (size_t)g * HD, vc + (size_t)g * HD, keep, nk_tiles, tile, pos0 + t0, t1 - t0, QD, KVD,
                        HD, (int *)scr, scr + nkmax, scr + nkmax + (size_t)HD * QW,
                        scr + nkmax + (size_t)HD * QW + nkmax * k->max_ld);
            visible += ot + 1;
            read += nk_tiles;
        }
    k->tiles_visible += visible;
    k->tiles_read += read;
}

int kascade_plan(Kascade *k, const double *cover, int max_reuse, double threshold) {
    int L = k->n_layers, NH = k->n_heads;
    // score[i][j]: reuse of anchor i by layer j > i, heads mapped to their best anchor head
    double *score = malloc((size_t)L * L * sizeof(double));
    // best[i]: layers i..L-1 when i is an anchor, as (anchors, summed score); next[i]: the
    // anchor after i (L: none)
    int *anchors = malloc((size_t)(L + 1) * sizeof(int)), *next = malloc((size_t)L * sizeof(int));
    double *sum = malloc((size_t)(L + 1) * sizeof(double));
    if (!score || !anchors || !next || !sum) { free(score); free(anchors); free(next); free(sum); return -1; }
    for (int i = 0; i < L; i++)
        for (int j = i + 1; j < L; j++) {
            double s = 0;
            for (int h = 0; h < NH; h++) {
                double best = -1;
                for (int a = 0; a < NH; a++) {
                    double c = cover[(((size_t)i * NH + a) * L + j) * NH + h];
                    best = c > best ? c : best;
                }
                s += best;
            }
            score[(size_t)i * L + j] = s / NH;
        }
    // An anchor i covers i+1..n-1 when each is within max_reuse and at or above the threshold.
    anchors[L] = 0; sum[L] = 0;
    for (int i = L - 1; i >= 0; i--) {
        anchors[i] = L + 1; sum[i] = 0; next[i] = i + 1;
        double run = 0;
        for (int n = i + 1; n <= L && n - i - 1 <= max_reuse; n++) {
            // n is the next anchor: layers i+1..n-1 reuse i
            if (n > i + 1) {
                double s = score[(size_t)i * L + n - 1];
                if (s < 1.0 - threshold) break;
                run += s;
            }
            int a = 1 + anchors[n];
            double v = run + sum[n];
            if (a < anchors[i] || (a == anchors[i] && v > sum[i])) { anchors[i] = a; sum[i] = v; next[i] = n; }
        }
    }
    for (int i = 0; i < L; i = next[i]) {
        k->source[i] = i;
        for (int h = 0; h < NH; h++) k->head_map[i * NH + h] = h;
        for (int j = i + 1; j < next[i]; j++) {
            k->source[j] = i;
            for (int h = 0; h < NH; h++) {
                int best = 0;
                for (int a = 1; a < NH; a++)
                    if (cover[(((size_t)i * NH + a) * L + j) * NH + h] > cover[(((size_t)i * NH + best) * L + j) * NH + h]) best = a;
                k->head_map[j * NH + h] = best;
            }
        }
    }
    free(score); free(anchors); free(next); free(sum);
    return 0;
}

// ---- the schedule as JSON ----
// {"tile": 16, "top_k": 8, "anchors": [0, 3],
//  "layers": [{"source": 0, "heads": [0, 1, ...]}, ...]}     one entry per layer

Kascade *kascade_load(const char *path, int n_layers, int n_heads, char *err, size_t errlen) {
    cJSON *root = read_json_object(path, err, errlen);
    if (!root) return NULL;
    Kascade *k = kascade_create(n_layers, n_heads);
    const char *why = NULL;
    if (!k) why = "out of memory";
    const cJSON *tile = cJSON_GetObjectItemCaseSensitive(root, "tile");
    const cJSON *topk = cJSON_GetObjectItemCaseSensitive(root, "top_k");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!why && (!cJSON_IsNumber(tile) || !cJSON_IsNumber(topk) || !cJSON_IsArray(layers)))
        why = "needs numbers \"tile\", \"top_k\" and an array \"layers\"";
    if (!why && cJSON_GetArraySize(layers) != n_layers) why = "\"layers\" has a different count than the model's layers";
    if (!why) {
        k->tile = tile->valuedouble >= 1 && tile->valuedouble <= 65536 ? (int)tile->valuedouble : 0;
        k->top_k = topk->valuedouble >= 0 && topk->valuedouble <= 1e6 ? (int)topk->valuedouble : -1;
        int l = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, layers) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "source");
            const cJSON *hm = cJSON_GetObjectItemCaseSensitive(e, "heads");
            if (!cJSON_IsNumber(s) || !cJSON_IsArray(hm) || cJSON_GetArraySize(hm) != n_heads) {
                why = "each layer needs a number \"source\" and \"heads\", an array of one entry per head";
                break;
            }
            k->source[l] = s->valuedouble >= 0 && s->valuedouble < n_layers ? (int)s->valuedouble : -1;
            int h = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, hm) {
                k->head_map[l * n_heads + h++] =
                    cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble < n_heads ? (int)x->valuedouble : -1;
            }
            l++;
        }
    }
    cJSON_Delete(root);
    if (why) { kascade_free(k); return fail_null(err, errlen, "%s: %s", path, why); }
    char e2[200];
    if (check_schedule(k, e2, sizeof e2)) { kascade_free(k); return fail_null(err, errlen, "%s: %s", path, e2); }
    return k;
}

int kascade_save(const Kascade *k, const char *path, char *err, size_t errlen) {
    cJSON *root = cJSON_CreateObject(), *anchors = cJSON_CreateArray(), *layers = cJSON_CreateArray();
    cJSON_AddNumberToObject(root, "tile", k->tile);
    cJSON_AddNumberToObject(root, "top_k", k->top_k);
    for (int l = 0; l < k->n_layers; l++) {
        if (k->source[l] == l) cJSON_AddItemToArray(anchors, cJSON_CreateNumber(l));
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "source", k->source[l]);
        cJSON_AddItemToObject(e, "heads", cJSON_CreateIntArray(k->head_map + (size_t)l * k->n_heads, k->n_heads));
        cJSON_AddItemToArray(layers, e);
    }
    cJSON_AddItemToObject(root, "anchors", anchors);
    cJSON_AddItemToObject(root, "layers", layers);
    int rc = write_json_file(path, root, err, errlen);
    cJSON_Delete(root);
    return rc;
}
