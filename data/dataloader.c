// data/dataloader.c — see dataloader.h.
#include "data/dataloader.h"
#include "data/rng.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dataloader_init(DataLoader *dl, const char *path, int B, int T, int shuffle, uint64_t seed,
                    char *err, size_t errlen) {
    memset(dl, 0, sizeof *dl);
    if (B <= 0 || T <= 0) { snprintf(err, errlen, "dataloader: bad batch shape B=%d T=%d", B, T); return -1; }
    if (shard_open(&dl->shard, path, err, errlen)) return -1;
    dl->B = B; dl->T = T; dl->shuffle = shuffle; dl->seed = seed;
    size_t N = dl->shard.num_tokens;
    // sequential needs one window of B*T+1; shuffled needs B rows even at the largest offset T-1
    size_t need = shuffle ? (size_t)(B + 1) * T : (size_t)B * T + 1;
    if (N < need) {
        snprintf(err, errlen, "%s: %zu tokens, fewer than one batch of B=%d x T=%d needs (%zu)",
                 path, N, B, T, need);
        shard_close(&dl->shard);
        return -1;
    }
    dl->order_epoch = UINT64_MAX;
    dl->inputs = malloc((size_t)B * T * sizeof(int));
    dl->targets = malloc((size_t)B * T * sizeof(int));
    if (shuffle) dl->order = malloc((N / T + 1) * sizeof(uint32_t));
    if (!dl->inputs || !dl->targets || (shuffle && !dl->order)) {
        snprintf(err, errlen, "dataloader: out of memory");
        dataloader_free(dl);
        return -1;
    }
    return 0;
}

// The rows of epoch e: offset and a Fisher-Yates permutation, both from the stream (seed, e).
static void build_order(DataLoader *dl, uint64_t epoch) {
    uint64_t rng = rng_derive(dl->seed, epoch);
    size_t T = dl->T, N = dl->shard.num_tokens;
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
    size_t N = dl->shard.num_tokens, BT = (size_t)dl->B * dl->T;
    if (!dl->shuffle) return (N - 1) / BT;
    return (N - 1 - (dl->T - 1)) / dl->T / dl->B; // the smallest epoch (largest offset)
}

void dataloader_next_batch(DataLoader *dl) {
    size_t B = dl->B, T = dl->T, N = dl->shard.num_tokens;
    if (!dl->shuffle) {
        if (dl->st.pos + B * T + 1 > N) { dl->st.pos = 0; dl->st.epoch++; }
        size_t p = dl->st.pos;
        for (size_t i = 0; i < B * T; i++) {
            dl->inputs[i] = shard_token(&dl->shard, p + i);
            dl->targets[i] = shard_token(&dl->shard, p + i + 1);
        }
        dl->st.pos += B * T;
        return;
    }
    if (dl->order_epoch != dl->st.epoch) build_order(dl, dl->st.epoch);
    if (dl->st.pos + B > dl->num_rows) {  // the rest would not fill a batch: next epoch
        dl->st.epoch++;
        dl->st.pos = 0;
        build_order(dl, dl->st.epoch);
    }
    for (size_t b = 0; b < B; b++) {
        size_t start = dl->row_offset + (size_t)dl->order[dl->st.pos + b] * T;
        for (size_t t = 0; t < T; t++) {
            dl->inputs[b * T + t] = shard_token(&dl->shard, start + t);
            dl->targets[b * T + t] = shard_token(&dl->shard, start + t + 1);
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
    size_t limit = dl->shuffle ? dl->shard.num_tokens / dl->T : dl->shard.num_tokens;
    if (st.pos > limit) {
        snprintf(err, errlen, "dataloader: saved position %llu is past the end of this shard (different data?)",
                 (unsigned long long)st.pos);
        return -1;
    }
    dl->st = st;
    return 0;
}

void dataloader_free(DataLoader *dl) {
    free(dl->inputs); free(dl->targets); free(dl->order);
    shard_close(&dl->shard);
    memset(dl, 0, sizeof *dl);
}
