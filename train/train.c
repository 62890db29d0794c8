// train/train.c — bin/train: train a Llama on token shards, with AdamW, a warmup + cosine or wsd
// learning rate, gradient clipping and accumulation, dropout, periodic evaluation (nats/token
// and bits/byte), sampling, and checkpoints a later run can resume from bit for bit.
//
// One training step (docs/training.md walks through it):
//   for each of grad_accum micro-batches:  batch -> model_forward (loss) -> model_backward (+= grads)
//   grads /= grad_accum;  norm = ||grads||;  clip to --grad-clip;  lr = schedule(step);  AdamW
//
// Output: a progress line per step on stdout (a live bar when stdout is a terminal), eval
// results and samples on stdout; errors as one line on stderr, exit 1.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <omp.h>
#include <cblas.h>

#include "data/atomic_file.h"
#include "data/dataloader.h"
#include "data/cpu_load.h"
#include "data/errors.h"
#include "data/rng.h"
#include "data/serial.h"
#include "data/tiktoken.h"
#include "model/checkpoint.h"
#include "model/hf_loader.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/schedule.h"
#include "train/state.h"

// ----------------------------------------------------------------------------------------
// timing

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// SIGINT / SIGTERM: finish the step, save, exit 0. The handler is one-shot (SA_RESETHAND),
// so a second Ctrl-C kills at once — the atomic writes keep the previous checkpoint valid.
static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

// ----------------------------------------------------------------------------------------
// --profile: where a step's wall time goes. model.c times each op call (m->prof_fwd/prof_bwd);
// here: the whole step, the dataloader, and the update (norm, clip, AdamW).
typedef struct { long steps; double step_s, data_s, opt_s; } Profile;

static void print_profile(const Model *m, const Profile *p, long tokens_per_step) {
    if (p->steps == 0) return;
    double per = 1000.0 / p->steps, step_ms = p->step_s * per, sum = 0;
    printf("profile: %ld steps, %.1f ms/step (%.0f tokens/s), wall time per step:\n", p->steps, step_ms,
           tokens_per_step / (step_ms / 1000.0));
    printf("  %-14s %9s %9s %9s %6s\n", "", "forward", "backward", "total", "share");
    for (int i = 0; i < PROF_OPS; i++) {
        double f = m->prof_fwd[i] * per, b = m->prof_bwd[i] * per;
        sum += f + b;
        printf("  %-14s %9.2f %9.2f %9.2f %5.1f%%\n", prof_names[i], f, b, f + b, 100 * (f + b) / step_ms);
    }
    double d = p->data_s * per, o = p->opt_s * per, rest = step_ms - sum - d - o;
    printf("  %-14s %29.2f %5.1f%%\n", "data loading", d, 100 * d / step_ms);
    printf("  %-14s %29.2f %5.1f%%\n", "norm+clip+adamw", o, 100 * o / step_ms);
    printf("  %-14s %29.2f %5.1f%%\n", "other", rest, 100 * rest / step_ms);
    printf("  (matmul = sgemm, including zeroing its outputs in the forward; zeroing = gradient buffers)\n");
}

// ----------------------------------------------------------------------------------------
// options

// Presets: the model shape and the training settings that go with it. Explicit flags override.
typedef struct {
    const char *name;
    int dim, n_layers, n_heads, n_kv_heads, hidden_dim, seq, batch;
    float lr, min_lr, dropout, weight_decay;
    long warmup;
    float att_dropout;
    int lr_schedule;      // LrSchedule
    float decay_frac;     // wsd's decaying share of the steps
} Preset;
static const Preset presets[] = {
    // tiny: about 1M parameters, trains in minutes on 2 cores. In a 10-minute budget it sees
    // make train's 0.34M training tokens ~16 times: without dropout val loss turns up after a
    // third of the run; dropout 0.1 on the attention probabilities and 0.025 on the residual
    // branches, weight decay 1.0, and the lr held at 3e-3 for the first half of the steps after
    // warmup and then linear down to 3e-5 (wsd) measured best, and make train gives it a
    // different BPE-dropout segmentation of the text each pass (docs/training.md, "Choosing the
    // tiny preset")
    {"tiny", 128, 4, 4, 2, 384, 256, 8, 3e-3f, 3e-5f, 0.025f, 1.0f, 100, 0.1f, LR_WSD, 0.5f},
    // small: ~10M parameters, for a longer run or a faster machine (dropout: it sees many epochs)
    {"small", 384, 6, 6, 2, 1024, 256, 16, 1e-3f, 1e-4f, 0.1f, 0.1f, 200, 0.0f, LR_COSINE, 0.5f},
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

enum {
    O_DATA = 256, O_VAL_DATA, O_TOKENIZER, O_PATTERN, O_PRESET, O_DIM, O_N_LAYERS, O_N_HEADS, O_N_KV_HEADS,
    O_HIDDEN_DIM, O_SEQ, O_BATCH, O_GRAD_ACCUM, O_STEPS, O_MAX_MINUTES, O_STOP_AT, O_LR, O_MIN_LR,
    O_WARMUP, O_LR_SCHEDULE, O_DECAY_FRAC, O_WEIGHT_DECAY, O_DECAY_ALL, O_BETA1, O_BETA2, O_EPS, O_GRAD_CLIP,
    O_DROPOUT, O_ATT_DROPOUT, O_SEED, O_EVAL_EVERY, O_EVAL_BATCHES, O_SAMPLE_EVERY, O_SAMPLE_CHARS, O_CKPT_DIR,
    O_CKPT_EVERY, O_KEEP_LAST, O_RESUME, O_INIT, O_THREADS, O_LOG, O_SHUFFLE, O_DEBUG_NAN_AT, O_PROFILE, O_HELP, O_END
};
static int given[O_END];   // which flags the command line set
static long debug_nan_at = -1;
static int profile_on;    // --profile: time every op (model.c PROF) and print where a step goes

static const struct option long_opts[] = {
    {"data", 1, 0, O_DATA}, {"val-data", 1, 0, O_VAL_DATA}, {"tokenizer", 1, 0, O_TOKENIZER},
    {"pattern", 1, 0, O_PATTERN},    {"preset", 1, 0, O_PRESET}, {"dim", 1, 0, O_DIM}, {"n-layers", 1, 0, O_N_LAYERS},
    {"n-heads", 1, 0, O_N_HEADS}, {"n-kv-heads", 1, 0, O_N_KV_HEADS}, {"hidden-dim", 1, 0, O_HIDDEN_DIM},
    {"seq", 1, 0, O_SEQ}, {"batch", 1, 0, O_BATCH}, {"grad-accum", 1, 0, O_GRAD_ACCUM},
    {"steps", 1, 0, O_STEPS}, {"max-minutes", 1, 0, O_MAX_MINUTES}, {"stop-at", 1, 0, O_STOP_AT},
    {"lr", 1, 0, O_LR}, {"min-lr", 1, 0, O_MIN_LR}, {"warmup", 1, 0, O_WARMUP},
    {"lr-schedule", 1, 0, O_LR_SCHEDULE}, {"decay-frac", 1, 0, O_DECAY_FRAC}, {"weight-decay", 1, 0, O_WEIGHT_DECAY},
    {"decay-all", 1, 0, O_DECAY_ALL}, {"beta1", 1, 0, O_BETA1}, {"beta2", 1, 0, O_BETA2},
    {"eps", 1, 0, O_EPS}, {"grad-clip", 1, 0, O_GRAD_CLIP}, {"dropout", 1, 0, O_DROPOUT},
    {"att-dropout", 1, 0, O_ATT_DROPOUT},
    {"seed", 1, 0, O_SEED}, {"eval-every", 1, 0, O_EVAL_EVERY}, {"eval-batches", 1, 0, O_EVAL_BATCHES},
    {"sample-every", 1, 0, O_SAMPLE_EVERY}, {"sample-chars", 1, 0, O_SAMPLE_CHARS},
    {"ckpt-dir", 1, 0, O_CKPT_DIR}, {"ckpt-every", 1, 0, O_CKPT_EVERY}, {"keep-last", 1, 0, O_KEEP_LAST},
    {"resume", 1, 0, O_RESUME}, {"init", 1, 0, O_INIT}, {"threads", 1, 0, O_THREADS},
    {"log", 1, 0, O_LOG}, {"shuffle", 1, 0, O_SHUFFLE},
    {"debug-nan-at", 1, 0, O_DEBUG_NAN_AT}, {"profile", 0, 0, O_PROFILE}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};

static void usage(FILE *f) {
    fprintf(f,
"usage: bin/train [options]\n"
"Train a Llama on token shards (bin/prepare writes them). Defaults train the tiny preset on\n"
"tiny Shakespeare as `make train` prepares it.\n"
"\n"
"data\n"
"  --data FILE          training shard, or a quoted glob of several read one per epoch in turn\n"
"                       (make train: 'data/shakespeare/train_bpe_dropout_*.bin', bin/prepare\n"
"                       --variants; default data/shakespeare/train.bin)\n"
"  --val-data FILE      validation shard (default data/shakespeare/val.bin)\n"
"  --tokenizer FILE     tiktoken rank file the shards were made with; needed for bits/byte\n"
"                       and samples (default data/shakespeare/bpe.tiktoken; \"\" for none)\n"
"  --pattern NAME       the tokenizer's split pattern: gpt2 | cl100k | llama3 (default: the one\n"
"                       bin/bpe-train recorded in TOKENIZER.pattern, else known from the rank\n"
"                       count of the three original files; another than the recorded one fails)\n"
"  --shuffle 0|1        1: seeded random order of rows each epoch; 0: sequential, wrapping\n"
"                       around like llm.c (default 1)\n"
"model (default: the preset's; vocabulary from the tokenizer)\n"
"  --preset NAME        tiny | small (default tiny)\n"
"  --dim N --n-layers N --n-heads N --n-kv-heads N --hidden-dim N\n"
"                       shape (tiny: 128, 4, 4, 2, 384; small: 384, 6, 6, 2, 1024)\n"
"  --seq N              sequence length T (tiny, small: 256)\n"
"  --init PATH          start from our checkpoint (model_*.bin) or a Hugging Face Llama directory\n"
"                       (config.json + safetensors; its tokenizer.model unless --tokenizer)\n"
"optimization\n"
"  --batch N            sequences per micro-batch B (tiny 8, small 16)\n"
"  --grad-accum N       micro-batches per update (default 1)\n"
"  --steps N            updates; 0 = as many as fit in --max-minutes (default 2000)\n"
"  --max-minutes M      stop (and save) when this run has used M minutes; 0 = no limit (default 0)\n"
"  --stop-at N          stop (and save) after N updates as if interrupted; 0 = off (default 0)\n"
"  --lr X               peak learning rate (tiny 3e-3, small 1e-3)\n"
"  --min-lr X           final learning rate of the decay (tiny 3e-5, small 1e-4)\n"
"  --warmup N           linear warmup steps (tiny 100, small 200)\n"
"  --lr-schedule S      cosine | wsd | constant (tiny wsd, small cosine)\n"
"  --decay-frac F       wsd: hold the peak lr, then decay linearly to --min-lr over the last F\n"
"                       of the steps after warmup, 0 < F <= 1 (default 0.5)\n"
"  --weight-decay X     AdamW decoupled weight decay (tiny 1.0, small 0.1)\n"
"  --decay-all 0|1      1: decay every tensor (torch's AdamW on all parameters); 0: matrices\n"
"                       only, not RMSNorm gains (default 0)\n"
"  --beta1 X --beta2 X --eps X   AdamW (default 0.9, 0.95, 1e-8)\n"
"  --grad-clip X        clip the global gradient norm to X; 0 = off (default 1.0)\n"
"  --dropout P          residual dropout while training (tiny 0.025, small 0.1); off in eval/sampling\n"
"  --att-dropout P      dropout on the attention probabilities while training (tiny 0.1, small 0)\n"
"  --seed N             initialization, shuffling, dropout and sampling (default 1337)\n"
"evaluation, samples, checkpoints\n"
"  --eval-every N       evaluate every N steps and at the end; 0 = only at the end (default 200)\n"
"  --eval-batches N     validation batches per evaluation (default 32; capped at the val shard)\n"
"  --sample-every N     print a sample every N steps and at the end; 0 = only at the end (default 500)\n"
"  --sample-chars N     about how many characters a sample has (default 400)\n"
"  --ckpt-dir DIR       where model_<step>.bin, state_<step>.bin, model_best.bin go (default checkpoints)\n"
"  --ckpt-every N       save every N steps (and always at the end); 0 = only at the end (default 500)\n"
"  --keep-last K        keep the newest K model/state pairs (default 2), plus model_best.bin\n"
"  --resume DIR         continue the run saved in DIR exactly (its settings come from the saved\n"
"                       state; only --steps --max-minutes --stop-at --eval-every --eval-batches\n"
"                       --sample-every --sample-chars --ckpt-every --keep-last --ckpt-dir\n"
"                       --threads --log --profile may change)\n"
"  --log FILE           CSV: step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s (default none)\n"
"  --threads N          OpenMP + OpenBLAS threads; 0 = all cores (default 0)\n"
"  --profile            print where a training step's time goes, per op (forward, backward),\n"
"                       data loading and the optimizer, in ms per step, at the end (default off)\n"
"  --debug-nan-at N     testing aid: poison one gradient (wq[0]) with NaN at step N, to check that\n"
"                       training stops cleanly and keeps the last checkpoint (default off)\n"
"  --help               this text\n");
}

static void copy_path(char *dst, const char *flag, const char *s) {
    if (strlen(s) >= TRAIN_PATH_MAX) die("--%s: path too long", flag);
    strcpy(dst, s);
}

static void parse_args(int argc, char **argv, TrainOptions *o) {
    memset(o, 0, sizeof *o);
    strcpy(o->data, "data/shakespeare/train.bin");
    strcpy(o->val_data, "data/shakespeare/val.bin");
    strcpy(o->tokenizer, "data/shakespeare/bpe.tiktoken");
    strcpy(o->preset, "tiny");
    strcpy(o->ckpt_dir, "checkpoints");
    o->grad_accum = 1; o->steps = 2000; o->lr_schedule = LR_COSINE; o->decay_frac = 0.5f;
    o->beta1 = 0.9f; o->beta2 = 0.95f; o->eps = 1e-8f; o->grad_clip = 1.0f; o->seed = 1337;
    o->eval_every = 200; o->eval_batches = 32; o->sample_every = 500; o->sample_chars = 400;
    o->ckpt_every = 500; o->keep_last = 2; o->shuffle = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        const char *name = "";
        for (const struct option *lo = long_opts; lo->name; lo++)
            if (lo->val == c) name = lo->name;
        if (c >= O_DATA && c < O_END) given[c] = 1;
        switch (c) {
        case O_DATA: copy_path(o->data, name, optarg); break;
        case O_VAL_DATA: copy_path(o->val_data, name, optarg); break;
        case O_TOKENIZER: copy_path(o->tokenizer, name, optarg); break;
        case O_PATTERN:
            if (strcmp(optarg, "gpt2") && strcmp(optarg, "cl100k") && strcmp(optarg, "llama3"))
                die("--pattern: expected gpt2, cl100k or llama3, got \"%s\"", optarg);
            strcpy(o->pattern, optarg);
            break;
        case O_PRESET:
            if (strlen(optarg) >= sizeof o->preset) die("--preset: unknown preset \"%s\" (tiny, small)", optarg);
            strcpy(o->preset, optarg);
            break;
        case O_DIM: o->dim = (int)flag_long(name, optarg, 1, 65536); break;
        case O_N_LAYERS: o->n_layers = (int)flag_long(name, optarg, 1, 1024); break;
        case O_N_HEADS: o->n_heads = (int)flag_long(name, optarg, 1, 1024); break;
        case O_N_KV_HEADS: o->n_kv_heads = (int)flag_long(name, optarg, 1, 1024); break;
        case O_HIDDEN_DIM: o->hidden_dim = (int)flag_long(name, optarg, 1, 1 << 20); break;
        case O_SEQ: o->seq = (int)flag_long(name, optarg, 2, 1 << 16); break;
        case O_BATCH: o->batch = (int)flag_long(name, optarg, 1, 1 << 16); break;
        case O_GRAD_ACCUM: o->grad_accum = (int)flag_long(name, optarg, 1, 1 << 16); break;
        case O_STEPS: o->steps = flag_long(name, optarg, 0, 1L << 40); break;
        case O_MAX_MINUTES: o->max_minutes = flag_double(name, optarg, 0, 1e7); break;
        case O_STOP_AT: o->stop_at = flag_long(name, optarg, 0, 1L << 40); break;
        case O_LR: o->lr = (float)flag_double(name, optarg, 0, 10); break;
        case O_MIN_LR: o->min_lr = (float)flag_double(name, optarg, 0, 10); break;
        case O_WARMUP: o->warmup = flag_long(name, optarg, 0, 1L << 40); break;
        // (0, 1]: a decay over none of the steps would divide by zero
        case O_DECAY_FRAC: o->decay_frac = (float)flag_double_above(name, optarg, 0, 1); break;
        case O_LR_SCHEDULE:
            if (!strcmp(optarg, "cosine")) o->lr_schedule = LR_COSINE;
            else if (!strcmp(optarg, "wsd")) o->lr_schedule = LR_WSD;
            else if (!strcmp(optarg, "constant")) o->lr_schedule = LR_CONSTANT;
            else die("--lr-schedule: expected cosine, wsd or constant, got \"%s\"", optarg);
            break;
        case O_WEIGHT_DECAY: o->weight_decay = (float)flag_double(name, optarg, 0, 10); break;
        case O_DECAY_ALL: o->decay_all = (int)flag_long(name, optarg, 0, 1); break;
        case O_BETA1: o->beta1 = (float)flag_double(name, optarg, 0, 0.999999); break;
        case O_BETA2: o->beta2 = (float)flag_double(name, optarg, 0, 0.999999); break;
        case O_EPS: o->eps = (float)flag_double(name, optarg, 1e-30, 1); break;
        case O_GRAD_CLIP: o->grad_clip = (float)flag_double(name, optarg, 0, 1e9); break;
        case O_DROPOUT: o->dropout = (float)flag_double(name, optarg, 0, 0.95); break;
        case O_ATT_DROPOUT: o->att_dropout = (float)flag_double(name, optarg, 0, 0.95); break;
        case O_SEED: o->seed = (uint64_t)flag_long(name, optarg, 0, 0x7fffffffffffffffL); break;
        case O_EVAL_EVERY: o->eval_every = flag_long(name, optarg, 0, 1L << 40); break;
        case O_EVAL_BATCHES: o->eval_batches = (int)flag_long(name, optarg, 1, 1 << 20); break;
        case O_SAMPLE_EVERY: o->sample_every = flag_long(name, optarg, 0, 1L << 40); break;
        case O_SAMPLE_CHARS: o->sample_chars = (int)flag_long(name, optarg, 0, 1 << 20); break;
        case O_CKPT_DIR: copy_path(o->ckpt_dir, name, optarg); break;
        case O_CKPT_EVERY: o->ckpt_every = flag_long(name, optarg, 0, 1L << 40); break;
        case O_KEEP_LAST: o->keep_last = (int)flag_long(name, optarg, 1, 1 << 20); break;
        case O_RESUME: copy_path(o->resume, name, optarg); break;
        case O_INIT: copy_path(o->init, name, optarg); break;
        case O_THREADS: o->threads = (int)flag_long(name, optarg, 0, 4096); break;
        case O_LOG: copy_path(o->log, name, optarg); break;
        case O_SHUFFLE: o->shuffle = (int)flag_long(name, optarg, 0, 1); break;
        case O_PROFILE: profile_on = 1; break;
        case O_DEBUG_NAN_AT: debug_nan_at = flag_long(name, optarg, 0, 1L << 40); break;
        case O_HELP: case 'h': usage(stdout); exit(0);
        case ':': die("%s needs a value (see --help)", argv[optind - 1]);
        default: die("unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) die("unexpected argument \"%s\" (see --help)", argv[optind]);
}

// Fills every flag the command line left unset from the preset.
static void apply_preset(TrainOptions *o) {
    const Preset *p = NULL;
    for (int i = 0; i < N_PRESETS; i++)
        if (!strcmp(presets[i].name, o->preset)) p = &presets[i];
    if (!p) die("--preset: unknown preset \"%s\" (tiny, small)", o->preset);
    if (!given[O_DIM]) o->dim = p->dim;
    if (!given[O_N_LAYERS]) o->n_layers = p->n_layers;
    if (!given[O_N_HEADS]) o->n_heads = p->n_heads;
    if (!given[O_N_KV_HEADS]) o->n_kv_heads = p->n_kv_heads;
    if (!given[O_HIDDEN_DIM]) o->hidden_dim = p->hidden_dim;
    if (!given[O_SEQ]) o->seq = p->seq;
    if (!given[O_BATCH]) o->batch = p->batch;
    if (!given[O_LR]) o->lr = p->lr;
    if (!given[O_MIN_LR]) o->min_lr = p->min_lr;
    if (!given[O_DROPOUT]) o->dropout = p->dropout;
    if (!given[O_ATT_DROPOUT]) o->att_dropout = p->att_dropout;
    if (!given[O_WEIGHT_DECAY]) o->weight_decay = p->weight_decay;
    if (!given[O_WARMUP]) o->warmup = p->warmup;
    if (!given[O_LR_SCHEDULE]) o->lr_schedule = p->lr_schedule;
    if (!given[O_DECAY_FRAC]) o->decay_frac = p->decay_frac;
}

// The ranges parse_args enforces, checked again on settings read from a state file (its header
// checksum catches corruption, but not a file written by something else).
static void check_options(const TrainOptions *o, const char *where) {
    int ok = o->batch >= 1 && o->batch <= (1 << 16) && o->seq >= 2 && o->seq <= (1 << 16) &&
             o->grad_accum >= 1 && o->grad_accum <= (1 << 16) && o->steps >= 0 && o->max_minutes >= 0 &&
             o->stop_at >= 0 && o->lr >= 0 && o->lr <= 10 && o->min_lr >= 0 && o->min_lr <= 10 &&
             o->warmup >= 0 && (o->lr_schedule == LR_COSINE || o->lr_schedule == LR_CONSTANT || o->lr_schedule == LR_WSD) &&
             o->decay_frac > 0 && o->decay_frac <= 1 &&
             o->weight_decay >= 0 && o->weight_decay <= 10 && (o->decay_all == 0 || o->decay_all == 1) &&
             o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1 && o->eps > 0 && o->eps <= 1 &&
             o->grad_clip >= 0 && o->dropout >= 0 && o->dropout <= 0.95f && o->eval_every >= 0 &&
             o->att_dropout >= 0 && o->att_dropout <= 0.95f &&
             o->eval_batches >= 1 && o->sample_every >= 0 && o->sample_chars >= 0 && o->sample_chars <= (1 << 20) &&
             o->ckpt_every >= 0 && o->keep_last >= 1 && o->threads >= 0 && o->threads <= 4096 &&
             (o->shuffle == 0 || o->shuffle == 1) &&
             (!o->pattern[0] || !strcmp(o->pattern, "gpt2") || !strcmp(o->pattern, "cl100k") || !strcmp(o->pattern, "llama3"));
    if (!ok) die("%s: the saved settings are out of range (not a state file bin/train wrote?)", where);
}

// --resume: the saved run's settings win, except the run-control flags given now.
static void merge_resume_options(TrainOptions *o, const TrainOptions *saved) {
    static const int may_change[] = {O_STEPS, O_MAX_MINUTES, O_STOP_AT, O_EVAL_EVERY, O_EVAL_BATCHES,
                                     O_SAMPLE_EVERY, O_SAMPLE_CHARS, O_CKPT_EVERY, O_KEEP_LAST,
                                     O_CKPT_DIR, O_THREADS, O_LOG, O_RESUME, O_DEBUG_NAN_AT, O_PROFILE, O_HELP};
    for (int c = O_DATA; c < O_END; c++) {
        if (!given[c]) continue;
        int ok = 0;
        for (size_t i = 0; i < sizeof may_change / sizeof *may_change; i++) ok |= may_change[i] == c;
        if (!ok) {
            const char *name = "?";
            for (const struct option *lo = long_opts; lo->name; lo++)
                if (lo->val == c) name = lo->name;
            die("--%s cannot change on --resume (the run keeps its saved settings; use --init to start a new run from a checkpoint)", name);
        }
    }
    TrainOptions now = *o;
    *o = *saved;
    strcpy(o->resume, now.resume);
    o->init[0] = '\0';
    o->stop_at = 0;   // a stop point belongs to the run that reached it
#define KEEP(flag, field) if (given[flag]) memcpy(&o->field, &now.field, sizeof o->field)
    KEEP(O_STEPS, steps); KEEP(O_MAX_MINUTES, max_minutes); KEEP(O_STOP_AT, stop_at);
    KEEP(O_EVAL_EVERY, eval_every); KEEP(O_EVAL_BATCHES, eval_batches); KEEP(O_SAMPLE_EVERY, sample_every);
    KEEP(O_SAMPLE_CHARS, sample_chars); KEEP(O_CKPT_EVERY, ckpt_every); KEEP(O_KEEP_LAST, keep_last);
    KEEP(O_THREADS, threads); KEEP(O_LOG, log);
#undef KEEP
    // checkpoints continue where they were unless --ckpt-dir moves them
    if (given[O_CKPT_DIR]) strcpy(o->ckpt_dir, now.ckpt_dir);
    else strcpy(o->ckpt_dir, now.resume);
}

// ----------------------------------------------------------------------------------------
// the run

typedef struct {
    TrainOptions o;
    Model *m;
    Tiktoken *tok;            // NULL without --tokenizer
    int *token_bytes;         // (V) bytes each token decodes to, for bits per byte
    DataLoader train, val;
    float *adam_m, *adam_v;   // AdamW moments, one per parameter
    int decay[NUM_PARAM_TENSORS];
    LrConfig lr;
    TrainState st;            // step, data position, RNGs, best val, ...
    FILE *log;
    int tty, bar_open;        // stdout is a terminal; a bar line is drawn and not yet ended
    double run_start, budget_s;
    float pending_val;        // val loss evaluated at this step, logged with its train row
    float final_val;          // the last evaluation (nats/token) and its bits per byte
    double final_bpb;
    int sample_len;           // positions the sampler's KV cache holds
    char *tok_path;           // the tokenizer's absolute path, recorded in model checkpoints
} Run;

// Ends the live progress bar's line (if one is drawn) before other output.
static void bar_break(Run *r) {
    if (r->bar_open) { printf("\n"); fflush(stdout); r->bar_open = 0; }
}

// Mean val loss over the first n batches of the val shard (sequential, the same every time),
// and bits per byte over exactly those target tokens:
//   bits/byte = (sum of per-token nats) / ln 2 / (bytes those tokens decode to)
//             = mean_loss / ln 2 * tokens / bytes
static float evaluate(Run *r, double *bpb_out, int *batches_out) {
    Model *m = r->m;
    int B = r->o.batch, T = r->o.seq;
    size_t n = dataloader_batches_per_epoch(&r->val);
    if ((size_t)r->o.eval_batches < n) n = r->o.eval_batches;
    m->training = 0;
    dataloader_reset(&r->val);
    double loss = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        dataloader_next_batch(&r->val);
        float l = model_forward(m, r->val.inputs, r->val.targets, B, T);
        if (!isfinite(l)) die("evaluation: val loss is %f at val batch %zu", l, i);
        loss += l;
        if (r->token_bytes)
            for (int j = 0; j < B * T; j++) bytes += r->token_bytes[r->val.targets[j]];
    }
    m->training = 1;
    loss /= n;
    *bpb_out = r->token_bytes && bytes > 0 ? loss / log(2.0) * ((double)n * B * T) / bytes : NAN;
    *batches_out = (int)n;
    return (float)loss;
}

// Generates about o.sample_chars characters from a newline, temperature 0.8, with the KV cache.
static void sample(Run *r, const char *title) {
    if (!r->tok || r->o.sample_chars == 0) return;
    Model *m = r->m;
    int V = m->config.vocab_size, maxlen = r->sample_len;
    float *probs = malloc(V * sizeof(float));
    size_t nstart;
    int *start = tiktoken_encode_ordinary(r->tok, "\n", 1, &nstart);
    if (!probs || !start || nstart < 1) die("sampling: cannot encode the start token");
    int token = start[0];
    free(start);
    m->training = 0;
    TiktokenStream ts;
    tiktoken_stream_init(&ts, r->tok);
    printf("---- sample (%s) ----\n", title);
    int chars = 0;
    for (int pos = 0; pos < maxlen && chars < r->o.sample_chars; pos++) {
        float *logits = model_forward_kv(m, &token, 1, pos, 0);
        if (!logits) die("sampling: model_forward_kv failed at position %d", pos);
        // softmax(logits / temperature), then draw from it
        float mx = -INFINITY, sum = 0, temp = 0.8f;
        for (int i = 0; i < V; i++) if (logits[i] > mx) mx = logits[i];
        for (int i = 0; i < V; i++) { probs[i] = expf((logits[i] - mx) / temp); sum += probs[i]; }
        float u = rng_float(&r->st.sample_rng) * sum, acc = 0;
        int next = V - 1;
        for (int i = 0; i < V; i++) { acc += probs[i]; if (u < acc) { next = i; break; } }
        size_t len;
        const char *s = tiktoken_stream_feed(&ts, next, &len);
        if (s) {
            fwrite(s, 1, len, stdout);
            for (size_t i = 0; i < len; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
        }
        token = next;
    }
    size_t len;
    const char *s = tiktoken_stream_flush(&ts, &len);
    if (s) fwrite(s, 1, len, stdout);
    tiktoken_stream_free(&ts);
    printf("\n----\n");
    fflush(stdout);
    m->training = 1;
    free(probs);
}

// The first parameter tensor whose gradient (or value) is not finite; NULL when all are.
static const char *first_nonfinite(const Model *m, const float *base, size_t *index) {
    size_t off = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        for (size_t i = 0; i < m->param_sizes[t]; i++)
            if (!isfinite(base[off + i])) { *index = i; return param_tensor_names[t]; }
        off += m->param_sizes[t];
    }
    return NULL;
}

static void save_pair(Run *r) {
    char mp[TRAIN_PATH_MAX + 64], sp[TRAIN_PATH_MAX + 64], err[512];
    const char *dir = r->o.ckpt_dir;
    ckpt_model_path(mp, sizeof mp, dir, r->st.step);
    ckpt_state_path(sp, sizeof sp, dir, r->st.step);
    r->st.model_checksum = checksum64(r->m->params_memory, r->m->num_parameters * sizeof(float));
    r->st.data = dataloader_get_state(&r->train);
    r->st.elapsed_s += now_s() - r->run_start;    // bank this run's time into the state...
    double banked = r->st.elapsed_s;
    // model first, then state: --resume only trusts a state whose model is already complete
    if (checkpoint_save_step(r->m, mp, r->tok_path, r->o.pattern, r->st.step, err, sizeof err) ||
        train_state_save(sp, &r->st, r->adam_m, r->adam_v, r->m->num_parameters, err, sizeof err))
        die("saving checkpoint: %s (the previous checkpoint is intact)", err);
    r->st.elapsed_s = banked - (now_s() - r->run_start);  // ...and un-bank it (time keeps running)
    ckpt_prune(dir, r->o.keep_last);
}

static void log_row(Run *r, long step, float train_loss, float val_loss, float lr, float norm, double tps) {
    if (!r->log) return;
    char tl[32] = "", vl[32] = "", lrs[32] = "", ns[32] = "", tp[32] = "";
    // %.9g prints a float exactly (it round-trips), so logs of two runs compare bit for bit
    if (isfinite(train_loss)) snprintf(tl, sizeof tl, "%.9g", train_loss);
    if (isfinite(val_loss)) snprintf(vl, sizeof vl, "%.9g", val_loss);
    if (lr >= 0) snprintf(lrs, sizeof lrs, "%.6e", lr);
    if (norm >= 0) snprintf(ns, sizeof ns, "%.6f", norm);
    if (tps >= 0) snprintf(tp, sizeof tp, "%.1f", tps);
    fprintf(r->log, "%ld,%s,%s,%s,%s,%s,%.3f\n", step, tl, vl, lrs, ns, tp, r->st.elapsed_s + now_s() - r->run_start);
    fflush(r->log);
}

// Opens the CSV log. A resumed run keeps the rows of the steps before `from` (later rows were
// logged after the checkpoint it resumes from, and will be logged again).
static FILE *open_log(const char *path, long from, int resumed) {
    static const char *header = "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n";
    char *keep = NULL;
    size_t keep_len = 0;
    if (resumed) {
        FILE *old = fopen(path, "r");
        if (old) {
            FILE *mem = open_memstream(&keep, &keep_len);
            char line[1024];
            int first = 1;
            while (fgets(line, sizeof line, old)) {
                if (first) { first = 0; if (!strcmp(line, header)) continue; }
                char *end;
                long s = strtol(line, &end, 10);
                size_t len = strlen(line);   // a row cut short by a kill has no '\n': dropped
                if (end != line && *end == ',' && s < from && len && line[len - 1] == '\n') fputs(line, mem);
            }
            fclose(old);
            fclose(mem);
        }
    }
    // rewrite it atomically (a kill now must not lose the rows kept), then append to it
    char err[1200];
    AtomicFile af;
    if (atomic_open(&af, path, err, sizeof err)) die("--log: %s", err);
    if (atomic_write(&af, header, strlen(header), err, sizeof err) || atomic_write(&af, keep, keep_len, err, sizeof err)) {
        atomic_abort(&af);
        die("--log: %s", err);
    }
    if (atomic_commit(&af, err, sizeof err)) die("--log: %s", err);
    free(keep);
    FILE *f = fopen(path, "a");
    if (!f) die("--log %s: %s", path, strerror(errno));
    return f;
}

static void fmt_duration(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 1e8) { snprintf(buf, cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
}

// total 0: not known yet (--steps 0 before its plan)
static void progress(Run *r, long step, long total, float loss, float lr, float norm, double tps, double ms, double eta) {
    char e[32], tot[32] = "?";
    fmt_duration(e, sizeof e, total > 0 ? eta : -1);
    if (total > 0) snprintf(tot, sizeof tot, "%ld", total);
    if (r->tty) {
        int width = 24, fill = total > 0 ? (int)((double)(step + 1) / total * width) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        printf("\r[%s] step %ld/%s | loss %.4f | lr %.2e | norm %.3f | %.0f tok/s | %.0f ms | ETA %s\033[K",
               bar, step + 1, tot, loss, lr, norm, tps, ms, e);
        r->bar_open = 1;
    } else {
        printf("step %ld/%s | loss %.4f | lr %.2e | norm %.3f | %.0f tok/s | %.0f ms | ETA %s\n",
               step + 1, tot, loss, lr, norm, tps, ms, e);
    }
    fflush(stdout);
}

// Finds the newest checkpoint pair in dir that loads and agrees; dies if there is none.
static Model *load_resume(Run *r) {
    const char *dir = r->o.resume;
    size_t n;
    uint64_t *steps = ckpt_list_steps(dir, &n);
    if (!steps) die("--resume %s: cannot read the directory: %s", dir, strerror(errno));
    if (n == 0) die("--resume %s: no state_<step>.bin in it", dir);
    char err[1400], last_err[1400] = "";
    for (size_t i = 0; i < n; i++) {
        char mp[TRAIN_PATH_MAX + 64], sp[TRAIN_PATH_MAX + 64];
        ckpt_model_path(mp, sizeof mp, dir, steps[i]);
        ckpt_state_path(sp, sizeof sp, dir, steps[i]);
        CheckpointInfo info;
        Model *m = checkpoint_load_info(mp, &info, err, sizeof err);
        if (m) {
            float *am = malloc(m->num_parameters * sizeof(float)), *av = malloc(m->num_parameters * sizeof(float));
            if (!am || !av) die("out of memory for the optimizer state");
            if (train_state_load(sp, &r->st, am, av, m->num_parameters, err, sizeof err) == 0) {
                uint64_t sum = checksum64(m->params_memory, m->num_parameters * sizeof(float));
                if (r->st.step == steps[i] && sum == r->st.model_checksum) {
                    r->adam_m = am; r->adam_v = av;
                    free(steps);
                    return m;
                }
                snprintf(err, sizeof err, "%.600s does not belong to %.600s", sp, mp);
            }
            free(am); free(av);
            model_free(m);
        }
        if (i + 1 < n) fprintf(stderr, "train: skipping step %" PRIu64 " checkpoint: %s\n", steps[i], err);
        snprintf(last_err, sizeof last_err, "%s", err);
    }
    free(steps);
    die("--resume %s: no loadable checkpoint (%s)", dir, last_err);
}

int main(int argc, char **argv) {
    Run run, *r = &run;
    memset(r, 0, sizeof *r);
    parse_args(argc, argv, &r->o);
    TrainOptions *o = &r->o;
    char err[600];

    // ---- the model: resumed, initialized from a checkpoint, or fresh ----
    Model *m;
    int resumed = o->resume[0] != '\0';
    if (resumed) {
        TrainOptions now = *o;
        m = load_resume(r);
        TrainOptions saved = r->st.opts;
        *o = now;
        merge_resume_options(o, &saved);
        check_options(o, o->resume);
    } else {
        apply_preset(o);
        if (o->init[0])
            for (int c = O_DIM; c <= O_HIDDEN_DIM; c++)
                if (given[c]) die("shape flags cannot be combined with --init (the shape comes from the checkpoint)");
        m = NULL;
    }
    if (o->threads > 0) { omp_set_num_threads(o->threads); openblas_set_num_threads(o->threads); }
    cpu_load_warn("train", omp_get_max_threads());
    if (o->lr_schedule != LR_CONSTANT && o->min_lr > o->lr) die("--min-lr %g is above --lr %g", o->min_lr, o->lr);
    if (o->steps == 0 && o->max_minutes <= 0) die("--steps 0 (fit the time budget) needs --max-minutes");

    // --init from a Hugging Face directory: its tokenizer.model unless --tokenizer names one.
    // None is needed: the shards hold ids, and the model's vocabulary is checked against them
    // (a tokenizer adds bits/byte and text samples).
    struct stat init_st;
    int init_hf = !m && o->init[0] && stat(o->init, &init_st) == 0 && S_ISDIR(init_st.st_mode);
    Config init_cfg;
    HfModel init_ids;
    if (init_hf) {
        if (hf_read_config(&init_cfg, &init_ids, o->init, 0, err, sizeof err) != 0) die("--init: %s", err);
        if (!given[O_TOKENIZER]) {
            snprintf(o->tokenizer, sizeof o->tokenizer, "%.900s/tokenizer.model", o->init);
            if (access(o->tokenizer, R_OK) != 0) o->tokenizer[0] = '\0';
        }
        // the model's own attention dropout, unless --att-dropout says otherwise
        if (!given[O_ATT_DROPOUT]) o->att_dropout = init_cfg.att_dropout;
    }

    // tokenizer (optional): vocabulary size, bytes per token for bits/byte, samples
    if (o->tokenizer[0]) {
        // the pattern: --pattern, else the one bin/bpe-train recorded beside the vocabulary, else
        // the one an original file's size implies; a --pattern other than the recorded one fails
        r->tok = tiktoken_load(o->tokenizer, o->pattern[0] ? o->pattern : NULL, err, sizeof err);
        if (!r->tok) die("--tokenizer %s", err);
        strcpy(o->pattern, tiktoken_pattern_name(r->tok));
        // absolute, so bin/infer finds it from any directory (the sha256 beside it catches a
        // file that changed since)
        r->tok_path = realpath(o->tokenizer, NULL);
        if (!r->tok_path) die("--tokenizer %s: %s", o->tokenizer, strerror(errno));
    }

    // data
    if (dataloader_init(&r->train, o->data, o->batch, o->seq, o->shuffle, rng_derive(o->seed, 1), err, sizeof err))
        die("--data: %s", err);
    if (dataloader_init(&r->val, o->val_data, o->batch, o->seq, 0, 0, err, sizeof err))
        die("--val-data: %s", err);
    if (r->val.n_shards > 1)   // an evaluation reads from the start of the first shard only
        die("--val-data: %d files match \"%s\"; evaluation takes one shard", r->val.n_shards, o->val_data);
    int max_tok = dataloader_max_token(&r->train), vmax = dataloader_max_token(&r->val);
    if (vmax > max_tok) max_tok = vmax;
    int vocab = r->tok ? tiktoken_vocab_size(r->tok) : init_hf ? init_cfg.vocab_size : max_tok + 1;
    if (max_tok >= vocab && !r->tok)
        die("the shards hold token id %d but the model's vocabulary has only %d ids", max_tok, vocab);
    if (max_tok >= vocab)
        die("the shards hold token id %d but the tokenizer %s has only %d ids (shards made with another tokenizer?)",
            max_tok, o->tokenizer, vocab);

    if (!m && o->init[0]) {
        if (init_hf) {
            // f32 copies of every weight (the files are closed again); the RoPE table covers what
            // the run needs (--seq, and 4096 positions for samples and later inference), capped at
            // the model's max_position_embeddings
            int max_pos = init_cfg.max_seq_len, want = o->seq > 4096 ? o->seq : 4096;
            if (o->seq > max_pos) die("--seq %d is longer than the model's max_position_embeddings %d", o->seq, max_pos);
            HfModel hf;
            if (hf_load(&hf, o->init, 1, want < max_pos ? want : max_pos, err, sizeof err) != 0) die("--init: %s", err);
            m = hf.model;
            hf.model = NULL;
            hf_free(&hf);
        } else {
            CheckpointInfo info;
            m = checkpoint_load_info(o->init, &info, err, sizeof err);
            if (!m) die("--init: %s", err);
        }
        if (m->config.vocab_size != vocab)
            die("--init %s: the model's vocabulary is %d but the data/tokenizer use %d", o->init, m->config.vocab_size, vocab);
        if (o->seq > m->config.max_seq_len)
            die("--seq %d is longer than the model's max_seq_len %d", o->seq, m->config.max_seq_len);
        o->dim = m->config.dim; o->n_layers = m->config.n_layers; o->n_heads = m->config.n_heads;
        o->n_kv_heads = m->config.n_kv_heads; o->hidden_dim = m->config.hidden_dim;
    }
    if (!m) {
        Config c;
        memset(&c, 0, sizeof c);
        c.dim = o->dim; c.n_layers = o->n_layers; c.n_heads = o->n_heads; c.n_kv_heads = o->n_kv_heads;
        if (o->dim % o->n_heads) die("--dim %d is not a multiple of --n-heads %d", o->dim, o->n_heads);
        c.head_dim = o->dim / o->n_heads;
        c.hidden_dim = o->hidden_dim; c.vocab_size = vocab; c.max_seq_len = o->seq;
        c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.tied_embeddings = 1; c.dropout = o->dropout;
        c.att_dropout = o->att_dropout;
        m = model_create(&c, 1, err, sizeof err);
        if (!m) die("model: %s", err);
        model_init_random(m, o->seed);
        model_point_weights(m);
    }
    r->m = m;
    if (resumed && m->config.vocab_size != vocab)
        die("--resume: the checkpoint's vocabulary is %d but the data/tokenizer use %d", m->config.vocab_size, vocab);
    m->config.dropout = o->dropout;
    m->config.att_dropout = o->att_dropout;   // a training setting: checkpoints do not carry it
    if (o->seq > m->config.max_seq_len) die("--seq %d is longer than the model's max_seq_len %d", o->seq, m->config.max_seq_len);
    // the sampler's KV cache: a sample is a few hundred tokens, never more than 1024 positions
    r->sample_len = m->config.max_seq_len < 1024 ? m->config.max_seq_len : 1024;
    if (model_kv_alloc(m, r->sample_len) != 0) die("out of memory for the sampling KV cache");

    // bytes per token, for bits per byte
    if (r->tok) {
        r->token_bytes = calloc(vocab, sizeof(int));
        for (int i = 0; i < vocab; i++) {
            size_t len = 0;
            if (tiktoken_token_bytes(r->tok, i, &len)) r->token_bytes[i] = (int)len;
        }
    }

    // optimizer state: fresh zeros unless resumed
    size_t np = m->num_parameters;
    if (!resumed) {
        r->adam_m = calloc(np, sizeof(float));
        r->adam_v = calloc(np, sizeof(float));
        if (!r->adam_m || !r->adam_v) die("out of memory for the optimizer state (%zu parameters)", np);
        r->st.opts = *o;
        r->st.sample_rng = rng_derive(o->seed, 3);
        r->st.dropout_seed = rng_derive(o->seed, 2);
        r->st.best_val = INFINITY;
    } else {
        if (dataloader_set_state(&r->train, r->st.data, err, sizeof err)) die("--resume: %s", err);
        r->st.opts = *o;
    }
    m->dropout_seed = r->st.dropout_seed;
    // weight decay on matrices; RMSNorm gains only with --decay-all (see train/adamw.h)
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) r->decay[t] = adamw_decays(param_tensor_names[t], o->decay_all);

    // checkpoint directory: create it and prove it is writable now, not after an hour of training
    if (mkdir(o->ckpt_dir, 0755) != 0 && errno != EEXIST) die("--ckpt-dir %s: %s", o->ckpt_dir, strerror(errno));
    int stale = ckpt_remove_stale_temps(o->ckpt_dir);
    if (stale) fprintf(stderr, "train: removed %d unfinished temporary file(s) of a killed run from %s\n", stale, o->ckpt_dir);
    if (!resumed) {   // never mix two runs' step numbers in one directory
        size_t n;
        uint64_t *old = ckpt_list_steps(o->ckpt_dir, &n);
        if (old && n > 0)
            die("--ckpt-dir %s already holds a run (state_%08" PRIu64 ".bin): continue it with --resume %s, or use another --ckpt-dir",
                o->ckpt_dir, old[0], o->ckpt_dir);
        free(old);
    }
    {
        char probe[TRAIN_PATH_MAX + 64];
        snprintf(probe, sizeof probe, "%s/.write_test", o->ckpt_dir);
        AtomicFile af;
        if (atomic_open(&af, probe, err, sizeof err)) die("--ckpt-dir: %s", err);
        atomic_abort(&af);
    }
    if (o->log[0]) r->log = open_log(o->log, (long)r->st.step, resumed);
    r->tty = isatty(fileno(stdout));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int B = o->batch, T = o->seq, A = o->grad_accum;
    long tokens_per_step = (long)B * T * A;
    printf("model: dim %d, %d layers, %d heads (%d kv), hidden %d, vocab %d, seq %d: %zu parameters\n",
           m->config.dim, m->config.n_layers, m->config.n_heads, m->config.n_kv_heads, m->config.hidden_dim,
           m->config.vocab_size, T, np);
    if (r->train.n_shards > 1)
        printf("data: %d train shards, one per epoch in turn (%zu tokens in the first), %zu val tokens; "
               "%ld tokens per step (batch %d x seq %d x accum %d)\n", r->train.n_shards,
               r->train.shards[0].num_tokens, r->val.shard->num_tokens, tokens_per_step, B, T, A);
    else
        printf("data: %zu train tokens, %zu val tokens; %ld tokens per step (batch %d x seq %d x accum %d)\n",
               r->train.shard->num_tokens, r->val.shard->num_tokens, tokens_per_step, B, T, A);
    if (resumed) printf("resumed from %s at step %" PRIu64 "\n", o->resume, r->st.step);
    fflush(stdout);

    r->lr = (LrConfig){(LrSchedule)o->lr_schedule, o->lr, o->min_lr, o->warmup, o->steps, o->decay_frac};
    r->budget_s = o->max_minutes * 60.0;
    r->run_start = now_s();
    m->training = 1;

    // ---- the loop: step s evaluates/samples on the weights after s updates, then does update s ----
    long step = (long)r->st.step, start_step = step;
    double ema_ms = -1, eval_s = 0;
    const char *why = "done";
    int finishing = 0;                                   // the time budget is spent: wrap up
    // --steps 0: the time budget sets the schedule. After the warmup steps, the lr follows the
    // share of the budget's training time already spent (lr_at_progress), so the decay reaches
    // min_lr when the budget runs out however fast the machine is, or however its speed changes
    // on the way; the step count is whatever fits. The total shown, and recorded in checkpoints
    // for a resume (which then continues step by step), is estimated from the time's progress.
    int time_mode = o->steps == 0;
    double warm_end_t = -1;       // seconds into the run when warmup ended
    long announce_at = o->warmup + 20;
    Profile prof = {0};
    int step_plan_pending = time_mode;
    long total = time_mode ? step + 1000000000L : o->steps;
    r->lr.total = total;
    r->pending_val = NAN;
    for (;; step++) {
        int last = step >= total || finishing;
        if ((o->eval_every > 0 && step % o->eval_every == 0) || last) {
            double t0 = now_s(), bpb;
            int nb;
            float vl = evaluate(r, &bpb, &nb);
            eval_s = now_s() - t0;
            bar_break(r);
            if (isfinite(bpb)) printf("eval step %ld: val loss %.4f nats/token, %.4f bits/byte (%d batches)\n", step, vl, bpb, nb);
            else printf("eval step %ld: val loss %.4f nats/token (%d batches)\n", step, vl, nb);
            fflush(stdout);
            if (vl < r->st.best_val) {
                r->st.best_val = vl;
                r->st.best_step = (uint64_t)step;
                char bp[TRAIN_PATH_MAX + 64];
                snprintf(bp, sizeof bp, "%s/model_best.bin", o->ckpt_dir);
                if (checkpoint_save_step(m, bp, r->tok_path, o->pattern, (uint64_t)step, err, sizeof err))
                    die("saving checkpoint: %s (the previous checkpoint is intact)", err);
            }
            if (last) {
                log_row(r, step, NAN, vl, -1, -1, -1);
                r->final_val = vl;
                r->final_bpb = bpb;
            }
            else r->pending_val = vl;
        }
        if (last) {
            save_pair(r);   // before the sample, so the saved sampler RNG is the one a resume needs
            char title[64];
            snprintf(title, sizeof title, "step %ld, end", step);
            sample(r, title);
            break;
        }
        if (o->sample_every > 0 && step % o->sample_every == 0 && step > 0) {
            bar_break(r);
            char title[64];
            snprintf(title, sizeof title, "step %ld", step);
            sample(r, title);
        }

        // --- one update ---
        double t0 = now_s(), t_data = 0;
        m->profile = profile_on;           // ops are timed during updates only, not evals
        model_zero_grad(m);
        float loss = 0;
        for (int a = 0; a < A; a++) {
            double td = now_s();
            dataloader_next_batch(&r->train);
            t_data += now_s() - td;
            m->dropout_step = (uint64_t)step * A + a;     // a fresh, reproducible dropout mask
            r->st.dropout_step = m->dropout_step + 1;
            float l = model_forward(m, r->train.inputs, r->train.targets, B, T);
            if (!isfinite(l)) {
                size_t idx;
                const char *bad = first_nonfinite(m, m->params_memory, &idx);
                if (bad) die("step %ld: loss is %f; parameter %s[%zu] is not finite (last good checkpoint kept in %s)", step, l, bad, idx, o->ckpt_dir);
                die("step %ld: loss is %f (last good checkpoint kept in %s)", step, l, o->ckpt_dir);
            }
            model_backward(m);
            loss += l / A;
        }
        m->profile = 0;
        double t_opt = now_s();
        if (step == debug_nan_at) m->grads.wq[0] = NAN;
        if (A > 1)   // backward summed A mean-gradients; the update wants their mean
            for (size_t i = 0; i < np; i++) m->grads_memory[i] /= A;
        double norm = grad_global_norm(m->grads_memory, np);
        if (!isfinite(norm)) {
            size_t idx = 0;
            const char *bad = first_nonfinite(m, m->grads_memory, &idx);
            die("step %ld: gradient of %s[%zu] is not finite (last good checkpoint kept in %s)", step,
                bad ? bad : "?", idx, o->ckpt_dir);
        }
        grad_clip(m->grads_memory, np, norm, o->grad_clip);
        float lr;
        if (time_mode) {
            // training must stop by `end`, leaving room for the final evaluation
            double t = now_s() - r->run_start, end = r->budget_s - eval_s - 1.0, f = 0;
            if (step >= o->warmup) {
                if (warm_end_t < 0) warm_end_t = t0 - r->run_start;   // this step is the first after warmup
                f = end > warm_end_t ? (t - warm_end_t) / (end - warm_end_t) : 1.0;
            }
            lr = lr_at_progress(&r->lr, step, f);
            if (f > 0 && f < 1) {   // the total this progress implies (see lr_at: f = (s - w) / (total - 1 - w))
                total = o->warmup + 1 + (long)ceil((step - o->warmup) / f);
                if (total <= step + 1) total = step + 2;
                o->steps = r->st.opts.steps = total;
                r->lr.total = total;
                step_plan_pending = 0;
            }
        } else {
            lr = lr_at(&r->lr, step);
        }
        adamw_update_tensors(m->params_memory, m->grads_memory, r->adam_m, r->adam_v, m->param_sizes, r->decay,
                             NUM_PARAM_TENSORS, lr, o->beta1, o->beta2, o->eps, o->weight_decay, (uint64_t)step + 1);
        r->st.step = (uint64_t)step + 1;
        r->st.tokens_seen += tokens_per_step;
        double ms = (now_s() - t0) * 1000.0;
        if (profile_on) { prof.steps++; prof.step_s += ms / 1000.0; prof.data_s += t_data; prof.opt_s += now_s() - t_opt; }
        ema_ms = ema_ms < 0 ? ms : 0.9 * ema_ms + 0.1 * ms;
        double tps = tokens_per_step / (ms / 1000.0);

        if (time_mode && step == announce_at && !step_plan_pending) {
            bar_break(r);
            printf("time budget: the lr follows the share of --max-minutes %g spent; about %ld steps at %.0f ms/step\n",
                   o->max_minutes, total, ema_ms);
        }
        double eta = (total - step - 1) * ema_ms / 1000.0;
        progress(r, step, step_plan_pending ? 0 : total, loss, lr, (float)norm, tps, ms, eta);
        log_row(r, step, loss, r->pending_val, lr, (float)norm, tps);
        r->pending_val = NAN;

        // stop early: Ctrl-C or --stop-at save now; the time budget wraps up (eval, save, sample)
        if (step + 1 < total) {
            if (stop_requested) why = "interrupted";
            else if (o->stop_at > 0 && step + 1 >= o->stop_at) why = "stop-at";
            if (strcmp(why, "done")) { bar_break(r); save_pair(r); break; }
            if (r->budget_s > 0 && now_s() - r->run_start + ema_ms / 1000.0 + eval_s + 1.0 > r->budget_s) {
                why = "time";
                finishing = 1;
                continue;
            }
            if (o->ckpt_every > 0 && (step + 1) % o->ckpt_every == 0) save_pair(r);
        }
    }
    char mp[TRAIN_PATH_MAX + 64];
    ckpt_model_path(mp, sizeof mp, o->ckpt_dir, r->st.step);
    double took = now_s() - r->run_start;
    int finished = !strcmp(why, "done");
    if (profile_on) print_profile(m, &prof, B * T * A);
    if (finished || !strcmp(why, "time")) {   // both ended with a final evaluation
        printf("%s: %" PRIu64 " steps in %.1f s (%.0f tokens/s, %d threads)\n", finished ? "done" : "time budget spent",
               r->st.step, took, (double)(r->st.step - start_step) * tokens_per_step / took, omp_get_max_threads());
        if (isfinite(r->final_bpb))
            printf("final val loss %.4f nats/token, %.4f bits/byte (best %.4f nats/token at step %" PRIu64 ")\n",
                   r->final_val, r->final_bpb, r->st.best_val, r->st.best_step);
        else
            printf("final val loss %.4f nats/token (best %.4f at step %" PRIu64 ")\n", r->final_val, r->st.best_val, r->st.best_step);
        printf("checkpoints: %s (last), %s/model_best.bin (best val)\n", mp, o->ckpt_dir);
    }
    if (finished) {
        printf("sample more: bin/infer %s/model_best.bin\n", o->ckpt_dir);
    } else {
        const char *what = !strcmp(why, "interrupted") ? "interrupted"
                         : !strcmp(why, "time") ? "stopped at the --max-minutes budget"
                         : "stopped at --stop-at";
        if (step_plan_pending) printf("%s after step %" PRIu64 " (before --steps 0 planned a total); saved %s\n", what, r->st.step, mp);
        else printf("%s after step %" PRIu64 "/%ld; saved %s\n", what, r->st.step, total, mp);
        printf("resume with: bin/train --resume %s\n", o->ckpt_dir);
    }
    if (r->log) fclose(r->log);
    dataloader_free(&r->train);
    dataloader_free(&r->val);
    free(r->adam_m); free(r->adam_v); free(r->token_bytes); free(r->tok_path);
    if (r->tok) tiktoken_free(r->tok);
    model_free(m);
    return 0;
}
