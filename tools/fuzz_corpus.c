// tools/fuzz_corpus.c — the seed corpus for fuzz/checkpoint.c and fuzz/train_state.c, written by
// the project's own savers (checkpoint_save_step, train_state_save) so the seeds are exactly
// what bin/train writes. Built and run by fuzz/make_corpus.py:
//     tools/fuzz_corpus CORPUS_DIR      writes CORPUS_DIR/checkpoint/* and CORPUS_DIR/train_state/*
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "formats/checkpoint.h"
#include "model/model.h"
#include "train/state.h"

static void die(const char *what, const char *err) { fprintf(stderr, "fuzz_corpus: %s: %s\n", what, err); exit(1); }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: fuzz_corpus CORPUS_DIR\n"); return 1; }
    char dir[1024], path[1200], err[512];
    snprintf(dir, sizeof dir, "%s/checkpoint", argv[1]);
    mkdir(dir, 0755);
    Config c = {0};
    c.dim = 4; c.n_layers = 1; c.n_heads = 2; c.n_kv_heads = 1; c.head_dim = 2; c.hidden_dim = 8;
    c.vocab_size = 16; c.max_seq_len = 8; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.tied_embeddings = 1;
    struct { const char *name; int tied, kv, layers; float rope_factor; const char *tok, *pattern; } v[] = {
        {"tied", 1, 1, 1, 0, NULL, NULL},
        {"untied_mha_2layers", 0, 2, 2, 0, "tools/fuzz_corpus.c", "gpt2"},
        {"llama3_rope", 1, 1, 1, 8.0f, "", "llama3"},
    };
    for (int i = 0; i < 3; i++) {
        Config ci = c;
        ci.tied_embeddings = v[i].tied; ci.n_kv_heads = v[i].kv; ci.n_layers = v[i].layers;
        if (v[i].rope_factor) {
            ci.rope_factor = v[i].rope_factor; ci.rope_low_freq_factor = 1; ci.rope_high_freq_factor = 4;
            ci.rope_original_max_pos = 8192;
        }
        Model *m = model_create(&ci, 1, err, sizeof err);
        if (!m) die("model_create", err);
        model_init_random(m, 1 + i);
        model_point_weights(m);
        snprintf(path, sizeof path, "%s/%s", dir, v[i].name);
        if (checkpoint_save_step(m, path, v[i].tok, v[i].pattern, 10 * i, err, sizeof err)) die(path, err);
        model_free(m);
    }

    // states for a 16-parameter model (N_PARAMS in fuzz/train_state.c)
    snprintf(dir, sizeof dir, "%s/train_state", argv[1]);
    mkdir(dir, 0755);
    float m[16], vv[16];
    for (int i = 0; i < 16; i++) { m[i] = 0.01f * i; vv[i] = 0.001f * i * i; }
    TrainState st;
    memset(&st, 0, sizeof st);
    TrainOptions *o = &st.opts;
    strcpy(o->data, "data/shakespeare/train.bin"); strcpy(o->val_data, "data/shakespeare/val.bin");
    strcpy(o->tokenizer, "data/tokenizers/bpe1024.tiktoken"); strcpy(o->pattern, "gpt2"); strcpy(o->preset, "tiny");
    o->dim = 128; o->n_layers = 4; o->n_heads = 4; o->n_kv_heads = 2; o->hidden_dim = 344; o->seq = 128;
    o->batch = 16; o->grad_accum = 1; o->steps = 1000; o->lr = 1e-3f; o->min_lr = 1e-4f; o->warmup = 50;
    o->weight_decay = 0.1f; o->beta1 = 0.9f; o->beta2 = 0.95f; o->eps = 1e-8f; o->grad_clip = 1; o->seed = 1337;
    o->eval_every = 100; o->eval_batches = 8; o->sample_every = 0; o->sample_chars = 300;
    strcpy(o->ckpt_dir, "checkpoints"); o->ckpt_every = 100; o->keep_last = 2; o->shuffle = 1;
    st.step = 300; st.data.epoch = 0; st.data.pos = 3; st.sample_rng = 99; st.dropout_seed = 5;
    st.dropout_step = 300; st.best_val = 2.5f; st.best_step = 300; st.elapsed_s = 12.5; st.tokens_seen = 614400;
    st.model_checksum = 0x1234;
    snprintf(path, sizeof path, "%s/shuffled", dir);
    if (train_state_save(path, &st, m, vv, 16, err, sizeof err)) die(path, err);
    o->shuffle = 0; st.data.epoch = 2; st.data.pos = 40;
    snprintf(path, sizeof path, "%s/sequential", dir);
    if (train_state_save(path, &st, m, vv, 16, err, sizeof err)) die(path, err);
    snprintf(path, sizeof path, "%s/other_size", dir);
    if (train_state_save(path, &st, m, vv, 8, err, sizeof err)) die(path, err);
    return 0;
}
