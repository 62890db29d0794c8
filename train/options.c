// train/options.c — see options.h. The table below is bin/train's whole command line.
#include "train/options.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/errors.h"
#include "util/flags.h"

#define F(field) offsetof(TrainOptions, field), sizeof(((TrainOptions *)0)->field)
#define GROUP(title) {title, K_GROUP, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, NULL, NULL}
#define BIG ((double)(1L << 40))

// Version-1 rows are in the state file's order; later rows are appended after the state fields.
static const FlagRow rows[] = {
    GROUP("data"),
    {"data", K_PATH, F(data), 0, 0, 0, NULL, "data/shakespeare/train.bin", 0, 1, "FILE",
     "training shard, or a quoted glob of several read one per epoch in turn (make train:\n"
     "'data/shakespeare/train_bpe_dropout_*.bin', from bin/prepare --variants)"},
    {"val-data", K_PATH, F(val_data), 0, 0, 0, NULL, "data/shakespeare/val.bin", 0, 1, "FILE", "validation shard"},
    {"tokenizer", K_PATH, F(tokenizer), 0, 0, 0, NULL, "data/shakespeare/bpe.tiktoken", 0, 1, "FILE",
     "tiktoken rank file the shards were made with, for bits/byte and samples (\"\" for none)"},
    {"pattern", K_CHOICE, F(pattern), 0, 0, 0, "gpt2,cl100k,llama3", NULL, 0, 1, "NAME",
     "the tokenizer's split pattern (default: the one bin/bpe-train recorded in TOKENIZER.pattern,\n"
     "else known from the rank count of the three original files; another than the recorded one fails)"},
    GROUP("model (a preset's shape unless given; the vocabulary comes from the tokenizer)"),
    {"preset", K_CHOICE, F(preset), 0, 0, 0, "tiny,small", "tiny", 0, 1, "NAME", "the settings marked tiny/small below"},
    {"dim", K_INT, F(dim), 1, 65536, 0, NULL, NULL, 0, 1, "N", "model width C"},
    {"n-layers", K_INT, F(n_layers), 1, 1024, 0, NULL, NULL, 0, 1, "N", "transformer layers L"},
    {"n-heads", K_INT, F(n_heads), 1, 1024, 0, NULL, NULL, 0, 1, "N", "query heads NH"},
    {"n-kv-heads", K_INT, F(n_kv_heads), 1, 1024, 0, NULL, NULL, 0, 1, "N", "key/value heads NKV (grouped-query attention)"},
    {"hidden-dim", K_INT, F(hidden_dim), 1, 1 << 20, 0, NULL, NULL, 0, 1, "N", "SwiGLU hidden width H"},
    {"seq", K_INT, F(seq), 2, 1 << 16, 0, NULL, NULL, 0, 1, "N", "sequence length T"},
    GROUP("optimization"),
    {"batch", K_INT, F(batch), 1, 1 << 16, 0, NULL, NULL, 0, 1, "N", "sequences per micro-batch B"},
    {"grad-accum", K_INT, F(grad_accum), 1, 1 << 16, 0, NULL, "1", 0, 1, "N", "micro-batches per update"},
    {"steps", K_LONG, F(steps), 0, BIG, 0, NULL, "2000", 1, 1, "N",
     "updates; 0 = as many as fit in --max-minutes, the lr following the share of the time spent"},
    {"max-minutes", K_F64, F(max_minutes), 0, 1e7, 0, NULL, "0", 1, 1, "M",
     "stop (and save) when this run has used M minutes; 0 = no limit"},
    {"stop-at", K_LONG, F(stop_at), 0, BIG, 0, NULL, NULL, 1, 1, NULL, NULL},   // SCRATCHLLAMA_STOP_AT
    {"lr", K_F32, F(lr), 0, 10, 0, NULL, NULL, 0, 1, "X", "peak learning rate"},
    {"min-lr", K_F32, F(min_lr), 0, 10, 0, NULL, NULL, 0, 1, "X", "final learning rate of the decay"},
    {"warmup", K_LONG, F(warmup), 0, BIG, 0, NULL, NULL, 0, 1, "N", "linear warmup steps"},
    {"lr-schedule", K_ENUM, F(lr_schedule), 0, 0, 0, "cosine,constant,wsd", "cosine", 0, 1, "S",
     "the decay after warmup (train/schedule.h)"},
    {"weight-decay", K_F32, F(weight_decay), 0, 10, 0, NULL, NULL, 0, 1, "X", "AdamW's decoupled weight decay"},
    {"beta1", K_F32, F(beta1), 0, 0.999999, 0, NULL, "0.9", 0, 1, "X", "AdamW's first-moment decay"},
    {"beta2", K_F32, F(beta2), 0, 0.999999, 0, NULL, "0.95", 0, 1, "X", "AdamW's second-moment decay"},
    {"eps", K_F32, F(eps), 1e-30, 1, 0, NULL, "1e-8", 0, 1, "X", "AdamW's epsilon"},
    {"grad-clip", K_F32, F(grad_clip), 0, 1e9, 0, NULL, "1.0", 0, 1, "X", "clip the global gradient norm to X; 0 = off"},
    {"dropout", K_F32, F(dropout), 0, 0.95, 0, NULL, NULL, 0, 1, "P", "residual dropout while training; off in eval and sampling"},
    {"decay-all", K_INT, F(decay_all), 0, 1, 0, NULL, "0", 0, 1, "0|1",
     "1: decay every tensor (torch's AdamW on all parameters); 0: not the RMSNorm gains"},
    {"seed", K_U64, F(seed), 0, 9.2e18, 0, NULL, "1337", 0, 1, "N", "initialization, shuffling, dropout and sampling"},
    GROUP("evaluation, samples, checkpoints"),
    {"eval-every", K_LONG, F(eval_every), 0, BIG, 0, NULL, "200", 1, 1, "N", "evaluate every N steps and at the end; 0 = only at the end"},
    {"eval-batches", K_INT, F(eval_batches), 1, 1 << 20, 0, NULL, "32", 1, 1, "N", "validation batches per evaluation (capped at the val shard)"},
    {"sample-every", K_LONG, F(sample_every), 0, BIG, 0, NULL, "500", 1, 1, "N", "print a sample every N steps and at the end; 0 = only at the end"},
    {"sample-chars", K_INT, F(sample_chars), 0, 1 << 20, 0, NULL, "400", 1, 1, "N", "about how many characters a sample has"},
    {"ckpt-dir", K_PATH, F(ckpt_dir), 0, 0, 0, NULL, "checkpoints", 1, 1, "DIR", "where model_<step>.bin, state_<step>.bin, model_best.bin go"},
    {"ckpt-every", K_LONG, F(ckpt_every), 0, BIG, 0, NULL, "500", 1, 1, "N", "save every N steps (and always at the end); 0 = only at the end"},
    {"keep-last", K_INT, F(keep_last), 1, 1 << 20, 0, NULL, "2", 1, 1, "K", "keep the newest K model/state pairs, plus model_best.bin"},
    {"resume", K_PATH, F(resume), 0, 0, 0, NULL, NULL, 1, 1, "DIR",
     "continue the run saved in DIR exactly: its settings come from the saved state; only the flags\n"
     "marked [resume] may be given again"},
    {"init", K_PATH, F(init), 0, 0, 0, NULL, NULL, 0, 1, "PATH",
     "start from our checkpoint (model_*.bin) or a Hugging Face Llama folder (config.json +\n"
     "safetensors; its tokenizer.model if any; its attention_dropout as --att-dropout's default)"},
    {"threads", K_INT, F(threads), 0, 4096, 0, NULL, "0", 1, 1, "N", "OpenMP + OpenBLAS threads; 0 = all cores, or 1 when the load average is above the core count"},
    {"log", K_PATH, F(log), 0, 0, 0, NULL, NULL, 1, 1, "FILE", "CSV: step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s"},
    {"shuffle", K_INT, F(shuffle), 0, 1, 0, NULL, "1", 0, 1, "0|1",
     "1: a seeded random order of rows each epoch; 0: sequential, wrapping around like llm.c"},
    // appended by later state versions
    {"att-dropout", K_F32, F(att_dropout), 0, 0.95, 0, NULL, NULL, 0, 2, "P", "dropout on the attention probabilities while training"},
    {"decay-frac", K_F32, F(decay_frac), 0, 1, 1, NULL, "0.5", 0, 3, "F",
     "wsd: hold the peak lr, then decay linearly to --min-lr over the last F of the steps after warmup"},
    GROUP("LoRA (docs/lora.md): train low-rank adapters; --init MODEL's weights stay frozen in their dtype"),
    {"lora", K_INT, F(lora), 0, 65536, 0, NULL, "0", 0, 7, "R",
     "train rank-R adapters y += (alpha/R) (x A^T) B^T on --init MODEL's frozen matrices, A Kaiming-uniform,\n"
     "B zero (peft's init); checkpoints hold only the adapters and the base's path and sha256; 0 = off"},
    {"lora-alpha", K_F32, F(lora_alpha), 0, 1e6, 1, NULL, "8", 0, 7, "A", "the adapters' scale is alpha/R (peft's lora_alpha)"},
    {"lora-targets", K_PATH, F(lora_targets), 0, 0, 0, NULL, "q,v", 0, 7, "LIST",
     "the adapted matrices, a comma-separated list of q,k,v,o (attention) and gate,up,down (MLP)"},
    {"lora-init", K_PATH, F(lora_init), 0, 0, 0, NULL, NULL, 0, 0, "DIR",
     "start the adapters from a peft LoRA folder (adapter_config.json + adapter_model.safetensors;\n"
     "its r, lora_alpha and target_modules in place of the three flags above)"},
    GROUP("processes (mpirun -np N bin/train ...: docs/distributed.md)"),
    {"zero", K_INT, F(zero), 0, 1, 0, NULL, "0", 1, 0, "0|1",
     "1: each process keeps the AdamW moments of 1/N of the parameters (ZeRO-1: reduce-scatter the\n"
     "gradients, update the shard, all-gather the parameters); 0: every process keeps all of them\n"
     "(the state file holds them whole either way: give it again on --resume to continue bit for bit)"},
    GROUP("looking inside"),
    {"profile", K_SWITCH, F(profile), 0, 0, 0, NULL, NULL, 1, 0, NULL,
     "print where a training step's time goes, per op (forward, backward), data loading and the\n"
     "optimizer, in ms per step, at the end"},
    {"trace-step", K_LONG, F(trace_step), -1, BIG, 0, NULL, "-1", 1, 0, "N",
     "at update N, print each op's output shape and the mean/std/max of its output and of its\n"
     "gradient (-1 = off)"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])
_Static_assert(N_ROWS <= (int)sizeof(((OptionsGiven *)0)->row), "OptionsGiven too small for the table");

// Presets: values for the rows they name, applied where the command line gave none.
static const struct { const char *name, *values; } presets[] = {
    // tiny: about 1M parameters, trains in minutes on 2 cores. In a 10-minute budget it sees
    // make train's 0.34M training tokens ~16 times: without dropout val loss turns up after a
    // third of the run; dropout 0.1 on the attention probabilities and 0.025 on the residual
    // branches, weight decay 1.0, and the lr held at 3e-3 for the first half of the steps after
    // warmup and then linear down to 3e-5 (wsd) measured best (docs/training.md, "Choosing the
    // tiny preset")
    {"tiny", "dim=128 n-layers=4 n-heads=4 n-kv-heads=2 hidden-dim=384 seq=256 batch=8 lr=3e-3 min-lr=3e-5 "
             "dropout=0.025 att-dropout=0.1 weight-decay=1.0 warmup=100 lr-schedule=wsd decay-frac=0.5"},
    // small: ~10M parameters, for a longer run or a faster machine (dropout: it sees many epochs)
    {"small", "dim=384 n-layers=6 n-heads=6 n-kv-heads=2 hidden-dim=1024 seq=256 batch=16 lr=1e-3 min-lr=1e-4 "
              "dropout=0.1 att-dropout=0 weight-decay=0.1 warmup=200 lr-schedule=cosine decay-frac=0.5"},
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

static const FlagTable table;

static int find_row(const char *name) { return flags_find(&table, name); }

int options_given(const OptionsGiven *given, const char *name) {
    int i = find_row(name);
    return i >= 0 && given->row[i];
}

// "name=value name=value": the preset's values for the rows the command line left unset.
static void apply_preset(TrainOptions *o, const OptionsGiven *given) {
    int p = flags_choice_index("tiny,small", o->preset);
    if (p < 0) die("--preset: expected one of tiny,small, got \"%s\"", o->preset);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", presets[p].values);
    for (char *save, *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        int i = find_row(kv);
        if (i >= 0 && !given->row[i]) flags_set(&rows[i], o, eq + 1);
    }
}

void options_parse(int argc, char **argv, TrainOptions *o, OptionsGiven *given) {
    memset(o, 0, sizeof *o);
    int optind = flags_parse(&table, argc, argv, o, given->row);
    if (optind < argc) die("unexpected argument \"%s\" (see --help)", argv[optind]);
    const char *stop = getenv("SCRATCHLLAMA_STOP_AT");   // tests: stop as if interrupted
    if (stop && *stop) {
        int i = find_row("stop-at");
        flags_set(&rows[i], o, stop);
        given->row[i] = 1;
    }
    apply_preset(o, given);
}

// --help: a row the presets set shows each preset's value ("tiny 3e-3, small 1e-3")
static void preset_values(const FlagRow *r, char *pv, size_t n) {
    pv[0] = '\0';
    for (int p = 0; p < N_PRESETS; p++) {
        const char *at = strstr(presets[p].values, r->name);
        size_t nl = strlen(r->name);
        while (at && !((at == presets[p].values || at[-1] == ' ') && at[nl] == '=')) at = strstr(at + 1, r->name);
        if (!at) continue;
        int len = (int)strcspn(at + nl + 1, " ");
        snprintf(pv + strlen(pv), n - strlen(pv), "%s%s %.*s", pv[0] ? ", " : "", presets[p].name, len, at + nl + 1);
    }
}

static const FlagTable table = {
    rows, N_ROWS,
    "usage: bin/train [options]\n"
    "Train a Llama on token shards (bin/prepare writes them). Defaults train the tiny preset on\n"
    "tiny Shakespeare as `make train` prepares it.\n",
    NULL, NULL, preset_values, NULL,
};

void options_usage(FILE *f) { flags_usage(&table, f); }

void options_check(const TrainOptions *o, const char *where) {
    int i = flags_check(&table, o);
    if (i >= 0) die("%s: the saved setting --%s is out of range (not a state file bin/train wrote?)", where, rows[i].name);
}

void options_merge_resume(TrainOptions *o, const TrainOptions *saved, const OptionsGiven *given) {
    for (int i = 0; i < N_ROWS; i++)
        if (given->row[i] && !rows[i].resume)
            die("--%s cannot change on --resume (the run keeps its saved settings; use --init to start a new run "
                "from a checkpoint)", rows[i].name);
    TrainOptions now = *o;
    *o = *saved;
    for (int i = 0; i < N_ROWS; i++)   // what a resume may set, and the settings no state holds
        if ((given->row[i] && rows[i].resume) || (!rows[i].saved && rows[i].kind != K_GROUP))
            memcpy((char *)o + rows[i].off, (char *)&now + rows[i].off, rows[i].size);
    strcpy(o->resume, now.resume);
    o->init[0] = '\0';
    if (!options_given(given, "stop-at")) o->stop_at = 0;   // a stop point belongs to the run that reached it
    // checkpoints continue where they were unless --ckpt-dir moves them
    if (!options_given(given, "ckpt-dir")) strcpy(o->ckpt_dir, now.resume);
}

static void put_row(SerialOut *out, const FlagRow *r, const TrainOptions *o) {
    const char *p = (const char *)o + r->off;
    switch (r->kind) {
    case K_PATH: case K_CHOICE: ser_str(out, p); break;
    case K_INT: case K_ENUM: ser_i32(out, *(const int *)p); break;
    case K_LONG: ser_u64(out, (uint64_t)*(const long *)p); break;
    case K_U64: ser_u64(out, *(const uint64_t *)p); break;
    case K_F32: ser_f32(out, *(const float *)p); break;
    case K_F64: ser_f64(out, *(const double *)p); break;
    default: break;
    }
}

static void get_row(SerialIn *in, const FlagRow *r, TrainOptions *o) {
    char *p = (char *)o + r->off;
    switch (r->kind) {
    case K_PATH: case K_CHOICE: des_str(in, p, r->size); break;
    case K_INT: case K_ENUM: *(int *)p = des_i32(in); break;
    case K_LONG: *(long *)p = (long)des_u64(in); break;
    case K_U64: *(uint64_t *)p = des_u64(in); break;
    case K_F32: *(float *)p = des_f32(in); break;
    case K_F64: *(double *)p = des_f64(in); break;
    default: break;
    }
}

void options_put(SerialOut *out, const TrainOptions *o) {
    for (int i = 0; i < N_ROWS; i++)
        if (rows[i].saved == 1) put_row(out, &rows[i], o);
}

void options_get(SerialIn *in, TrainOptions *o) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < N_ROWS; i++) {
        if (rows[i].saved == 1) get_row(in, &rows[i], o);
        else if (rows[i].def) flags_set(&rows[i], o, rows[i].def);   // for a file that predates the row
    }
}

void options_put_version(SerialOut *out, const TrainOptions *o, int version) {
    for (int i = 0; i < N_ROWS; i++)
        if (rows[i].saved == version) put_row(out, &rows[i], o);
}

void options_get_version(SerialIn *in, TrainOptions *o, int version) {
    for (int i = 0; i < N_ROWS; i++)
        if (rows[i].saved == version) get_row(in, &rows[i], o);
}
