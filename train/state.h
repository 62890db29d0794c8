// train/state.h — everything besides the model that a run needs to continue exactly where it
// stopped: the options it was started with, the step, AdamW's moments m and v, the data
// position, the RNG states, the best validation loss so far.
//
// A checkpoint directory holds pairs written after the same step N:
//   model_<N>.bin   the parameters (model/checkpoint.h; bin/infer reads it)
//   state_<N>.bin   this file
// plus model_best.bin, the parameters with the lowest validation loss seen. The model file is
// written first, then the state; both atomically. --resume picks the newest N whose two files
// load and agree (the state records the model's parameter checksum), so a kill at any moment
// leaves a complete older pair to continue from.
//
// State file layout (little-endian): char[8] "SLSTATE\0", u32 version (2; 1 lacks att_dropout), u32 header_bytes,
// the fields of TrainState in the order of state.c's put_state(), u64 n (number of
// parameters), u64 checksum of m and v, u64 checksum of the header bytes before it (0 in older
// files: unchecked); padding to header_bytes; then m (n f32) and v (n f32).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "data/dataloader.h"

#define TRAIN_PATH_MAX 1024

// Every bin/train flag (train/train.c documents each with its default).
typedef struct {
    char data[TRAIN_PATH_MAX], val_data[TRAIN_PATH_MAX], tokenizer[TRAIN_PATH_MAX];
    char pattern[16];       // tokenizer split pattern ("": detect from the rank count)
    char preset[32];
    int dim, n_layers, n_heads, n_kv_heads, hidden_dim, seq;
    int batch, grad_accum;
    long steps;             // total planned updates (0: as many as fit in max_minutes)
    double max_minutes;     // this run's time budget (0: none)
    long stop_at;           // stop (and save) after this many updates, as if interrupted (0: off)
    float lr, min_lr;
    long warmup;
    int lr_schedule;        // LrSchedule
    float decay_frac;       // wsd's decaying share of the steps (state version 3; 0.5 before)
    float weight_decay, beta1, beta2, eps, grad_clip, dropout;
    float att_dropout;      // dropout on the attention probabilities (state version 2; 0 in version 1)
    int decay_all;          // 1: weight decay on every tensor (torch default); 0: matrices only
    uint64_t seed;
    long eval_every;
    int eval_batches;
    long sample_every;
    int sample_chars;
    char ckpt_dir[TRAIN_PATH_MAX];
    long ckpt_every;
    int keep_last;
    char resume[TRAIN_PATH_MAX], init[TRAIN_PATH_MAX];
    int threads;
    char log[TRAIN_PATH_MAX];
    int shuffle;
} TrainOptions;

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
} TrainState;

// Writes path atomically. m and v hold n floats each.
int train_state_save(const char *path, const TrainState *st, const float *m, const float *v, size_t n,
                     char *err, size_t errlen);
// Reads path; m and v must hold n floats (the model's parameter count), checked against the file.
int train_state_load(const char *path, TrainState *st, float *m, float *v, size_t n, char *err, size_t errlen);

// The steps N for which <dir>/state_<N>.bin exists, newest first (caller frees); count in *n.
uint64_t *ckpt_list_steps(const char *dir, size_t *n);
// "<dir>/model_<N>.bin" / "<dir>/state_<N>.bin" into buf.
void ckpt_model_path(char *buf, size_t cap, const char *dir, uint64_t step);
void ckpt_state_path(char *buf, size_t cap, const char *dir, uint64_t step);
// Deletes all but the newest `keep` pairs (model_best.bin is never touched).
void ckpt_prune(const char *dir, int keep);
// Deletes "<name>.tmp.<pid>" files (data/atomic_file.h) left in dir by a writer that was killed
// (its pid no longer runs). Returns how many.
int ckpt_remove_stale_temps(const char *dir);
