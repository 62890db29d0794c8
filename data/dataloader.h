// data/dataloader.h — serves (B, T) batches of inputs and next-token targets from a shard.
//
// Sequential mode (shuffle = 0) is llm.c's DataLoader: batch k reads the B*T+1 tokens starting
// at k*B*T; row b of the inputs is tokens[b*T .. b*T+T) and its targets are the same window
// shifted by one. When the next batch would run past the end it wraps to token 0 (a new epoch).
//
// Shuffled mode (the default for training) cuts the shard into rows of T+1 tokens starting at
// offset + r*T, where the offset in [0, T) is drawn anew each epoch (so the model sees each
// passage at different positions across epochs), and visits the rows in a seeded random order,
// B rows per batch. Every row is used once per epoch.
//
// Several shards (a glob pattern, e.g. 'data/shakespeare/train_bpe_dropout_*.bin', sorted by
// name): epoch e reads shard e mod K, in either mode, like llm.c moving on to the next shard when
// one is used up. bin/prepare --variants writes such a set: the same text in K segmentations.
//
// The position is two numbers (epoch, pos): the shard and the order of an epoch are pure
// functions of (seed, epoch), so a training state saves just those two and a resumed run
// continues exactly.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "data/shards.h"

typedef struct {
    uint64_t epoch;  // completed passes over the data
    uint64_t pos;    // sequential: token offset of the next batch; shuffled: next row in this epoch's order
} DataLoaderState;

typedef struct {
    Shard *shards;   // n_shards of them, in name order
    int n_shards;
    const Shard *shard; // the current epoch's: shards[epoch mod n_shards]
    int B, T;
    int shuffle;
    uint64_t seed;
    DataLoaderState st;
    // the current epoch's row order (shuffled mode)
    uint64_t order_epoch; // which epoch `order` was built for (UINT64_MAX: none yet)
    size_t row_offset, num_rows;
    uint32_t *order;
    int *inputs, *targets; // (B, T) each, filled by dataloader_next_batch
} DataLoader;

// Opens the shard(s) and allocates the batch buffers. path is a file or a glob pattern. Fails
// (one line in err) when nothing matches or a shard holds fewer tokens than one batch needs.
int dataloader_init(DataLoader *dl, const char *path, int B, int T, int shuffle, uint64_t seed,
                    char *err, size_t errlen);
// Fills dl->inputs / dl->targets with the next batch and advances the position.
void dataloader_next_batch(DataLoader *dl);
// Back to the start of epoch 0 (an evaluation pass begins here every time).
void dataloader_reset(DataLoader *dl);
// How many batches one pass visits before wrapping (sequential: whole windows of B*T+1); with
// several shards, the fewest of any shard.
size_t dataloader_batches_per_epoch(const DataLoader *dl);
DataLoaderState dataloader_get_state(const DataLoader *dl);
// Restores a saved position; -1 (reason in err) if it cannot belong to this shard/config.
int dataloader_set_state(DataLoader *dl, DataLoaderState st, char *err, size_t errlen);
void dataloader_free(DataLoader *dl);
// The largest token id in any of the shards.
int dataloader_max_token(const DataLoader *dl);
