// train/state.h — everything besides the model that a run needs to continue exactly where it
// stopped: the options it was started with, the step, AdamW's moments m and v, the data
// position, the RNG states, the best validation loss so far.
//
// A checkpoint directory holds pairs written after the same step N:
//   model_<N>.bin   the parameters (formats/checkpoint.h; bin/infer reads it), or with --lora
//                   the adapters (formats/lora_checkpoint.h), and then m and v are theirs
//   state_<N>.bin   this file
// plus model_best.bin, the parameters with the lowest validation loss seen. The model file is
// written first, then the state; both atomically. --resume picks the newest N whose two files
// load and agree (the state records the model's parameter checksum), so a kill at any moment
// leaves a complete older pair to continue from.
//
// State file layout (little-endian): char[8] "SLSTATE\0", u32 version (7), u32 header_bytes,
// the fields of TrainState in the order of state.c's put_state() (the settings in the order of
// train/options.c's table), u64 n (number of
// parameters), u64 checksum of m and v, u64 checksum of the header bytes before it (0 in older
// files: unchecked); padding to header_bytes; then m (n f32) and v (n f32).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "data/dataloader.h"

#include "train/options.h"

typedef struct {
    TrainOptions opts;       // the run's settings (a resumed run keeps them)
    uint64_t step;           // updates done
    DataLoaderState data;    // next training batch
    uint64_t sample_rng;     // sampler's RNG
    uint64_t dropout_seed, dropout_step;
    float best_val;          // lowest val loss so far (nats/token); INFINITY when none
    uint64_t best_step;
    double elapsed_s;        // training wall time of all runs so far
    uint64_t tokens_seen;
    uint64_t model_checksum; // checksum64 of the parameters in model_<step>.bin
    uint64_t lr_steps;       // the learning-rate schedule's planned steps (version 4; opts.steps before):
                             // fixed when the run starts or --steps 0 plans it, so a --resume with
                             // another --steps moves where the run ends, not the schedule
    uint64_t data_bytes;     // the training shards' total size and checksum (version 5; 0: not
    uint64_t data_checksum;  // recorded): --resume refuses shards that changed
    uint32_t ranks;          // processes that trained it (mpirun -np; version 6, 1 before): a
                             // resume must use as many
} TrainState;

// Writes path atomically. m and v hold n floats each.
int train_state_save(const char *path, const TrainState *st, const float *m, const float *v, size_t n,
                     char *err, size_t errlen);
// Reads path; m and v must hold n floats (the model's parameter count), checked against the file.
int train_state_load(const char *path, TrainState *st, float *m, float *v, size_t n, char *err, size_t errlen);

// The steps N for which <dir>/state_<N>.bin exists, newest first (caller frees); count in *n.
// NULL (errno says why) when the directory cannot be read or there is no memory for the list.
uint64_t *ckpt_list_steps(const char *dir, size_t *n);
// "<dir>/model_<N>.bin" / "<dir>/state_<N>.bin" into buf.
void ckpt_model_path(char *buf, size_t cap, const char *dir, uint64_t step);
void ckpt_state_path(char *buf, size_t cap, const char *dir, uint64_t step);
// Deletes all but the newest `keep` pairs (model_best.bin is never touched).
void ckpt_prune(const char *dir, int keep);
// Deletes "<name>.tmp.<pid>" files (util/atomic_file.h) left in dir by a writer that was killed
// (its pid no longer runs). Returns how many.
int ckpt_remove_stale_temps(const char *dir);
