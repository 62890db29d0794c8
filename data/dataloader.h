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
// The position is two numbers (epoch, pos): the order of an epoch is a pure function of
// (seed, epoch), so a training state saves just those two and a resumed run continues exactly.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "data/shards.h"

typedef struct {
    uint64_t epoch;  // completed passes over the data
    uint64_t pos;    // sequential: token offset of the next batch; shuffled: next row in this epoch's order
} DataLoaderState;

typedef struct {
    Shard shard;
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

// Opens the shard and allocates the batch buffers. Fails (one line in err) when the shard
// holds fewer tokens than one batch needs.
int dataloader_init(DataLoader *dl, const char *path, int B, int T, int shuffle, uint64_t seed,
                    char *err, size_t errlen);
// Fills dl->inputs / dl->targets with the next batch and advances the position.
void dataloader_next_batch(DataLoader *dl);
// Back to the start of epoch 0 (an evaluation pass begins here every time).
void dataloader_reset(DataLoader *dl);
// How many batches one pass visits before wrapping (sequential: whole windows of B*T+1).
size_t dataloader_batches_per_epoch(const DataLoader *dl);
DataLoaderState dataloader_get_state(const DataLoader *dl);
// Restores a saved position; -1 (reason in err) if it cannot belong to this shard/config.
int dataloader_set_state(DataLoader *dl, DataLoaderState st, char *err, size_t errlen);
void dataloader_free(DataLoader *dl);
