// train/run.h — one training run: what bin/train holds while it trains, and the pieces its main
// is made of (train/run.c sets it up and saves it, train/step.c steps it, train/report.c says
// how it goes).
#pragma once
#include <stdio.h>
#include "data/dataloader.h"
#include "data/tiktoken.h"
#include "infer/load.h"
#include "model/lora.h"
#include "model/model.h"
#include "train/options.h"
#include "train/schedule.h"
#include "train/state.h"
#include "util/timing.h"

// why the loop ended
typedef enum { STOP_DONE, STOP_INTERRUPTED, STOP_AT, STOP_TIME } StopReason;

typedef struct {
    TrainOptions o;
    OptionsGiven given;
    int resumed;
    Model *m;
    Tiktoken *tok;            // NULL without a tokenizer
    char *tok_path;           // its absolute path, recorded in model checkpoints
    int *token_bytes;         // (V) bytes each token decodes to, for bits per byte
    DataLoader train, val;
    // what the optimizer updates: the model's parameter buffer (np floats in ntensors tensors of
    // sizes[]), or with --lora the adapters'
    float *params, *grads;
    size_t np;
    const size_t *sizes;
    int ntensors;
    int *decay;               // per tensor: weight decay on it (train/adamw.h)
    float *adam_m, *adam_v;   // AdamW moments, one per parameter (--zero 1: per parameter of the shard)
    // --lora: the base as bin/infer loads it (frozen, in its file's dtype: m is base.m), its path
    // and sha256 for the checkpoints, and the adapters
    LoadedModel base;
    Lora *lora;
    char base_path[LORA_PATH_MAX], base_sha256[65];
    // processes (train/dist.h): this one takes rows row0 .. row0+batch-1 of each global batch of
    // batch*ranks rows; with --zero 1 it updates parameters [shard_lo, shard_lo + shard_n)
    int rank, ranks, row0;
    size_t shard_lo, shard_n;
    float *grad_shard;        // --zero 1: the mean gradient of the shard (shard_n)
    LrConfig lr;
    TrainState st;            // step, data position, RNGs, best val, ...
    long tokens_per_step;
    // the time budget (--steps 0 --max-minutes): the lr follows the share of the time spent
    int time_mode;
    double run_start, budget_s, eval_s, warm_end_t;   // warm_end_t: seconds into the run warmup ended
    long warm_end_step;
    long total;               // planned updates (time mode: estimated from the time's progress)
    int final_update;         // time mode: the update just made was the budget's last
    long debug_nan_at;        // tests: SCRATCHLLAMA_DEBUG_NAN_AT poisons one gradient at this step
    FILE *log;
    int tty, bar_open;        // stdout is a terminal; a bar line is drawn and not yet ended
    float pending_val;        // val loss evaluated at this step, logged with its train row
    int sample_len;           // positions the sampler's KV cache holds
} Run;

// What one update did.
typedef struct {
    float loss;               // mean training loss over the step's micro-batches
    float lr;
    double norm;              // global gradient norm before clipping
    double ms, data_s, opt_s; // wall time of the step, of its batches, of norm+clip+AdamW
} StepResult;


// run.c
void run_init(Run *r, int argc, char **argv);  // settings, model, tokenizer, data, optimizer, log
void run_free(Run *r);
void run_save(Run *r);                           // model_<step>.bin then state_<step>.bin, pruned
// the model file alone (model_best.bin): the parameters, or with --lora the adapters
int run_save_model(Run *r, const char *path, uint64_t step, char *err, size_t errlen);
// the name of optimizer tensor t ("wq", or an adapter's peft name)
const char *run_tensor_name(const Run *r, int t, char *buf, size_t cap);
extern volatile int run_stop_requested;         // SIGINT / SIGTERM arrived

// step.c
StepResult train_step(Run *r, long step);       // forward, backward, clip, lr, AdamW: one update
// 1 when the time budget leaves no room for another step of step_s seconds and the final
// evaluation after it
int run_budget_spent(const Run *r, double step_s);
float evaluate(Run *r, double *bpb, int *batches);
void sample(Run *r, const char *title);

// report.c
typedef struct { long steps; double step_s, data_s, opt_s; } Profile;
void print_profile(const Model *m, const Profile *p, long tokens_per_step);
void bar_break(Run *r);
void progress(Run *r, long step, const StepResult *s);
void log_row(Run *r, long step, float train_loss, float val_loss, float lr, float norm, double tps);
FILE *open_log(const char *path, long from, int resumed);
// --trace-step: begin hooks model_backward, forward prints the forward's activations, end unhooks
void trace_step_begin(Model *m);
void trace_step_forward(const Model *m);
void trace_step_end(Model *m);
