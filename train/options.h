// train/options.h — bin/train's settings, declared once in a table (train/options.c) from which
// the command line (getopt_long), --help, the presets, range checks, the --resume merge and the
// training state's serialization all follow. Adding a flag: one field here, one table row there.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include "util/serial.h"

#define TRAIN_PATH_MAX 1024

// Every bin/train setting (options.c's table documents each with its default).
typedef struct {
    char data[TRAIN_PATH_MAX], val_data[TRAIN_PATH_MAX], tokenizer[TRAIN_PATH_MAX];
    char pattern[16];       // tokenizer split pattern ("": recorded beside the file, or detected)
    char preset[32];
    int dim, n_layers, n_heads, n_kv_heads, hidden_dim, seq;
    int batch, grad_accum;
    long steps;             // total planned updates (0: as many as fit in max_minutes)
    double max_minutes;     // this run's time budget (0: none)
    long stop_at;           // stop (and save) after this many updates, as if interrupted (0: off)
    float lr, min_lr;
    long warmup;
    int lr_schedule;        // LrSchedule
    float decay_frac;       // wsd's decaying share of the steps
    float weight_decay, beta1, beta2, eps, grad_clip, dropout;
    float att_dropout;      // dropout on the attention probabilities
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
    int zero;               // ZeRO stage under mpirun: 1 shards the AdamW moments across the processes
    int profile;            // --profile (not saved: a property of one run)
    long trace_step;        // --trace-step N: print every op's statistics at update N (-1: off)
    int lora;               // LoRA rank (0: off, every weight trains)
    float lora_alpha;
    char lora_targets[64];  // "q,v": model/lora.h's target names
    char lora_init[TRAIN_PATH_MAX];   // a peft folder to start the adapters from ("": fresh)
} TrainOptions;

// Which flags the command line set, by table row (options_given(o, "lr")).
typedef struct { unsigned char row[96]; } OptionsGiven;

// Defaults, then the command line, then the preset (--preset, default tiny) for every setting the
// command line left unset. Dies with a one-line message on a bad flag or value; --help exits 0.
// Environment, for tests only: SCRATCHLLAMA_STOP_AT=N stops after update N as if interrupted.
void options_parse(int argc, char **argv, TrainOptions *o, OptionsGiven *given);
int options_given(const OptionsGiven *given, const char *name);
void options_usage(FILE *f);
// The table's ranges, checked on settings read from a state file; dies naming `where`.
void options_check(const TrainOptions *o, const char *where);
// --resume: the saved run's settings win, except those the table marks as free to change on a
// resume, when given now (dies naming a flag that may not change).
void options_merge_resume(TrainOptions *o, const TrainOptions *saved, const OptionsGiven *given);

// The training state's settings block (train/state.c). Version 1 holds the table's version-1 rows
// in table order; later versions' rows are written and read one version at a time
// (options_put_version / options_get_version: the rows marked with that version, in table order)
// where the state file puts them; a file of an older version reads them as their defaults.
void options_put(SerialOut *out, const TrainOptions *o);
void options_get(SerialIn *in, TrainOptions *o);
void options_put_version(SerialOut *out, const TrainOptions *o, int version);
void options_get_version(SerialIn *in, TrainOptions *o, int version);
