// train/run.c — setting a training run up (settings, model, tokenizer, data, optimizer state,
// checkpoint directory, log) and saving it so that --resume continues it bit for bit.
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <omp.h>
#include <cblas.h>

#include "util/atomic_file.h"
#include "util/cpu_load.h"
#include "util/errors.h"
#include "util/rng.h"
#include "util/serial.h"
#include "formats/checkpoint.h"
#include "formats/hf_loader.h"
#include "formats/lora_checkpoint.h"
#include "formats/peft.h"
#include "util/blas_core.h"
#include "util/blas_room.h"
#include "train/adamw.h"
#include "train/dist.h"
#include "train/run.h"
#include "util/timing.h"


// SIGINT / SIGTERM: finish the step, save, exit 0. The handler is one-shot (SA_RESETHAND),
// so a second Ctrl-C kills at once — the atomic writes keep the previous checkpoint valid.
volatile int run_stop_requested = 0;
static void on_signal(int sig) { (void)sig; run_stop_requested = 1; }

int run_save_model(Run *r, const char *path, uint64_t step, char *err, size_t errlen) {
    if (r->lora)
        return lora_checkpoint_save(r->lora, &r->m->config, path, r->base_path, r->base_sha256, r->tok_path, r->o.pattern,
                                    step, err, errlen);
    return checkpoint_save_step(r->m, path, r->tok_path, r->o.pattern, step, err, errlen);
}

const char *run_tensor_name(const Run *r, int t, char *buf, size_t cap) {
    if (!r->lora) return param_tensor_names[t];
    lora_tensor_name(r->lora, t, buf, cap);
    return buf;
}

// Every process calls it; process 0 writes. With --zero 1 the moments are gathered onto process
// 0 first, so the state file holds them whole, as one process's does.
void run_save(Run *r) {
    char mp[TRAIN_PATH_MAX + 64], sp[TRAIN_PATH_MAX + 64], err[LORA_PATH_MAX + 512];
    const char *dir = r->o.ckpt_dir;
    size_t np = r->np;
    float *am = r->adam_m, *av = r->adam_v;
    if (r->o.zero) {
        am = r->rank == 0 ? malloc(np * sizeof(float)) : NULL;
        av = r->rank == 0 ? malloc(np * sizeof(float)) : NULL;
        if (r->rank == 0 && (!am || !av)) die("saving checkpoint: out of memory for the optimizer state");
        dist_gather(r->adam_m, am, np);
        dist_gather(r->adam_v, av, np);
    }
    if (r->rank == 0) {
        ckpt_model_path(mp, sizeof mp, dir, r->st.step);
        ckpt_state_path(sp, sizeof sp, dir, r->st.step);
        r->st.model_checksum = checksum64(r->params, np * sizeof(float));
        r->st.data = dataloader_get_state(&r->train);
        r->st.lr_steps = r->o.steps > 0 ? (uint64_t)r->lr.total : 0;   // 0: --steps 0 has not planned yet
        r->st.ranks = (uint32_t)r->ranks;
        r->st.elapsed_s += now_s() - r->run_start;    // bank this run's time into the state...
        double banked = r->st.elapsed_s;
        // model first, then state: --resume only trusts a state whose model is already complete
        if (run_save_model(r, mp, r->st.step, err, sizeof err) ||
            train_state_save(sp, &r->st, am, av, np, err, sizeof err))
            die("saving checkpoint: %s (the previous checkpoint is intact)", err);
        r->st.elapsed_s = banked - (now_s() - r->run_start);  // ...and un-bank it (time keeps running)
        ckpt_prune(dir, r->o.keep_last);
    }
    if (r->o.zero) { free(am); free(av); }
}

// A LoRA run's pair: the adapters of model_<step>.bin and the state's moments of them; the base
// they name is loaded once (every checkpoint of a run names the same), and a base whose files
// changed ends the resume.
static Model *load_resume_lora(Run *r, const char *mp, const char *sp, uint64_t step, char *err, size_t errlen) {
    LoraInfo info;
    Lora *l = lora_checkpoint_load(mp, &info, err, errlen);
    if (!l) return NULL;
    size_t n = l->num_parameters;
    float *am = malloc(n * sizeof(float) + 1), *av = malloc(n * sizeof(float) + 1);
    if (!am || !av) die("out of memory for the optimizer state");
    int ok = train_state_load(sp, &r->st, am, av, n, err, errlen) == 0;
    if (ok && (r->st.step != step || checksum64(l->params, n * sizeof(float)) != r->st.model_checksum)) {
        snprintf(err, errlen, "%.600s does not belong to %.600s", sp, mp);
        ok = 0;
    }
    if (!ok) { free(am); free(av); lora_free(l); return NULL; }
    if (!r->base.m) {
        char why[LORA_PATH_MAX + 512];
        int seq = r->st.opts.seq;
        if (load_lora_base(&r->base, &info, seq > LOAD_DEFAULT_CTX ? seq : 0, why, sizeof why) != 0)
            die("--resume %s: %s", r->o.resume, why);
        snprintf(r->base_path, sizeof r->base_path, "%s", info.base_path);
        snprintf(r->base_sha256, sizeof r->base_sha256, "%s", info.base_sha256);
    }
    if (model_attach_lora(r->base.m, l, err, errlen) != 0) { free(am); free(av); lora_free(l); return NULL; }
    r->lora = l;
    r->adam_m = am; r->adam_v = av;
    return r->base.m;
}

// Finds the newest checkpoint pair in dir that loads and agrees; dies if there is none.
static Model *load_resume(Run *r) {
    const char *dir = r->o.resume;
    size_t n;
    uint64_t *steps = ckpt_list_steps(dir, &n);
    if (!steps) die("--resume %s: cannot read the directory: %s", dir, strerror(errno));
    if (n == 0) die("--resume %s: no state_<step>.bin in it", dir);
    char err[LORA_PATH_MAX + 1400], last_err[LORA_PATH_MAX + 1400] = "";
    for (size_t i = 0; i < n; i++) {
        char mp[TRAIN_PATH_MAX + 64], sp[TRAIN_PATH_MAX + 64];
        ckpt_model_path(mp, sizeof mp, dir, steps[i]);
        ckpt_state_path(sp, sizeof sp, dir, steps[i]);
        if (lora_checkpoint_is(mp)) {
            Model *m = load_resume_lora(r, mp, sp, steps[i], err, sizeof err);
            if (m) { free(steps); return m; }
            if (i + 1 < n) fprintf(stderr, "train: skipping step %" PRIu64 " checkpoint: %s\n", steps[i], err);
            snprintf(last_err, sizeof last_err, "%s", err);
            continue;
        }
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

// The tokenizer (optional): vocabulary size, bytes per token for bits/byte, samples.
static void open_tokenizer(Run *r) {
    TrainOptions *o = &r->o;
    char err[1200];
    if (!o->tokenizer[0]) return;
    // the pattern: --pattern, else the one bin/bpe-train recorded beside the vocabulary, else
    // the one an original file's size implies; a --pattern other than the recorded one fails
    r->tok = tiktoken_load(o->tokenizer, o->pattern[0] ? o->pattern : NULL, err, sizeof err);
    if (!r->tok) die("--tokenizer %s", err);
    strcpy(o->pattern, tiktoken_pattern_name(r->tok));
    // absolute, so bin/infer finds it from any directory (the sha256 beside it catches a file
    // that changed since)
    r->tok_path = realpath(o->tokenizer, NULL);
    if (!r->tok_path) die("--tokenizer %s: %s", o->tokenizer, strerror(errno));
    int V = tiktoken_vocab_size(r->tok);
    r->token_bytes = calloc(V, sizeof(int));
    if (!r->token_bytes) die("out of memory");
    for (int i = 0; i < V; i++) {
        size_t len = 0;
        if (tiktoken_token_bytes(r->tok, i, &len)) r->token_bytes[i] = (int)len;
    }
}

// --init: our checkpoint, or a Hugging Face folder (f32 copies of its weights). The RoPE table
// covers what the run needs (--seq, and 4096 positions for samples and later inference), capped
// at the model's max_position_embeddings.
static Model *init_from(Run *r, const Config *hf_cfg, int vocab) {
    TrainOptions *o = &r->o;
    char err[1200];
    Model *m;
    if (hf_cfg) {
        int max_pos = hf_cfg->max_seq_len, want = o->seq > 4096 ? o->seq : 4096;
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
    o->dim = m->config.dim; o->n_layers = m->config.n_layers; o->n_heads = m->config.n_heads;
    o->n_kv_heads = m->config.n_kv_heads; o->hidden_dim = m->config.hidden_dim;
    return m;
}

// --lora / --lora-init: the base loaded as bin/infer loads it (bf16 stays bf16, in its mmap), its
// identity for the checkpoints, and the adapters on it: fresh (Kaiming-uniform A, zero B) or a
// peft folder's.
static Model *lora_init_from(Run *r, const Config *hf_cfg, int vocab) {
    TrainOptions *o = &r->o;
    char err[LORA_PATH_MAX + 512];
    int ctx = o->seq > LOAD_DEFAULT_CTX ? o->seq : 0;
    if (hf_cfg && o->seq > hf_cfg->max_seq_len)
        die("--seq %d is longer than the model's max_position_embeddings %d", o->seq, hf_cfg->max_seq_len);
    char *abs = realpath(o->init, NULL);
    if (!abs) die("--init %s: %s", o->init, strerror(errno));
    snprintf(r->base_path, sizeof r->base_path, "%s", abs);
    free(abs);
    if (lora_base_sha256(r->base_path, r->base_sha256, err, sizeof err) != 0) die("--init: %s", err);
    if (load_model(&r->base, r->base_path, ctx, err, sizeof err) != 0) die("--init: %s", err);
    Model *m = r->base.m;
    if (m->config.vocab_size != vocab)
        die("--init %s: the model's vocabulary is %d but the data/tokenizer use %d", o->init, m->config.vocab_size, vocab);
    if (o->lora_init[0]) {
        r->lora = peft_read(o->lora_init, &m->config, NULL, 0, err, sizeof err);
        if (!r->lora) die("--lora-init: %s", err);
        o->lora = r->lora->rank;   // the state records what the run trains
        o->lora_alpha = r->lora->alpha;
        lora_targets_string(r->lora->targets, o->lora_targets, sizeof o->lora_targets);
    } else {
        unsigned targets;
        lora_parse_targets(o->lora_targets, &targets, err, sizeof err);   // checked at the start
        r->lora = lora_create(&m->config, o->lora, o->lora_alpha, targets, err, sizeof err);
        if (!r->lora) die("--lora %d: %s", o->lora, err);
        lora_init_random(r->lora, rng_derive(o->seed, 4));
    }
    if (model_attach_lora(m, r->lora, err, sizeof err) != 0) die("--init %s: %s", o->init, err);
    o->dim = m->config.dim; o->n_layers = m->config.n_layers; o->n_heads = m->config.n_heads;
    o->n_kv_heads = m->config.n_kv_heads; o->hidden_dim = m->config.hidden_dim;
    return m;
}

static Model *fresh_model(const TrainOptions *o, int vocab) {
    char err[512];
    Config c;
    memset(&c, 0, sizeof c);
    c.dim = o->dim; c.n_layers = o->n_layers; c.n_heads = o->n_heads; c.n_kv_heads = o->n_kv_heads;
    if (o->dim % o->n_heads) die("--dim %d is not a multiple of --n-heads %d", o->dim, o->n_heads);
    c.head_dim = o->dim / o->n_heads;
    c.hidden_dim = o->hidden_dim; c.vocab_size = vocab; c.max_seq_len = o->seq;
    c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.tied_embeddings = 1;
    Model *m = model_create(&c, 1, err, sizeof err);
    if (!m) die("model: %s", err);
    model_init_random(m, o->seed);
    model_point_weights(m);
    return m;
}

// The checkpoint directory: create it, refuse to mix two runs in it, prove it is writable now
// rather than after an hour of training.
static void prepare_ckpt_dir(Run *r) {
    const char *dir = r->o.ckpt_dir;
    char err[1200];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("--ckpt-dir %s: %s", dir, strerror(errno));
    int stale = ckpt_remove_stale_temps(dir);
    if (stale) fprintf(stderr, "train: removed %d unfinished temporary file(s) of a killed run from %s\n", stale, dir);
    if (!r->resumed) {
        size_t n = 0;
        uint64_t *old = ckpt_list_steps(dir, &n), newest = old && n > 0 ? old[0] : 0;
        if (!old) die("--ckpt-dir %s: cannot read the directory: %s", dir, strerror(errno));
        free(old);
        if (n > 0)
            die("--ckpt-dir %s already holds a run (state_%08" PRIu64 ".bin): continue it with --resume %s, or use another --ckpt-dir",
                dir, newest, dir);
    }
    char probe[TRAIN_PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s/.write_test", dir);
    AtomicFile af;
    if (atomic_open(&af, probe, err, sizeof err)) die("--ckpt-dir: %s", err);
    atomic_abort(&af);
}

void run_init(Run *r, int argc, char **argv) {
    memset(r, 0, sizeof *r);
    TrainOptions *o = &r->o;
    options_parse(argc, argv, o, &r->given);
    r->rank = dist_rank();
    r->ranks = dist_size();
    const char *nan_at = getenv("SCRATCHLLAMA_DEBUG_NAN_AT");   // tests: poison a gradient
    r->debug_nan_at = nan_at && *nan_at ? flag_long("SCRATCHLLAMA_DEBUG_NAN_AT", nan_at, 0, 1L << 40) : -1;
    char err[1200];

    // ---- the model: resumed, initialized from a checkpoint, or fresh ----
    Model *m = NULL;
    r->resumed = o->resume[0] != '\0';
    if (r->resumed) {
        TrainOptions now = *o;
        m = load_resume(r);
        TrainOptions saved = r->st.opts;
        *o = now;
        options_merge_resume(o, &saved, &r->given);
        options_check(o, o->resume);
        // the data position and the dropout masks belong to a global batch of batch x ranks rows
        int saved_ranks = (int)r->st.ranks;
        if (saved_ranks != r->ranks)
            die("--resume %s: the run was trained by %d process%s, this is %d (resume it with mpirun -np %d)", o->resume,
                saved_ranks, saved_ranks == 1 ? "" : "es", r->ranks, saved_ranks);
    } else if (o->init[0]) {
        static const char *shape[] = {"dim", "n-layers", "n-heads", "n-kv-heads", "hidden-dim"};
        for (int i = 0; i < 5; i++)
            if (options_given(&r->given, shape[i]))
                die("shape flags cannot be combined with --init (the shape comes from the checkpoint)");
    }
    int lora = o->lora > 0 || o->lora_init[0];
    if (!r->resumed && options_given(&r->given, "lora") && o->lora < 1)
        die("--lora %d: the rank must be at least 1 (leave --lora out to train every weight)", o->lora);
    if (!r->resumed && !lora && (options_given(&r->given, "lora-alpha") || options_given(&r->given, "lora-targets")))
        die("--lora-alpha and --lora-targets need --lora R");
    if (!r->resumed && lora && !o->init[0])
        die("--lora needs --init MODEL: the base model whose weights stay frozen while the adapters train");
    if (!r->resumed && o->lora_init[0] && (options_given(&r->given, "lora") || options_given(&r->given, "lora-alpha") ||
                                           options_given(&r->given, "lora-targets")))
        die("--lora-init takes the rank, alpha and targets from its adapter_config.json: leave out --lora, --lora-alpha and --lora-targets");
    if (!r->resumed && lora && lora_checkpoint_is(o->init))
        die("--init %s: a LoRA checkpoint is not a base (continue its run with --resume, or merge it with bin/export)", o->init);
    unsigned targets;
    if (!r->resumed && lora && lora_parse_targets(o->lora_targets, &targets, err, sizeof err) != 0) die("--lora-targets: %s", err);
    int threads = cpu_load_threads("train", o->threads);   // 1 on a busy machine unless --threads
    if (threads > 0) { blas_room_check(threads); omp_set_num_threads(threads); openblas_set_num_threads(threads); }
    if (o->lr_schedule != LR_CONSTANT && o->min_lr > o->lr) die("--min-lr %g is above --lr %g", o->min_lr, o->lr);
    if (o->steps == 0 && o->max_minutes <= 0) die("--steps 0 (fit the time budget) needs --max-minutes");

    // --init from a Hugging Face folder: its tokenizer.model if there is one (none is needed:
    // the shards hold ids, checked against the model's vocabulary; a tokenizer adds bits/byte
    // and text samples), its attention_dropout unless --att-dropout says otherwise
    struct stat st;
    int init_hf = !m && o->init[0] && stat(o->init, &st) == 0 && S_ISDIR(st.st_mode);
    Config hf_cfg;
    if (init_hf) {
        HfModel ids;
        if (hf_read_config(&hf_cfg, &ids, o->init, 0, err, sizeof err) != 0) die("--init: %s", err);
        if (!options_given(&r->given, "tokenizer")) {
            snprintf(o->tokenizer, sizeof o->tokenizer, "%.900s/tokenizer.model", o->init);
            if (access(o->tokenizer, R_OK) != 0) o->tokenizer[0] = '\0';
        }
        if (!options_given(&r->given, "att-dropout")) o->att_dropout = hf_cfg.att_dropout;
    }
    open_tokenizer(r);

    // ---- data: every process reads the global batch (batch x ranks rows) and takes its rows ----
    int global_batch = o->batch * r->ranks;
    r->row0 = r->rank * o->batch;
    if (dataloader_init(&r->train, o->data, global_batch, o->seq, o->shuffle, rng_derive(o->seed, 1), err, sizeof err))
        die("--data: %s", err);
    if (dataloader_init(&r->val, o->val_data, global_batch, o->seq, 0, 0, err, sizeof err))
        die("--val-data: %s", err);
    if (r->val.n_shards > 1)   // an evaluation reads from the start of the first shard only
        die("--val-data: %d files match \"%s\"; evaluation takes one shard", r->val.n_shards, o->val_data);
    int max_tok = dataloader_max_token(&r->train), vmax = dataloader_max_token(&r->val);
    if (vmax > max_tok) max_tok = vmax;
    int vocab = r->tok ? tiktoken_vocab_size(r->tok) : m ? m->config.vocab_size : init_hf ? hf_cfg.vocab_size : max_tok + 1;
    if (max_tok >= vocab && !r->tok)
        die("the shards hold token id %d but the model's vocabulary has only %d ids", max_tok, vocab);
    if (max_tok >= vocab)
        die("the shards hold token id %d but the tokenizer %s has only %d ids (shards made with another tokenizer?)",
            max_tok, o->tokenizer, vocab);

    if (!m && o->init[0] && lora) m = lora_init_from(r, init_hf ? &hf_cfg : NULL, vocab);
    if (!m && o->init[0]) m = init_from(r, init_hf ? &hf_cfg : NULL, vocab);
    if (!m) m = fresh_model(o, vocab);
    r->m = m;
    if (r->resumed && m->config.vocab_size != vocab)
        die("--resume: the checkpoint's vocabulary is %d but the data/tokenizer use %d", m->config.vocab_size, vocab);
    m->config.dropout = o->dropout;
    m->batch_row0 = r->row0;   // dropout masks are the global batch's
    m->config.att_dropout = o->att_dropout;   // a training setting: checkpoints do not carry it
    if (o->seq > m->config.max_seq_len) die("--seq %d is longer than the model's max_seq_len %d", o->seq, m->config.max_seq_len);
    // the sampler's KV cache: a sample is a few hundred tokens, never more than 1024 positions
    // (only when there will be samples: with Llama 3's vocabulary its scratch alone is 200 MB)
    r->sample_len = m->config.max_seq_len < 1024 ? m->config.max_seq_len : 1024;
    if (r->tok && o->sample_chars > 0 && model_kv_alloc(m, r->sample_len) != 0) die("out of memory for the sampling KV cache");

    // the training shards' size and checksum go into the state: a resume checks them
    uint64_t data_bytes = 0, data_sum = 0;
    for (int i = 0; i < r->train.n_shards; i++) {
        data_bytes += r->train.shards[i].map_size;
        data_sum = data_sum * 31 + checksum64(r->train.shards[i].map, r->train.shards[i].map_size);
    }
    if (r->resumed && r->st.data_bytes && (r->st.data_bytes != data_bytes || r->st.data_checksum != data_sum))
        die("--resume %s: the training data changed since the checkpoint (now %" PRIu64 " bytes, checksum %016" PRIx64
            "; saved %" PRIu64 " bytes, %016" PRIx64 "): resume with the same shards, or start a new run with --init",
            o->resume, data_bytes, data_sum, r->st.data_bytes, r->st.data_checksum);
    r->st.data_bytes = data_bytes;
    r->st.data_checksum = data_sum;

    // ---- optimizer state: fresh zeros unless resumed ----
    if (r->lora) {   // the adapters train; the base has no gradients and no moments
        r->params = r->lora->params; r->grads = r->lora->grads; r->np = r->lora->num_parameters;
        r->sizes = r->lora->sizes; r->ntensors = r->lora->n_tensors;
    } else {
        if (!m->params_memory) die("--init: the model has no f32 parameters to train");
        model_zero_grad(m);   // allocates the gradient buffer
        if (!m->grads_memory) die("out of memory for the gradients (%zu parameters)", m->num_parameters);
        r->params = m->params_memory; r->grads = m->grads_memory; r->np = m->num_parameters;
        r->sizes = m->param_sizes; r->ntensors = NUM_PARAM_TENSORS;
    }
    size_t np = r->np;
    if (!r->resumed) {
        r->adam_m = calloc(np, sizeof(float));
        r->adam_v = calloc(np, sizeof(float));
        if (!r->adam_m || !r->adam_v) die("out of memory for the optimizer state (%zu parameters)", np);
        r->st.sample_rng = rng_derive(o->seed, 3);
        r->st.dropout_seed = rng_derive(o->seed, 2);
        r->st.best_val = INFINITY;
    } else if (dataloader_set_state(&r->train, r->st.data, err, sizeof err)) {
        die("--resume: %s", err);
    }
    // --zero 1: keep only this process's shard of the moments
    dist_shard(np, r->rank, &r->shard_lo, &r->shard_n);
    if (o->zero) {
        float *sm = malloc(r->shard_n * sizeof(float) + 1), *sv = malloc(r->shard_n * sizeof(float) + 1);
        r->grad_shard = malloc(r->shard_n * sizeof(float) + 1);
        if (!sm || !sv || !r->grad_shard) die("out of memory for the optimizer state's shard");
        memcpy(sm, r->adam_m + r->shard_lo, r->shard_n * sizeof(float));
        memcpy(sv, r->adam_v + r->shard_lo, r->shard_n * sizeof(float));
        free(r->adam_m); free(r->adam_v);
        r->adam_m = sm; r->adam_v = sv;
    }
    r->st.opts = *o;
    m->dropout_seed = r->st.dropout_seed;
    // weight decay on matrices (the adapters are matrices); RMSNorm gains only with --decay-all
    // (see train/adamw.h)
    r->decay = malloc(r->ntensors * sizeof(int));
    if (!r->decay) die("out of memory");
    for (int t = 0; t < r->ntensors; t++) r->decay[t] = r->lora ? 1 : adamw_decays(param_tensor_names[t], o->decay_all);

    if (r->rank == 0) prepare_ckpt_dir(r);
    if (o->log[0] && r->rank == 0) r->log = open_log(o->log, (long)r->st.step, r->resumed);
    r->tty = isatty(fileno(stdout));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int B = o->batch, T = o->seq, A = o->grad_accum;
    r->tokens_per_step = (long)B * T * A * r->ranks;
    blas_core_note(stdout, "note: ");   // OpenBLAS fell back to old kernels on this CPU: say which setting is faster
    printf("model: dim %d, %d layers, %d heads (%d kv), hidden %d, vocab %d, seq %d: %zu parameters\n",
           m->config.dim, m->config.n_layers, m->config.n_heads, m->config.n_kv_heads, m->config.hidden_dim,
           m->config.vocab_size, T, r->lora ? m->num_parameters : np);
    if (r->lora) {
        char tl[64];
        lora_targets_string(r->lora->targets, tl, sizeof tl);
        printf("LoRA: rank %d, alpha %g (scale %g) on %s: %zu trainable parameters; the base's %.1f MB of matrices frozen "
               "(%s, %s)\n", r->lora->rank, r->lora->alpha, r->lora->scale, tl, np, r->base.weight_bytes / 1e6,
               dtype_name(m->w.layers[0].wq.dtype), r->base_path);
        printf("memory: base %.1f MB (%s, as in its file), adapters %.1f MB + gradients and AdamW moments %.1f MB, "
               "activations %.1f MB (batch %d x seq %d)\n", (double)r->base.weight_bytes / 1e6 +
               dtype_bytes(m->w.tok_emb.dtype, (size_t)m->config.vocab_size * m->config.dim) / 1e6 *
               (m->w.tok_emb.data != m->w.lm_head.data), dtype_name(m->w.layers[0].wq.dtype), np * 4 / 1e6, np * 12 / 1e6,
               model_activation_bytes(m, B, T) / 1e6, B, T);
    }
    if (r->train.n_shards > 1)
        printf("data: %d train shards, one per epoch in turn (%zu tokens in the first), %zu val tokens; "
               "%ld tokens per step (batch %d x seq %d x accum %d)\n", r->train.n_shards,
               r->train.shards[0].num_tokens, r->val.shard->num_tokens, r->tokens_per_step, global_batch, T, A);
    else
        printf("data: %zu train tokens, %zu val tokens; %ld tokens per step (batch %d x seq %d x accum %d)\n",
               r->train.shard->num_tokens, r->val.shard->num_tokens, r->tokens_per_step, global_batch, T, A);
    if (r->ranks > 1)
        printf("processes: %d, each %d rows of the global batch of %d%s\n", r->ranks, B, B * r->ranks,
               o->zero ? "; AdamW moments sharded (--zero 1)" : "");
    if (r->resumed) printf("resumed from %s at step %" PRIu64 "\n", o->resume, r->st.step);
    fflush(stdout);

    // ---- the schedule ----
    r->time_mode = o->steps == 0;
    r->total = r->time_mode ? (long)r->st.step + (1L << 40) : o->steps;   // time mode: unknown yet
    r->lr = (LrConfig){(LrSchedule)o->lr_schedule, o->lr, o->min_lr, o->warmup, r->total, o->decay_frac};
    if (r->resumed && !r->time_mode && r->st.lr_steps > 0 && (long)r->st.lr_steps != r->total) {
        // a resumed run keeps its schedule: --steps moves where it ends (re-planning the decay
        // over the new total would jump the lr back up towards its peak)
        r->lr.total = (long)r->st.lr_steps;
        if (r->total > r->lr.total)
            printf("--steps %ld is past the schedule's %ld steps: steps %ld to %ld run at its final lr %.2e (the schedule is kept)\n",
                   r->total, r->lr.total, r->lr.total, r->total - 1, lr_at(&r->lr, r->lr.total));
        else
            printf("--steps %ld stops before the schedule's end at %ld steps (the schedule is kept: the lr stays above min_lr)\n",
                   r->total, r->lr.total);
    }
    r->budget_s = o->max_minutes * 60.0;
    r->warm_end_t = -1;
    r->pending_val = NAN;
    r->run_start = now_s();
    m->training = 1;
}

void run_free(Run *r) {
    if (r->log) fclose(r->log);
    dataloader_free(&r->train);
    dataloader_free(&r->val);
    free(r->adam_m); free(r->adam_v); free(r->grad_shard); free(r->token_bytes); free(r->tok_path); free(r->decay);
    if (r->tok) tiktoken_free(r->tok);
    if (r->base.m) unload_model(&r->base);   // --lora: m is the base's
    else model_free(r->m);
    lora_free(r->lora);
}
