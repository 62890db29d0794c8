// fuzz/train_state.c — bin/train's training-state files, state_<N>.bin (train/state.c), and
// the data position they restore (data/dataloader.c: dataloader_set_state).
//
// Input: the state file. It is loaded for a model of N_PARAMS parameters (the seed corpus
// holds states of that size; other sizes must be refused).
// Promise: a one-line error, or a state whose strings are NUL-terminated inside their fields,
// whose moments were read in full, and whose data position a dataloader either accepts and
// serves batches from, or refuses with a one-line error.
#include "fuzz/fuzz.h"
#include "train/state.h"
#include "data/dataloader.h"

#define N_PARAMS 16

static const char *shard_path;

// A small sequential-order shard to restore positions into: 64 tokens.
static void init(void) {
    int tokens[64];
    for (int i = 0; i < 64; i++) tokens[i] = (i * 7) % 50;
    char err[512];
    char p[512];
    snprintf(p, sizeof p, "%s/data.bin", fuzz_dir());
    if (shard_write(p, tokens, 64, 50, err, sizeof err) != 0) { fprintf(stderr, "fuzz: %s\n", err); exit(2); }
    static char keep[512];
    snprintf(keep, sizeof keep, "%s", p);
    shard_path = keep;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!shard_path) init();
    const char *path = fuzz_write("state_00000001.bin", data, size);
    static TrainState st;
    float m[N_PARAMS], v[N_PARAMS];
    char err[2048] = "";
    if (train_state_load(path, &st, m, v, N_PARAMS, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
    const TrainOptions *o = &st.opts;
    const char *strs[] = {o->data, o->val_data, o->tokenizer, o->pattern, o->preset, o->ckpt_dir, o->resume,
                          o->init, o->log};
    size_t caps[] = {sizeof o->data, sizeof o->val_data, sizeof o->tokenizer, sizeof o->pattern, sizeof o->preset,
                     sizeof o->ckpt_dir, sizeof o->resume, sizeof o->init, sizeof o->log};
    for (int i = 0; i < 9; i++) FUZZ_CHECK(memchr(strs[i], '\0', caps[i]) != NULL, "string %d not terminated", i);
    volatile float sink = m[0] + m[N_PARAMS - 1] + v[0] + v[N_PARAMS - 1];
    (void)sink;
    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        DataLoader dl;
        FUZZ_CHECK(dataloader_init(&dl, shard_path, 2, 4, shuffle, 1, err, sizeof err) == 0, "%s", err);
        if (dataloader_set_state(&dl, st.data, err, sizeof err) != 0) fuzz_check_message(err);
        else for (int k = 0; k < 3; k++) dataloader_next_batch(&dl);
        dataloader_free(&dl);
    }
    return 0;
}
