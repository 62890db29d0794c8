// model/kascade.c — Kascade sparse attention (see kascade.h), and its schedule's JSON.
#include <cjson/cJSON.h>
#include "util/parallel.h"
#include <stdlib.h>
#include <string.h>
#include "model/kascade.h"
#include "model/ops.h"
#include "util/errors.h"
#include "util/json_file.h"

// multiply-adds (or probabilities summed) below which a call runs on one thread
#define KASCADE_MIN_WORK (1 << 18)

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
    free(k->source); free(k->head_map); free(k->keep); free(k->n_keep); free(k->mass); free(k->gather);
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
    // q (nq,HD), K and V (nkeys,HD), probabilities (nq,nkeys), out (nq,HD)
    k->gather_floats = nq * HD * 2 + nkeys * HD * 2 + nq * nkeys;
    size_t sets = (size_t)k->n_layers * k->n_heads * k->max_blocks;
    free(k->keep); free(k->n_keep); free(k->mass); free(k->gather);
    k->keep = malloc(sets * k->max_keep * sizeof(int));
    k->n_keep = calloc(sets, sizeof(int));
    k->mass = malloc((size_t)k->n_threads * k->max_tiles * sizeof(float));
    k->gather = malloc((size_t)k->n_threads * k->gather_floats * sizeof(float));
    if (!k->keep || !k->n_keep || !k->mass || !k->gather) return fail(err, errlen, "kascade: out of memory");
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
        #pragma omp parallel for collapse(2) if ((size_t)NH * T * Tk >= KASCADE_MIN_WORK)
        for (int h = 0; h < NH; h++)
            for (int b = 0; b < nblocks; b++) {
                float *mass = k->mass + (size_t)omp_get_thread_num() * k->max_tiles;
                int ot = tfirst + b;   // the block's own tile
                int t0 = ot * tile - pos0 > 0 ? ot * tile - pos0 : 0;
                int t1 = (ot + 1) * tile - pos0 < T ? (ot + 1) * tile - pos0 : T;
                memset(mass, 0, (size_t)(ot + 1) * sizeof(float));
                for (int t = t0; t < t1; t++) {
                    const float *P = att + ((size_t)h * T + t) * Tk;
                    for (int j = 0; j < ot * tile; j++) mass[j / tile] += P[j];
                    if (k->record)   // the own tile too (selection keeps it regardless)
                        for (int j = ot * tile; j < Tk; j++) mass[ot] += P[j];
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
    long long visible = 0, read = 0;
    #pragma omp parallel for collapse(2) reduction(+:visible, read) \
        if ((size_t)NH * nblocks * k->max_keep * tile * HD >= KASCADE_MIN_WORK)
    for (int h = 0; h < NH; h++)
        for (int b = 0; b < nblocks; b++) {
            float *buf = k->gather + (size_t)omp_get_thread_num() * k->gather_floats;
            int ot = tfirst + b, g = h / group;
            int t0 = ot * tile - pos0 > 0 ? ot * tile - pos0 : 0;
            int t1 = (ot + 1) * tile - pos0 < T ? (ot + 1) * tile - pos0 : T;
            int nq = t1 - t0, end = pos0 + t1;   // keys visible to the block: 0..end-1
            size_t set = (size_t)src * k->n_heads + k->head_map[l * NH + h];
            const int *keep = k->keep + set * set_stride + (size_t)b * k->max_keep;
            int nk_tiles = k->n_keep[set * k->max_blocks + b];
            size_t nkmax = (size_t)k->max_keep * tile;
            float *qb = buf, *ob = qb + (size_t)tile * HD, *Kg = ob + (size_t)tile * HD;
            float *Vg = Kg + nkmax * HD, *Pb = Vg + nkmax * HD;
            int n = 0;
            for (int i = 0; i < nk_tiles; i++) {
                int j1 = (keep[i] + 1) * tile < end ? (keep[i] + 1) * tile : end;
                for (int j = keep[i] * tile; j < j1; j++, n++) {
                    memcpy(Kg + (size_t)n * HD, kc + (size_t)j * KVD + (size_t)g * HD, (size_t)HD * sizeof(float));
                    memcpy(Vg + (size_t)n * HD, vc + (size_t)j * KVD + (size_t)g * HD, (size_t)HD * sizeof(float));
                }
            }
            for (int t = 0; t < nq; t++)
                memcpy(qb + (size_t)t * HD, q + (size_t)(t0 + t) * QD + (size_t)h * HD, (size_t)HD * sizeof(float));
            // the block's queries are the last nq of the gathered keys' positions (the own tile
            // is last, cut at the block's end), so plain causal attention over the gathered keys
            // gives each query exactly the kept keys at or before its position
            attention_forward(ob, Pb, NULL, qb, Kg, Vg, 1, nq, n, 1, 1, HD, 0.0f, 0, 0);
            for (int t = 0; t < nq; t++)
                memcpy(out + (size_t)(t0 + t) * QD + (size_t)h * HD, ob + (size_t)t * HD, (size_t)HD * sizeof(float));
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
