// data/dataloader.c — see dataloader.h.
#include "data/dataloader.h"
#include "util/rng.h"
#include <stb/stb_ds.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The files a pattern names: its glob(3) matches in name order, or the path itself when it has
// no wildcard (so a missing file gets shard_open's own message). stb_ds array of strdup'd names
// (NULL where strdup found no memory).
static char **shard_paths(const char *pattern) {
    char **paths = NULL;
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOSPACE) { globfree(&g); arrput(paths, NULL); }   // out of memory: dataloader_init says so
    else if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) arrput(paths, strdup(g.gl_pathv[i]));
        globfree(&g);
    } else if (!strpbrk(pattern, "*?[")) {
        arrput(paths, strdup(pattern));
    }
    return paths;
}

int dataloader_init(DataLoader *dl, const char *path, int B, int T, int shuffle, uint64_t seed,
                    char *err, size_t errlen) {
    memset(dl, 0, sizeof *dl);
    if (B <= 0 || T <= 0) { snprintf(err, errlen, "dataloader: bad batch shape B=%d T=%d", B, T); return -1; }
    char **paths = shard_paths(path);
    int n = (int)arrlen(paths), rc = 0;
    if (n == 0) { snprintf(err, errlen, "%s: no file matches", path); return -1; }
    dl->B = B; dl->T = T; dl->shuffle = shuffle; dl->seed = seed;
    dl->shards = calloc(n, sizeof *dl->shards);
    if (!dl->shards) { snprintf(err, errlen, "dataloader: out of memory"); rc = -1; }
    size_t most = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (!paths[i]) { snprintf(err, errlen, "dataloader: out of memory"); rc = -1; }   // (a failed strdup)
    for (int i = 0; i < n && rc == 0; i++) {
        if (shard_open(&dl->shards[i], paths[i], err, errlen)) { rc = -1; break; }
        dl->n_shards = i + 1;
        size_t N = dl->shards[i].num_tokens;
        // sequential needs one window of B*T+1; shuffled needs B rows even at the largest offset T-1
        size_t need = shuffle ? (size_t)(B + 1) * T : (size_t)B * T + 1;
        if (N < need) {
            snprintf(err, errlen, "%s: %zu tokens, fewer than one batch of B=%d x T=%d needs (%zu)",
                     paths[i], N, B, T, need);
            rc = -1;
        }
        if (N > most) most = N;
    }
    for (int i = 0; i < n; i++) free(paths[i]);
    arrfree(paths);
    if (rc) { dataloader_free(dl); return -1; }
    dl->shard = &dl->shards[0];
    dl->order_epoch = UINT64_MAX;
    dl->inputs = malloc((size_t)B * T * sizeof(int));
    dl->targets = malloc((size_t)B * T * sizeof(int));
    if (shuffle) dl->order = malloc((most / T + 1) * sizeof(uint32_t));
    if (!dl->inputs || !dl->targets || (shuffle && !dl->order)) {
        snprintf(err, errlen, "dataloader: out of memory");
        dataloader_free(dl);
        return -1;
    }
    return 0;
}

// Epoch e reads shard e mod K.
static void enter_epoch(DataLoader *dl, uint64_t epoch) {
    dl->st.epoch = epoch;
    dl->shard = &dl->shards[epoch % (uint64_t)dl->n_shards];
}

// The rows of epoch e: offset and a Fisher-Yates permutation, both from the stream (seed, e).
static void build_order(DataLoader *dl, uint64_t epoch) {
    uint64_t rng = rng_derive(dl->seed, epoch);
    size_t T = dl->T, N = dl->shard->num_tokens;
    dl->row_offset = rng_below(&rng, T);
    dl->num_rows = (N - 1 - dl->row_offset) / T;   // row r needs tokens up to offset + r*T + T
    for (size_t i = 0; i < dl->num_rows; i++) dl->order[i] = (uint32_t)i;
    for (size_t i = dl->num_rows - 1; i > 0; i--) {
        size_t j = rng_below(&rng, i + 1);
        uint32_t t = dl->order[i]; dl->order[i] = dl->order[j]; dl->order[j] = t;
    }
    dl->order_epoch = epoch;
}

size_t dataloader_batches_per_epoch(const DataLoader *dl) {
    size_t fewest = SIZE_MAX, BT = (size_t)dl->B * dl->T;
    for (int i = 0; i < dl->n_shards; i++) {
        size_t N = dl->shards[i].num_tokens;
        size_t n = dl->shuffle ? (N - 1 - (dl->T - 1)) / dl->T / dl->B  // the smallest epoch (largest offset)
                               : (N - 1) / BT;
        if (n < fewest) fewest = n;
    }
    return fewest;
}

void dataloader_next_batch(DataLoader *dl) {
    size_t B = dl->B, T = dl->T;
    enter_epoch(dl, dl->st.epoch);
    if (!dl->shuffle) {
        if (dl->st.pos + B * T + 1 > dl->shard->num_tokens) { dl->st.pos = 0; enter_epoch(dl, dl->st.epoch + 1); }
        size_t p = dl->st.pos;
        for (size_t i = 0; i < B * T; i++) {
            dl->inputs[i] = shard_token(dl->shard, p + i);
            dl->targets[i] = shard_token(dl->shard, p + i + 1);
        }
        dl->st.pos += B * T;
        return;
    }
    if (dl->order_epoch != dl->st.epoch) build_order(dl, dl->st.epoch);
    if (dl->st.pos + B > dl->num_rows) {  // the rest would not fill a batch: next epoch
        enter_epoch(dl, dl->st.epoch + 1);
        dl->st.pos = 0;
        build_order(dl, dl->st.epoch);
    }
    for (size_t b = 0; b < B; b++) {
        size_t start = dl->row_offset + (size_t)dl->order[dl->st.pos + b] * T;
        for (size_t t = 0; t < T; t++) {
            dl->inputs[b * T + t] = shard_token(dl->shard, start + t);
            dl->targets[b * T + t] = shard_token(dl->shard, start + t + 1);
        }
    }
    dl->st.pos += B;
}

void dataloader_reset(DataLoader *dl) {
    dl->st.epoch = 0;
    dl->st.pos = 0;
}

DataLoaderState dataloader_get_state(const DataLoader *dl) { return dl->st; }

int dataloader_set_state(DataLoader *dl, DataLoaderState st, char *err, size_t errlen) {
    const Shard *s = &dl->shards[st.epoch % (uint64_t)dl->n_shards];
    size_t limit = dl->shuffle ? s->num_tokens / dl->T : s->num_tokens;
    if (st.pos > limit) {
        snprintf(err, errlen, "dataloader: saved position %llu is past the end of this shard (different data?)",
                 (unsigned long long)st.pos);
        return -1;
    }
    dl->st = st;
    return 0;
}

int dataloader_max_token(const DataLoader *dl) {
    int m = 0;
    for (int i = 0; i < dl->n_shards; i++) {
        int t = shard_max_token(&dl->shards[i]);
        if (t > m) m = t;
    }
    return m;
}

void dataloader_free(DataLoader *dl) {
    free(dl->inputs); free(dl->targets); free(dl->order);
    for (int i = 0; i < dl->n_shards; i++) shard_close(&dl->shards[i]);
    free(dl->shards);
    memset(dl, 0, sizeof *dl);
}
